"""What-if edits in words, applied to the conversation's last text: "replace 'cold' with 'hot'",
"without 'not'", "add 'very' before 'good'". Pure functions; the planner supplies the text."""
from __future__ import annotations

import re
from dataclasses import dataclass

_Q = r"[\"'“‘]((?:[^\"'”’]|(?<=[a-z])'(?=[a-z]))+)[\"'”’]"  # an apostrophe between letters stays inside
REPLACE = re.compile(rf"\b(?:replace|swap|substitute|change)\s+{_Q}\s+(?:with|by|for|to|into)\s+{_Q}", re.I)
REPLACE_BY = re.compile(rf"\b(?:use|put|say)\s+{_Q}\s+instead of\s+{_Q}", re.I)
REMOVE = re.compile(
    rf"\b(?:without|remove|delete|drop|minus|take out|leave out|omit)\s+(?:the\s+(?:word|phrase|token)s?\s+)?{_Q}",
    re.I,
)
INSERT = re.compile(rf"\b(?:add|insert|put)\s+{_Q}\s+(before|after)\s+{_Q}", re.I)


@dataclass(frozen=True)
class Edit:
    kind: str  # replace | remove | insert
    old: str
    new: str = ""
    where: str = ""  # before | after (insert)


def find_edits(question: str) -> list[Edit]:
    edits = [Edit("replace", m.group(1), m.group(2)) for m in REPLACE.finditer(question)]
    edits += [Edit("replace", m.group(2), m.group(1)) for m in REPLACE_BY.finditer(question)]
    edits += [Edit("remove", m.group(1)) for m in REMOVE.finditer(question)]
    edits += [Edit("insert", m.group(3), m.group(1), m.group(2).lower()) for m in INSERT.finditer(question)]
    return edits


def _pattern(phrase: str) -> re.Pattern[str]:
    left = r"\b" if phrase[:1].isalnum() else ""
    right = r"\b" if phrase[-1:].isalnum() else ""
    return re.compile(left + re.escape(phrase) + right, re.I)


def apply_edits(text: str, edits: list[Edit]) -> tuple[str, list[str]]:
    """The edited text and the edits that did not apply (their phrase is not in the text)."""
    missing = []
    for edit in edits:
        pattern = _pattern(edit.old)
        if not pattern.search(text):
            missing.append(edit.old)
            continue
        if edit.kind == "replace":
            text = pattern.sub(lambda _: edit.new, text, count=1)
        elif edit.kind == "remove":
            text = pattern.sub("", text, count=1)
        else:
            text = pattern.sub(
                lambda m: f"{edit.new} {m.group(0)}" if edit.where == "before" else f"{m.group(0)} {edit.new}",
                text,
                count=1,
            )
    text = re.sub(r"\s+([,.!?;:])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    return text, missing
