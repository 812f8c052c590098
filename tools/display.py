"""Notebook display of results: HTML for Jupyter (`_repr_html_`) and plain text for a terminal
IPython (`_repr_pretty_`), for a tool result (tools/results.py) and a turn's run record
(agent/records.py). It lives in tools/ because `ToolResult` does and tools/ must not import agent/;
the record passes its parts in as plain data.

Every piece of data text is escaped: a dataset row may hold `<img src=x onerror=...>`, and a
notebook renders HTML as trusted. Figures are the tool's own PNG (`Tool.figure`), inlined as
base64 so the notebook file keeps them.
"""
from __future__ import annotations

import base64
import json
import tempfile
from html import escape
from pathlib import Path
from typing import Any

_STYLE = "font-family: sans-serif; line-height: 1.4; max-width: 60em"


def figure_png(tool: str, output: dict[str, Any]) -> bytes | None:
    """The tool's figure of this output as PNG bytes; None when the tool draws none."""
    from tools.registry import all_tools

    tool_cls = all_tools().get(tool)
    if tool_cls is None or tool_cls.figure_name is None or not output:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = tool_cls().figure(tool_cls.typed_output(output), Path(folder) / "figure.png")
        return path.read_bytes() if path is not None and path.exists() else None


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(part).replace(chr(10), '<br>')}</p>" for part in text.split("\n\n") if part.strip())


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}" style="max-width: 100%">'


def _step_html(step: dict[str, Any]) -> str:
    head = f"{step['tool']}({json.dumps(step.get('args') or {}, ensure_ascii=False)}): {step.get('status', 'done')}"
    body = step.get("error") or json.dumps(step.get("output"), indent=2, ensure_ascii=False, default=str)
    return f"<li><code>{escape(head)}</code><pre>{escape(str(body))}</pre></li>"


def html(text: str, steps: list[dict[str, Any]], title: str | None = None) -> str:
    """The narration, each done step's figure inline, and the steps in a collapsible block.
    `steps`: dicts with tool, args, status, output, error (a run record's steps as JSON)."""
    parts = [f'<div class="whybox" style="{_STYLE}">']
    if title:
        parts.append(f"<p><b>{escape(title)}</b></p>")
    parts.append(_paragraphs(text))
    for step in steps:
        if step.get("status", "done") == "done" and (png := figure_png(step["tool"], step.get("output") or {})):
            parts.append(_img(png, f"{step['tool']} figure"))
    if steps:
        parts.append(f"<details><summary>{len(steps)} step{'s' if len(steps) != 1 else ''}</summary>"
                     f"<ol>{''.join(_step_html(s) for s in steps)}</ol></details>")
    parts.append("</div>")
    return "".join(parts)


def text(body: str, steps: list[dict[str, Any]], title: str | None = None) -> str:
    """The same as plain text: title, narration, one line per step."""
    lines = [title] if title else []
    lines.append(body)
    for step in steps:
        status = step.get("error") or step.get("status", "done")
        lines.append(f"  - {step['tool']}({json.dumps(step.get('args') or {}, ensure_ascii=False)}): {status}")
    return "\n".join(lines)


def short(kind: str, what: str, body: str, limit: int = 70) -> str:
    """A one-line `__repr__`: the kind, what it is about, and the start of its narration."""
    first = " ".join(body.split())
    return f"<{kind} {what}: {first[:limit] + '...' if len(first) > limit else first!r}>"
