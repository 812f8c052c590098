"""The premise of a question, checked against the results before the answer: "why did it get
review 12 wrong?" when review 12 is predicted correctly must say so first (the planner puts the
prediction before the explanation for such questions: agent/planner/honour.py `with_premise`)."""
from __future__ import annotations

import re

from agent.planner.honour import WRONG_PREMISE
from agent.records import Step


def premise_note(question: str, steps: list[Step]) -> str | None:
    """A sentence on whether the row the question calls a mistake is one, or None."""
    if not WRONG_PREMISE.search(question or ""):
        return None
    for step in steps:
        out = step.output or {}
        if step.status != "done" or out.get("correct") is None or out.get("id") is None:
            continue
        typed = re.search(r"\b(review|row|item|example|sample|text|tweet|instance)\s*#?\d+", question, re.I)
        name = f"{(typed.group(1) if typed else 'row').capitalize()} {out['id']}"
        said = f"gold {out.get('gold_label')}, predicted {out.get('label')} ({float(out.get('probability') or 0):.2f})"
        if out["correct"]:
            return f"{name} is not a mistake: {said}. What follows explains that correct prediction."
        return f"{name} is indeed a mistake: {said}."
    return None
