"""Matplotlib plumbing for the tools' `figure` methods: a headless backend, atomic PNG writes, and
what makes a figure readable (issue 18): text that contrasts with the cell it sits on, and a
colour legend that states the scale and what the colour means."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

WHITE, BLACK = "white", "black"


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


def luminance(rgba: Sequence[float]) -> float:
    """WCAG relative luminance of an RGB(A) colour with channels in 0..1; a translucent colour is
    first laid over the white page (as the HTML heatmap's rgba backgrounds are)."""
    r, g, b = rgba[:3]
    alpha = rgba[3] if len(rgba) > 3 else 1.0
    channels = [alpha * c + (1 - alpha) for c in (r, g, b)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def text_colour(rgba: Sequence[float]) -> str:
    """'white' or 'black', whichever contrasts more with the background (WCAG contrast ratio:
    (L1 + 0.05) / (L2 + 0.05)); they tie at luminance 0.179, so mid-dark cells get white."""
    lum = luminance(rgba)
    return WHITE if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else BLACK


def colour_legend(fig: Any, mappable: Any, label: str, ax: Any = None, cax: Any = None,
                  orientation: str = "vertical") -> Any:
    """A colorbar with its scale (ticks) and a label saying what the colour means."""
    extra = {"fraction": 0.04} if cax is None else {}
    bar = fig.colorbar(mappable, ax=ax, cax=cax, orientation=orientation, **extra)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return bar
