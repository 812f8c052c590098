"""Attribution heatmaps: self-contained HTML (UI, reports), PNG (files) and ANSI text (the
terminal chat), one diverging scale (blue = pushed towards the target, red = pushed away),
normalised by the largest |score|."""
from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from tools.figures import WHITE, text_colour

POSITIVE = (33, 102, 172)  # RdBu blue
NEGATIVE = (178, 24, 43)  # RdBu red


def colour(score: float, scale: float) -> str:
    """rgba background for a score on a symmetric scale; alpha carries the magnitude."""
    return "rgba({},{},{},{:.3f})".format(*_rgba255(score, scale))


def _rgba255(score: float, scale: float) -> tuple[int, int, int, float]:
    if scale <= 0:
        return 0, 0, 0, 0.0
    strength = min(1.0, abs(score) / scale)
    r, g, b = POSITIVE if score >= 0 else NEGATIVE
    return r, g, b, round(strength, 3)  # opaque at the largest |score|: white ink reads on it


def html_text_colour(score: float, scale: float) -> str:
    """'#fff' on the dark backgrounds, '#000' on the light ones (the rgba laid over a white page)."""
    r, g, b, a = _rgba255(score, scale)
    return "#fff" if text_colour((r / 255, g / 255, b / 255, a)) == WHITE else "#000"


def _span(word: str, score: float, scale: float) -> str:
    return (f'<span class="wb-tok" title="{score:+.4f}" style="background:{colour(score, scale)};'
            f'color:{html_text_colour(score, scale)};padding:1px 3px;margin:1px;border-radius:3px;'
            f'display:inline-block">{html.escape(word)}</span>')


def meaning(result: dict) -> str:
    """What a score measures, in words, for the legend: "attribution to 'positive'"."""
    target = result["target"]
    if target["kind"] == "label":
        text = f"attribution to '{target['label']}'"
        if target.get("contrast"):
            text += f" rather than '{target['contrast']}'"
        return text
    answer = target.get("answer") or ""
    return f"attribution to the answer '{answer if len(answer) <= 30 else answer[:29] + '…'}'"


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
    legend = (f'<span style="background:{colour(-scale, scale)};color:#fff;padding:0 4px">{-scale:+.3f}</span>'
              f'<span style="padding:0 4px">0</span>'
              f'<span style="background:{colour(scale, scale)};color:#fff;padding:0 4px">{scale:+.3f}</span>')
    parts = [f'<div class="wb-heatmap"><div class="wb-caption">{html.escape(result["method"])}: '
             f'blue pushed {what}, red pushed away</div><div>{body}</div>'
             f'<div class="wb-legend" style="font-size:smaller">scale ({html.escape(meaning(result))}, '
             f'log-probability): {legend}</div>']
    matrix = result.get("matrix")
    if matrix:
        m_scale = max((abs(v) for row in matrix["scores"] for v in row), default=0.0)
        head = "".join(f"<th>{html.escape(w['word'])}</th>" for w in words)
        rows = "".join(
            f"<tr><th>{html.escape(out)}</th>" + "".join(
                f'<td style="background:{colour(v, m_scale)}" title="{v:+.4f}"></td>' for v in row) + "</tr>"
            for out, row in zip(matrix["outputs"], matrix["scores"]))
        parts.append(f'<table class="wb-matrix"><tr><th>answer token \\ input word</th>{head}</tr>{rows}</table>'
                     f'<div class="wb-legend" style="font-size:smaller">cells: blue up to {m_scale:+.3f}, '
                     f'red down to {-m_scale:+.3f} (attribution to each answer token)</div>')
    parts.append("</div>")
    return "".join(parts)


def heatmap_png(result: dict, path: Path) -> Path:
    """Words as coloured boxes (wrapped), and the answer-token x word matrix when there is one."""
    from tools.figures import save

    return save(heatmap_figure(result), path)


def heatmap_figure(result: dict):
    """The matplotlib figure of `heatmap_png`: each word's text white or black for contrast with
    its box, and a colorbar per scale labelled with what the colour means."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import TwoSlopeNorm

    from tools.figures import colour_legend, pyplot

    plt = pyplot()
    words = result["words"]
    scale = max((abs(w["score"]) for w in words), default=0.0) or 1.0
    matrix = result.get("matrix")
    per_line = 10
    lines = (len(words) + per_line - 1) // per_line
    legend_h = 0.75
    words_h = 0.5 * lines + 0.4
    matrix_h = 0.35 * len(matrix["outputs"]) + 1.2 if matrix else 0.0
    height = words_h + 0.4 + legend_h + matrix_h
    fig = plt.figure(figsize=(10, height))
    cmap = plt.get_cmap("RdBu")
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-scale, vmax=scale)
    top = fig.add_axes((0.02, 1 - (words_h + 0.2) / height, 0.96, words_h / height))
    top.axis("off")
    for i, w in enumerate(words):
        x, y = (i % per_line) / per_line, 1 - (i // per_line + 0.5) / lines
        face = cmap(norm(w["score"]))
        top.text(x, y, w["word"], fontsize=10, va="center", color=text_colour(face),
                 bbox={"boxstyle": "round,pad=0.2", "facecolor": face, "edgecolor": "none"})
    top.set_title(f"{result['method']} attribution", fontsize=10, loc="left")
    bar_ax = fig.add_axes((0.25, 1 - (words_h + 0.2 + 0.45) / height, 0.5, 0.12 / height))
    colour_legend(fig, ScalarMappable(norm=norm, cmap=cmap), f"{meaning(result)} (log-probability; "
                  "blue towards, red away)", cax=bar_ax, orientation="horizontal")
    if matrix:
        ax = fig.add_axes((0.15, 0.08, 0.7, (0.35 * len(matrix["outputs"]) + 0.3) / height))
        m_scale = max((abs(v) for row in matrix["scores"] for v in row), default=0.0) or 1.0
        image = ax.imshow(matrix["scores"], cmap="RdBu", norm=TwoSlopeNorm(vcenter=0.0, vmin=-m_scale, vmax=m_scale),
                          aspect="auto")
        ax.set_xticks(range(len(words)), [w["word"] for w in words], rotation=60, fontsize=8)
        ax.set_yticks(range(len(matrix["outputs"])), [repr(t) for t in matrix["outputs"]], fontsize=8)
        colour_legend(fig, image, "attribution per answer token (log-prob.)", ax=ax)
    return fig


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
        r, g, b = (fade, fade, 255) if score >= 0 else (255, fade, fade)
        ink = text_colour((r / 255, g / 255, b / 255))
        text.append(f" {word} ", style=f"{ink} on {colour}")
        text.append(" ")
    buffer = StringIO()
    Console(file=buffer, force_terminal=True, color_system="truecolor", width=120).print(text)
    return buffer.getvalue().rstrip()
