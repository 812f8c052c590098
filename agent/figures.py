"""Figures for results that have one, shared by the CLI, the web UI and reports.

Attribution heatmaps, the logit lens per layer and probe accuracy per layer are drawn as PNG
files under a figures folder, named by a hash of what they show (so a repeated answer reuses its
file) and written atomically. Attribution also gets an HTML heatmap and coloured terminal text.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from agent.records import RunRecord, Step
from tools.atomic import write_bytes_atomic


def _digest(tool: str, output: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([tool, output], sort_keys=True, default=str).encode()).hexdigest()[:12]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    plt = _pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def _attribution(output: dict[str, Any], path: Path) -> Path:
    from tools.attribution.heatmap import heatmap_png

    heatmap_png(output, path)
    write_bytes_atomic(path.with_suffix(".html"), f"<!doctype html><meta charset='utf-8'>{output['heatmap_html']}".encode())
    return path


def _layer_names(layers: list[dict[str, Any]]) -> list[str]:
    return ["emb" if row["layer"] == -1 else str(row["layer"]) for row in layers]


def _logit_lens(output: dict[str, Any], path: Path) -> Path:
    """Probability of the final answer token and KL to the final distribution, per layer."""
    plt = _pyplot()
    layers = output["layers"]
    x = list(range(len(layers)))
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.plot(x, [row["answer_p"] for row in layers], marker="o", color="#2166ac", label=f"p({output['answer']!r})")
    ax.set_ylabel("probability of the answer", color="#2166ac")
    ax.set_ylim(0, 1.02)
    kl = ax.twinx()
    kl.plot(x, [row["kl_to_final"] for row in layers], marker=".", color="#b2182b", alpha=0.7, label="KL to final")
    kl.set_ylabel("KL to final (nats)", color="#b2182b")
    step = max(1, len(x) // 16)
    ax.set_xticks(x[::step], _layer_names(layers)[::step])
    ax.set_xlabel("layer (emb = embeddings)")
    ax.set_title(f"Logit lens at {output['position_token']!r}: the answer {output['answer']!r} through the layers", fontsize=10, loc="left")
    return _save(fig, path)


def _probe(output: dict[str, Any], path: Path) -> Path:
    """Held-out accuracy per layer with its 95% interval, the control task and the majority baseline."""
    plt = _pyplot()
    layers = ([output["embeddings"]] if output.get("embeddings") else []) + list(output["layers"])
    x = list(range(len(layers)))
    acc = [row["accuracy"] for row in layers]
    low = [row["accuracy"] - row["ci95"][0] for row in layers]
    high = [row["ci95"][1] - row["accuracy"] for row in layers]
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.errorbar(x, acc, yerr=[low, high], marker="o", color="#2166ac", capsize=2, label="probe (95% CI)")
    ax.plot(x, [row["control_accuracy"] for row in layers], marker=".", color="#999999", label="control (shuffled labels)")
    ax.axhline(output["majority_baseline"], color="#b2182b", linestyle="--", label="majority baseline")
    step = max(1, len(x) // 16)
    ax.set_xticks(x[::step], _layer_names(layers)[::step])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("layer (emb = embeddings)")
    ax.set_ylabel("held-out accuracy")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Linear probe accuracy per layer", fontsize=10, loc="left")
    return _save(fig, path)


DRAWERS: dict[str, tuple[str, Callable[[dict[str, Any], Path], Path]]] = {
    "attribute": ("attribution", _attribution),
    "logit_lens": ("logit-lens", _logit_lens),
    "probe": ("probe", _probe),
}


def figure_for_step(step: Step, folder: Path) -> Path | None:
    """The PNG for one finished step, drawn once per distinct result; None when it has no figure."""
    from tools.registry import all_tools

    tool_cls = all_tools().get(step.tool)
    if step.status != "done" or not step.output or tool_cls is None:
        return None
    if tool_cls.figure_name is None:
        if step.tool not in DRAWERS:  # not migrated yet
            return None
        prefix, draw = DRAWERS[step.tool]
        path = folder / f"{prefix}-{_digest(step.tool, step.output)}.png"
        return path if path.exists() else draw(step.output, path)
    path = folder / f"{tool_cls.figure_name}-{_digest(step.tool, step.output)}.png"
    if path.exists():
        return path
    return tool_cls().figure(tool_cls.typed_output(step.output), path)


def save_figures(record: RunRecord, folder: Path) -> list[Path]:
    """The PNG figures of a record's steps, in step order."""
    return [path for step in record.steps if (path := figure_for_step(step, folder)) is not None]


def terminal_heatmap(output: dict) -> str:
    """The words with ANSI background colours (blue towards the target, red away)."""
    from io import StringIO

    from rich.console import Console
    from rich.text import Text

    scale = max((abs(w["score"]) for w in output["words"]), default=0.0) or 1.0
    text = Text()
    for w in output["words"]:
        strength = min(1.0, abs(w["score"]) / scale)
        level = int(55 + 200 * strength)
        colour = f"rgb({255 - level + 55},{255 - level + 55},255)" if w["score"] >= 0 else f"rgb(255,{255 - level + 55},{255 - level + 55})"
        text.append(f" {w['word']} ", style=f"black on {colour}")
        text.append(" ")
    buffer = StringIO()
    Console(file=buffer, force_terminal=True, color_system="truecolor", width=120).print(text)
    return buffer.getvalue().rstrip()
