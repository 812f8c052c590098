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


WHY = re.compile(r"^\W*(?:(?:so|ok|and|but|hmm|hey|pls|please)\W+)*(?:why|how come|what made|what makes)\b", re.I)


def _decision(out: dict) -> tuple[str | None, float | None, list[str]]:
    """(predicted label, its probability, the labels) of an attribute or predict output."""
    target = out.get("target") or {}
    probabilities = target.get("probabilities") or out.get("probabilities") or {}
    predicted = target.get("predicted") or out.get("label")
    p = probabilities.get(predicted) if predicted else None
    return predicted, (float(p) if p is not None else out.get("probability")), list(probabilities)


def label_premise_note(question: str, steps: list[Step]) -> str | None:
    """'why did it call review 12 negative?' when the model predicts positive: said first, with the prediction."""
    if not WHY.search(question or ""):
        return None
    for step in steps:
        out = step.output or {}
        if step.status != "done" or out.get("id") is None and not out.get("text"):
            continue
        predicted, probability, labels = _decision(out)
        named = [x for x in labels if re.search(rf"\b{re.escape(x)}s?\b", question, re.I)]
        if not predicted or len(named) != 1 or named[0] == predicted:
            continue
        typed = re.search(r"\b(review|row|item|example|sample|text|tweet|instance)\s*#?\d+", question, re.I)
        name = (f"{(typed.group(1) if typed else 'row')} {out['id']}" if out.get("id") is not None else "this text")
        chance = f" ({probability:.2f})" if probability is not None else ""
        gold = out.get("gold_label")
        gold_part = f"; its gold label is {gold}" if gold else ""
        return (f"The model does not call {name} {named[0]}: it predicts {predicted}{chance}{gold_part}. "
                f"What follows explains the {predicted} prediction.")
    return None
