"""Figures for results that have one: attribution heatmaps as PNG + HTML files under the
home's figures folder (named by content hash, written atomically), and as coloured terminal text."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from agent.records import RunRecord
from tools.atomic import write_bytes_atomic


def save_figures(record: RunRecord, folder: Path) -> list[Path]:
    """PNG heatmaps of the record's attribution steps; returns their paths."""
    from tools.attribution.heatmap import heatmap_png

    paths = []
    for step in record.steps:
        if step.tool != "attribute" or step.status != "done" or not step.output:
            continue
        digest = hashlib.sha256(json.dumps(step.output["words"], sort_keys=True).encode()).hexdigest()[:12]
        png = folder / f"attribution-{digest}.png"
        if not png.exists():
            heatmap_png(step.output, png)
        html = png.with_suffix(".html")
        write_bytes_atomic(html, f"<!doctype html><meta charset='utf-8'>{step.output['heatmap_html']}".encode())
        paths.append(png)
    return paths


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
