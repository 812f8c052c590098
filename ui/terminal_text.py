"""Narration is Markdown (the web UI and reports render it); a terminal does not, so `whybox ask`,
`whybox chat` and `whybox report` print it as plain text: bold as the terminal's bold when stdout is a
terminal and as plain words when it is piped, code spans without their backticks, links as
"text (address)", headings without their hashes (issue 18: "the CLI prints raw **bold**")."""
from __future__ import annotations

import re

BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.S)
CODE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+", re.M)
ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")


def for_terminal(markdown: str, tty: bool = False) -> str:
    """The narration as a terminal shows it; `tty` decides whether bold becomes ANSI bold."""
    text = HEADING.sub("", markdown)
    text = LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = CODE.sub(lambda m: m.group(1), text)
    text = BOLD.sub(lambda m: f"\033[1m{m.group(1) or m.group(2)}\033[0m" if tty else (m.group(1) or m.group(2)), text)
    return ESCAPED.sub(r"\1", text)
