"""Small wording helpers every tool's `narrate` shares (numbers, quotes, row lines), and the one
function that narrates a result with its caveats (used by agent/narrator.py and tools/display.py)."""
from __future__ import annotations

from typing import Any, Iterable


def narrate_result(tool: str, output: dict[str, Any], args: dict[str, Any], caveats: Iterable[str] = ()) -> str:
    """The tool's own narration of its typed output (tools/builtin/<tool>.py), then the caveats."""
    from tools.registry import get_tool

    tool_cls = get_tool(tool)
    text = tool_cls().narrate(tool_cls.typed_output(output), args)
    return text + "".join(f"\nCaveat: {c}" for c in caveats)


def pct(x: float) -> str:
    return f"{x:.1%}"


def signed(x: float) -> str:
    return f"{x:+.3f}"


def quote(text: str, limit: int = 140) -> str:
    """A text in double quotes on one line, cut at `limit` characters."""
    text = " ".join(text.split())
    return f"\"{text if len(text) <= limit else text[:limit - 1] + '…'}\""


def subject(output: Any) -> str:
    """'review #12' for a dataset row, the quoted text for free text (dicts or Output models)."""
    get = output.get if isinstance(output, dict) else lambda key, default=None: getattr(output, key, default)
    row_id = get("id")
    return f"review #{row_id}" if row_id is not None else quote(get("text") or "")


def row_line(row: Any) -> str:
    """'- #12 "text" (gold: x, predicted: y at 91.0%)' for a row view (dict or model)."""
    r = row if isinstance(row, dict) else row.model_dump()
    line = f"- #{r['id']} {quote(r['text'])}"
    predicted = r.get("prediction")
    if r.get("label") is not None:
        line += f" (gold: {r['label']}"
        if predicted is not None:
            line += f", predicted: {predicted} at {pct(r['confidence'])}"
        line += ")"
    elif predicted is not None:
        line += f" (predicted: {predicted} at {pct(r['confidence'])})"
    return line
