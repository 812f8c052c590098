"""Small wording helpers every tool's `narrate` shares (numbers, quotes, row lines), and the one
function that narrates a result with its caveats (used by agent/narrator.py and tools/display.py)."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator

# What the narrated rows are called ("review #12", "tweet #3", "row #3"): the dataset's own noun
# (Dataset.row_noun, tools/data/row_noun.py), set by `narrate_result` from the result's provenance.
# A tool's `narrate` called directly, outside any dataset (its unit tests), gets the demo's noun.
ROW_NOUN: ContextVar[str] = ContextVar("row_noun", default="review")


@contextmanager
def rows_called(noun: str | None) -> Iterator[None]:
    """Narrate with `noun` for dataset rows (None keeps the current one)."""
    if not noun:
        yield
        return
    token = ROW_NOUN.set(noun)
    try:
        yield
    finally:
        ROW_NOUN.reset(token)


def row_name(row_id: Any) -> str:
    """'review #12' on the demo data, 'row #12' on data that does not say what its rows are."""
    return f"{ROW_NOUN.get()} #{row_id}"


def narrate_result(tool: str, output: dict[str, Any], args: dict[str, Any], caveats: Iterable[str] = (),
                   row_noun: str | None = None) -> str:
    """The tool's own narration of its typed output (tools/builtin/<tool>.py), then the caveats;
    `row_noun` is what the result's dataset calls its rows (its provenance's `row_noun`)."""
    from tools.registry import get_tool

    tool_cls = get_tool(tool)
    with rows_called(row_noun):
        text = tool_cls().narrate(tool_cls.typed_output(output), args)
    return ended_lists(text + "".join(f"\nCaveat: {c}" for c in caveats))


def ended_lists(text: str) -> str:
    """A blank line between a bullet list and the line after it: in Markdown that line would otherwise
    continue the last bullet (a newcomer saw "Diversity ..." and "Caveat ..." inside a counterfactual's list)."""
    lines = text.split("\n")
    out = lines[:1]
    for before, line in zip(lines, lines[1:]):
        if before.lstrip().startswith("- ") and line.strip() and not line.lstrip().startswith("- "):
            out.append("")
        out.append(line)
    return "\n".join(out)


def pct(x: float) -> str:
    return f"{x:.1%}"


def signed(x: float) -> str:
    return f"{x:+.3f}"


def quote(text: str, limit: int = 140) -> str:
    """A text in double quotes on one line, cut at `limit` characters."""
    text = " ".join(text.split())
    return f"\"{text if len(text) <= limit else text[:limit - 1] + '…'}\""


def subject(output: Any) -> str:
    """'review #12' (the dataset's noun, `row_name`) for a dataset row, the quoted text for free
    text (dicts or Output models)."""
    get = output.get if isinstance(output, dict) else lambda key, default=None: getattr(output, key, default)
    row_id = get("id")
    return row_name(row_id) if row_id is not None else quote(get("text") or "")


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
