"""'What if I swap 'rude' for 'friendly' in '...'?': the plan predicts the edited text (tools.md), and
the answer must also say what the edit changed, so the original is predicted too and the note gives
both probabilities. The original is the question's quoted text (or its row) that the edited text was
made from; it is run for the note only, not added to the turn's calls (the plan stays the contract)."""
from __future__ import annotations

import difflib
from typing import Any

from agent.planner.slots import find_ids, quoted_texts
from agent.records import Step


def _default() -> str:
    from agent.planner.catalog import catalog

    return catalog().role("default")  # the prediction a what-if edit gets


def baseline_args(question: str, steps: list[Step], text_of: Any = None) -> dict[str, Any] | None:
    """The original input of a what-if prediction ({"text": ...} or {"id": ...}), or None."""
    edited = [s for s in steps if s.tool == _default() and s.status == "done" and "text" in s.args]
    if len(edited) != 1:
        return None
    text = edited[0].args["text"]
    quoted = [q for q in quoted_texts(question) if q != text and len(q.split()) >= 3]
    if quoted:
        best = max(quoted, key=lambda q: difflib.SequenceMatcher(None, q, text).ratio())
        return {"text": best} if difflib.SequenceMatcher(None, best, text).ratio() >= 0.5 else None
    ids = find_ids(question)
    if len(ids) == 1 and text_of is not None and (row := text_of(ids[0])) and row != text:
        return {"id": ids[0]} if difflib.SequenceMatcher(None, row, text).ratio() >= 0.5 else None
    return None


def what_if_note(before: dict[str, Any], after: dict[str, Any]) -> str:
    """'Before the edit ... after it ...': the two predictions and the change of the edited label's probability."""
    label_before, label_after = before.get("label"), after.get("label")
    probs_before, probs_after = before.get("probabilities") or {}, after.get("probabilities") or {}
    shown = label_after if label_after in probs_before and label_after in probs_after else None
    where = f"review {before['id']}" if before.get("id") is not None else repr(before.get("text"))
    line = (f"Before the edit, the model predicted {label_before} ({float(before.get('probability') or 0):.3f}) "
            f"for {where}; after it, {label_after} ({float(after.get('probability') or 0):.3f}).")
    if shown:
        delta = float(probs_after[shown]) - float(probs_before[shown])
        line += (f" The edit {'flips' if label_before != label_after else 'does not flip'} the prediction; "
                 f"P({shown}) moves by {delta:+.3f}.")
    return line
