"""Figures a person can read (issue 18): the text on a coloured cell contrasts with it (white on
dark cells, black on light ones) and every colour-coded figure has a colour legend with its scale
and what the colour means."""
from pathlib import Path

import pytest

from tools import figures
from tools.figures import luminance, text_colour


@pytest.fixture
def drawn(monkeypatch):
    """The figures the tools draw, kept open (tools.figures.save closes them once written)."""
    kept = []
    original = figures.save

    def keep(fig, path: Path) -> Path:
        kept.append(fig)
        return Path(path)

    monkeypatch.setattr(figures, "save", keep)
    import tools.builtin.patch as patch_module

    monkeypatch.setattr(patch_module, "save", keep)
    yield kept
    for fig in kept:
        figures.pyplot().close(fig)
    assert original is not keep


def _colorbars(fig) -> list:
    """The colorbars of a figure (each colorbar axis knows its Colorbar)."""
    return [ax._colorbar for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]


def _label(bar) -> str:
    return bar.ax.get_xlabel() if bar.orientation == "horizontal" else bar.ax.get_ylabel()


def test_luminance_and_text_colour_follow_wcag():
    assert luminance((0, 0, 0)) == 0.0 and luminance((1, 1, 1)) == pytest.approx(1.0)
    assert luminance((0.5, 0.5, 0.5)) == pytest.approx(0.2140, abs=1e-4)  # sRGB 0.5 linearised
    assert luminance((0, 0, 0, 0.0)) == pytest.approx(1.0)  # fully transparent: the white page
    assert text_colour((0.02, 0.19, 0.38)) == "white"  # RdBu's darkest blue
    assert text_colour((0.97, 0.97, 0.97)) == "black"  # RdBu's centre
    assert text_colour((0.45, 0.45, 0.45)) == "white" and text_colour((0.5, 0.5, 0.5)) == "black"  # tie ~0.179


def test_attribution_heatmap_text_contrasts_and_has_a_labelled_legend(tmp_path):
    from tools.attribution.heatmap import heatmap_figure

    words = [("dark", 0.5), ("light", 0.0), ("red", -0.5), ("pale", -0.05)]
    result = {"words": [{"word": w, "score": s} for w, s in words], "method": "occlusion",
              "target": {"kind": "label", "label": "positive"}}
    fig = heatmap_figure(result)
    try:
        inks = {t.get_text(): t.get_color() for ax in fig.axes for t in ax.texts}
        assert inks == {"dark": "white", "light": "black", "red": "white", "pale": "black"}
        bars = _colorbars(fig)
        assert len(bars) == 1
        assert "attribution to 'positive'" in _label(bars[0]) and "blue towards" in _label(bars[0])
        assert bars[0].norm.vmin == pytest.approx(-0.5) and bars[0].norm.vmax == pytest.approx(0.5)
    finally:
        figures.pyplot().close(fig)


def test_answer_matrix_gets_its_own_legend():
    from tools.attribution.heatmap import heatmap_figure

    result = {"words": [{"word": "capital", "score": 0.2}, {"word": "France", "score": 0.9}],
              "method": "gradient_x_input", "target": {"kind": "answer", "answer": " Paris"},
              "matrix": {"outputs": [" Paris", "."], "scores": [[0.1, 0.8], [0.1, 0.1]]}}
    fig = heatmap_figure(result)
    try:
        labels = sorted(_label(bar) for bar in _colorbars(fig))
        assert labels[0].startswith("attribution per answer token")
        assert labels[1].startswith("attribution to the answer ' Paris'")
    finally:
        figures.pyplot().close(fig)


def test_html_heatmap_and_terminal_pick_readable_ink():
    from tools.attribution.heatmap import heatmap_html, heatmap_terminal, html_text_colour

    assert html_text_colour(1.0, 1.0) == "#fff" and html_text_colour(0.1, 1.0) == "#000"
    assert html_text_colour(-1.0, 1.0) == "#fff" and html_text_colour(-0.1, 1.0) == "#000"
    page = heatmap_html({"words": [{"word": "good", "score": 0.4}, {"word": "the", "score": -0.01}],
                         "method": "occlusion", "target": {"kind": "label", "label": "positive"}})
    assert "color:#fff" in page and "color:#000" in page
    assert "scale (attribution to &#x27;positive&#x27;, log-probability)" in page and "+0.400" in page
    shown = heatmap_terminal([("good", 0.4), ("the", 0.0)])
    assert "\x1b[97" in shown or "38;2;255;255;255" in shown or "\x1b[37" in shown  # white ink on deep blue
    assert "\x1b[30" in shown  # black ink on the faint cell


def test_confusion_matrix_counts_contrast_and_have_a_legend(tmp_path, drawn):
    from tools.builtin.mistakes import Mistakes

    output = Mistakes.typed_output({
        "mode": "confusion", "selection": "all rows", "rows": 100, "mistakes": 12, "error_rate": 0.12,
        "by_gold_label": {"negative": 10, "positive": 2}, "labels": ["negative", "positive"],
        "confusion": [[40, 10], [2, 48]], "confusions": None})
    Mistakes().figure(output, tmp_path / "confusion.png")
    (fig,) = drawn
    inks = {t.get_text(): t.get_color() for t in fig.axes[0].texts}
    assert inks == {"48": "white", "40": "white", "10": "black", "2": "black"}
    assert [_label(bar) for bar in _colorbars(fig)] == ["rows (count)"]


def test_patching_heatmap_legend_says_what_the_colour_means(tmp_path, drawn):
    from tests.test_patch import ALIGNED
    from tools.builtin.patch import Patch

    Patch().figure(Patch.typed_output(ALIGNED), tmp_path / "patching.png")
    (fig,) = drawn
    (bar,) = _colorbars(fig)
    assert _label(bar) == "share of the way to the contrast (0 none, 1 all)"
    assert (bar.norm.vmin, bar.norm.vmax) == (-1, 1)
