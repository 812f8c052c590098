"""Attribution heatmaps: self-contained HTML (UI, reports), PNG (files) and ANSI text (the
terminal chat), one diverging scale (blue = pushed towards the target, red = pushed away),
normalised by the largest |score|."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

POSITIVE = (33, 102, 172)  # RdBu blue
NEGATIVE = (178, 24, 43)  # RdBu red


def colour(score: float, scale: float) -> str:
    """rgba background for a score on a symmetric scale; alpha carries the magnitude."""
    if scale <= 0:
        return "rgba(0,0,0,0)"
    strength = min(1.0, abs(score) / scale)
    r, g, b = POSITIVE if score >= 0 else NEGATIVE
    return f"rgba({r},{g},{b},{strength * 0.85:.3f})"


def _span(word: str, score: float, scale: float) -> str:
    text_colour = "#fff" if scale and abs(score) / scale > 0.55 else "inherit"
    return (f'<span class="wb-tok" title="{score:+.4f}" style="background:{colour(score, scale)};color:{text_colour};'
            f'padding:1px 3px;margin:1px;border-radius:3px;display:inline-block">{html.escape(word)}</span>')


def heatmap_html(result: dict) -> str:
    words = result["words"]
    scale = max((abs(w["score"]) for w in words), default=0.0)
    target = result["target"]
    if target["kind"] == "label":
        what = f"towards <b>{html.escape(str(target['label']))}</b>"
        if target.get("contrast"):
            what += f" rather than <b>{html.escape(str(target['contrast']))}</b>"
    else:
        what = f"towards the answer <i>{html.escape(target['answer'])}</i>"
    body = " ".join(_span(w["word"], w["score"], scale) for w in words)
    parts = [f'<div class="wb-heatmap"><div class="wb-caption">{html.escape(result["method"])}: '
             f'blue pushed {what}, red pushed away</div><div>{body}</div>']
    matrix = result.get("matrix")
    if matrix:
        m_scale = max((abs(v) for row in matrix["scores"] for v in row), default=0.0)
        head = "".join(f"<th>{html.escape(w['word'])}</th>" for w in words)
        rows = "".join(
            f"<tr><th>{html.escape(out)}</th>" + "".join(
                f'<td style="background:{colour(v, m_scale)}" title="{v:+.4f}"></td>' for v in row) + "</tr>"
            for out, row in zip(matrix["outputs"], matrix["scores"]))
        parts.append(f'<table class="wb-matrix"><tr><th>answer token \\ input word</th>{head}</tr>{rows}</table>')
    parts.append("</div>")
    return "".join(parts)


def heatmap_png(result: dict, path: Path) -> Path:
    """Words as coloured boxes (wrapped), and the answer-token x word matrix when there is one."""
    from matplotlib.colors import TwoSlopeNorm

    from tools.figures import pyplot, save

    plt = pyplot()
    words = result["words"]
    scale = max((abs(w["score"]) for w in words), default=0.0) or 1.0
    matrix = result.get("matrix")
    per_line = 10
    lines = (len(words) + per_line - 1) // per_line
    height = 0.5 * lines + 0.8 + (0.35 * len(matrix["outputs"]) + 1.2 if matrix else 0)
    fig = plt.figure(figsize=(10, height))
    cmap = plt.get_cmap("RdBu")
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-scale, vmax=scale)
    top = fig.add_axes((0.02, 1 - (0.5 * lines + 0.6) / height, 0.96, (0.5 * lines + 0.4) / height))
    top.axis("off")
    for i, w in enumerate(words):
        x, y = (i % per_line) / per_line, 1 - (i // per_line + 0.5) / lines
        top.text(x, y, w["word"], fontsize=10, va="center",
                 bbox={"boxstyle": "round,pad=0.2", "facecolor": cmap(norm(w["score"])), "edgecolor": "none"})
    top.set_title(f"{result['method']} attribution", fontsize=10, loc="left")
    if matrix:
        ax = fig.add_axes((0.15, 0.08, 0.8, (0.35 * len(matrix["outputs"]) + 0.3) / height))
        m_scale = max((abs(v) for row in matrix["scores"] for v in row), default=0.0) or 1.0
        ax.imshow(matrix["scores"], cmap="RdBu", norm=TwoSlopeNorm(vcenter=0.0, vmin=-m_scale, vmax=m_scale),
                  aspect="auto")
        ax.set_xticks(range(len(words)), [w["word"] for w in words], rotation=60, fontsize=8)
        ax.set_yticks(range(len(matrix["outputs"])), [repr(t) for t in matrix["outputs"]], fontsize=8)
    return save(fig, path)


def heatmap_terminal(words: Sequence[tuple[str, float]]) -> str:
    """The words with ANSI truecolour backgrounds (blue towards the target, red away)."""
    from io import StringIO

    from rich.console import Console
    from rich.text import Text

    scale = max((abs(score) for _, score in words), default=0.0) or 1.0
    text = Text()
    for word, score in words:
        level = int(55 + 200 * min(1.0, abs(score) / scale))
        fade = 255 - level + 55
        colour = f"rgb({fade},{fade},255)" if score >= 0 else f"rgb(255,{fade},{fade})"
        text.append(f" {word} ", style=f"black on {colour}")
        text.append(" ")
    buffer = StringIO()
    Console(file=buffer, force_terminal=True, color_system="truecolor", width=120).print(text)
    return buffer.getvalue().rstrip()
