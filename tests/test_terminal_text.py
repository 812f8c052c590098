"""The CLI's Markdown-to-terminal rendering (ui/terminal_text.py)."""
from __future__ import annotations

from ui.terminal_text import for_terminal


def test_bold_is_plain_when_piped_and_ansi_bold_on_a_terminal():
    assert for_terminal("Review 12 is **positive** (0.82).") == "Review 12 is positive (0.82)."
    assert for_terminal("Review 12 is **positive**.", tty=True) == "Review 12 is \033[1mpositive\033[0m."


def test_code_links_headings_and_escapes_lose_their_markup():
    text = "## Result\nRun `attribute` again, see [the card](https://x.org/a). 3 \\* 4 \\_x\\_"
    assert for_terminal(text) == "Result\nRun attribute again, see the card (https://x.org/a). 3 * 4 _x_"


def test_text_without_markup_is_unchanged():
    plain = "Accuracy: 0.830 on 218 rows; 95% CI 0.78-0.88. Words: don't, it's."
    assert for_terminal(plain) == plain
