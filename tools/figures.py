"""Matplotlib plumbing for the tools' `figure` methods: a headless backend, atomic PNG writes."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path) -> Path:
    """Write the figure atomically (a killed process never leaves half a PNG) and close it."""
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def layer_names(layers: list[Any]) -> list[str]:
    """'emb' for the embeddings (layer -1), else the 0-based layer number."""
    out = []
    for row in layers:
        layer = row["layer"] if isinstance(row, dict) else row.layer
        out.append("emb" if layer == -1 else str(layer))
    return out
