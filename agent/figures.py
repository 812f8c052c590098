"""Figures for results that have one, shared by the CLI, the web UI and reports.

Each tool draws its own figure (`Tool.figure`, with `figure_name` as the file-name prefix); this
module only decides where: a PNG under a figures folder, named by a hash of what it shows (so a
repeated answer reuses its file), drawn once per distinct result.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from agent.records import RunRecord, Step


def _digest(tool: str, output: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([tool, output], sort_keys=True, default=str).encode()).hexdigest()[:12]


def figure_for_step(step: Step, folder: Path) -> Path | None:
    """The PNG for one finished step, drawn once per distinct result; None when it has no figure."""
    from tools.registry import all_tools

    tool_cls = all_tools().get(step.tool)
    if step.status != "done" or not step.output or tool_cls is None or tool_cls.figure_name is None:
        return None
    path = folder / f"{tool_cls.figure_name}-{_digest(step.tool, step.output)}.png"
    if path.exists():
        return path
    return tool_cls().figure(tool_cls.typed_output(step.output), path)


def save_figures(record: RunRecord, folder: Path) -> list[Path]:
    """The PNG figures of a record's steps, in step order."""
    return [path for step in record.steps if (path := figure_for_step(step, folder)) is not None]


def terminal_figure(step: Step) -> str | None:
    """The step's figure as ANSI text for the terminal (the tool's `terminal`), if it has one."""
    from tools.registry import all_tools

    tool_cls = all_tools().get(step.tool)
    if step.status != "done" or not step.output or tool_cls is None:
        return None
    return tool_cls().terminal(tool_cls.typed_output(step.output))
