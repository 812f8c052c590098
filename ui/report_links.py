"""Reports written during a chat turn, offered in the chat as files the browser downloads (issue 21).

The `report` tool's narration names the files by their server paths, which mean nothing in a
browser (and tell a visitor where the server keeps its files). In the chat, each path becomes
the file's name, and the file itself follows as a download served by Gradio. Only files inside
the reports folder are offered (the server's `allowed_paths` serve nothing else either); a path
outside it is named as withheld, never linked.
"""
from __future__ import annotations

from pathlib import Path

from agent.records import RunRecord

WITHHELD = "(a file outside the reports folder, not offered)"


def _paths(record: RunRecord) -> list[str]:
    """The report files the turn's steps wrote (any step whose output names an `html` / `pdf` file, so
    no tool name is hard-coded here): HTML first, then PDF, per step."""
    found = []
    for step in record.steps:
        if step.status == "done" and isinstance(step.output, dict):
            found += [str(step.output[key]) for key in ("html", "pdf") if step.output.get(key)]
    return found


def _inside(path: str, reports_dir: Path) -> Path | None:
    resolved = Path(path).resolve()
    return resolved if resolved.is_relative_to(Path(reports_dir).resolve()) and resolved.is_file() else None


def report_files(record: RunRecord, reports_dir: Path) -> list[Path]:
    """The turn's report files that may be offered: existing files inside the reports folder."""
    return [file for path in _paths(record) if (file := _inside(path, reports_dir)) is not None]


def chat_narration(record: RunRecord, reports_dir: Path) -> str:
    """The narration with each report path replaced by the file's name (its link follows)."""
    text = record.narration
    for path in sorted(_paths(record), key=len, reverse=True):  # a longer path first: none is cut
        file = _inside(path, reports_dir)
        text = text.replace(path, f"{file.name} (download below)" if file else WITHHELD)
    return text
