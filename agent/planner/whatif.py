"""What-if edits in words, applied to the conversation's last text: "replace 'cold' with 'hot'",
"without 'not'", "add 'very' before 'good'". Pure functions; the planner supplies the text."""
from __future__ import annotations

import re
from dataclasses import dataclass

_Q = r"[\"'“‘]((?:[^\"'”’]|(?<=[a-z])'(?=[a-z]))+)[\"'”’]"  # an apostrophe between letters stays inside
REPLACE = re.compile(rf"\b(?:replace|swap|substitute|change)\s+{_Q}\s+(?:with|by|for|to|into)\s+{_Q}", re.I)
# "what if it said 'X' instead of 'Y'": whatever the verb, X replaces Y
REPLACE_BY = re.compile(rf"{_Q}\s+(?:instead of|rather than|in place of)\s+{_Q}", re.I)
# "with 'nothing' swapped for 'everything'": the first is replaced by the second
REPLACED = re.compile(rf"{_Q}\s+(?:swapped|replaced|changed|switched|exchanged)\s+(?:for|with|by|to|into)\s+{_Q}",
                      re.I)
REMOVE = re.compile(
    rf"\b(?:without|remove|delete|drop|minus|take out|leave out|omit|cut|strip)\s+"
    rf"(?:the\s+(?:word|phrase|token)s?\s+)?{_Q}"
    # "take the word 'not' out of ...", "leave 'really' out"
    rf"|\b(?:take|leave|cut|strip)\s+(?:the\s+(?:word|phrase|token)s?\s+)?{_Q}\s+out\b",
    re.I,
)
INSERT = re.compile(rf"\b(?:add|adding|insert|inserting|put|putting|place|placing)\s+{_Q}\s+(before|after|in front of"
                    rf"|behind)\s+{_Q}", re.I)
# "are you sure it's not just the word 'not'? drop it", "... try '...' without it": that word removed
REMOVE_IT = re.compile(rf"\b(?:the word|the phrase|the token)\s+{_Q}.*?\b(?:drop|remove|delete|without|take out"
                       rf"|leave out|omit|minus)\s+it\b", re.I)
# "would it flip if 'great' became 'okay' in '...'", "what if 'better' were 'worse'": the first is replaced
REPLACE_IF = re.compile(rf"\b(?:if|suppose|when)\s+(?:the word\s+)?{_Q}\s+(?:became|becomes|were|was|is|turned into"
                        rf"|changed to|is changed to|was changed to|were changed to)\s+{_Q}", re.I)


# "swap 'good' and 'bad' in 'the food was good'": each becomes the other (in a quoted text; "swap 'John' and
# 'Mary' in the reviews" is a bias audit over rows)
SWAP_BOTH = re.compile(rf"\b(?:swap|switch|exchange|interchange)\s+{_Q}\s+and\s+{_Q}(?=\s+(?:in|within|inside)\s+"
                       r"[\"'“‘])", re.I)


@dataclass(frozen=True)
class Edit:
    kind: str  # replace | remove | insert | swap
    old: str
    new: str = ""
    where: str = ""  # before | after (insert)


def find_edits(question: str) -> list[Edit]:
    edits = [Edit("replace", m.group(1), m.group(2)) for m in REPLACE.finditer(question)]
    edits += [Edit("swap", m.group(1), m.group(2)) for m in SWAP_BOTH.finditer(question)]
    edits += [Edit("replace", m.group(2), m.group(1)) for m in REPLACE_BY.finditer(question)]
    edits += [Edit("replace", m.group(1), m.group(2)) for m in REPLACED.finditer(question)]
    edits += [Edit("remove", m.group(1) or m.group(2)) for m in REMOVE.finditer(question)]
    edits += [Edit("remove", m.group(1)) for m in REMOVE_IT.finditer(question)]
    edits += [Edit("replace", m.group(1), m.group(2)) for m in REPLACE_IF.finditer(question)]
    edits += [Edit("insert", m.group(3), m.group(1), "before" if m.group(2).lower() in ("before", "in front of")
                   else "after") for m in INSERT.finditer(question)]
    return edits


_W = r"([a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)"  # one or two unquoted words
REPLACE_WORDS = re.compile(rf"\b(?:replace|swap|substitute|change)\s+{_W}\s+(?:with|by|for|to|into)\s+{_W}\b", re.I)
REPLACE_WORDS_BY = re.compile(rf"\b(?:use|put|say|said|says|wrote|had)\s+{_W}\s+instead of\s+{_W}\b", re.I)
# "if cold were hot", "what if late was early", "with slow changed to quick": the first is replaced
REPLACE_WORDS_IF = re.compile(rf"\b(?:if|suppose)\s+(?:the word\s+)?{_W}\s+(?:were|was|became|becomes|is|turns into"
                              rf"|is replaced by|was replaced by)\s+{_W}\b"
                              rf"|\b{_W}\s+(?:changed|switched|turned|swapped)\s+(?:to|into|for)\s+{_W}\b", re.I)


# "soggy->crispy" (the arrow reads "to"): a whole message that only swaps one word the text has for another
BARE_SWAP = re.compile(r"^\W*([a-z][\w'-]*)\s+(?:to|for|with|by|into)\s+([a-z][\w'-]*)\W*$", re.I)
# "predict '...' without the word can't": an unquoted removal of one word the text has
REMOVE_WORD = re.compile(r"\b(?:without|remove|delete|drop|minus|take out|leave out|omit)\s+"
                         r"(?:the\s+(?:word|token)\s+)?([a-z][\w'-]*)", re.I)


_NOT_AN_EDIT = {"it", "this", "that", "them", "those", "these", "one", "the", "a", "an", "label", "labels", "metric",
                "method", "layer", "model", "prediction", "target", "strength", "threshold"}


def find_word_edits(question: str, text: str) -> list[Edit]:
    """Unquoted replacements ("and if I swap rude for friendly?") of words the conversation's text
    has: without this the edit was dropped and the unedited text answered silently (v7). A phrase
    the text does not contain is not an edit ("change the metric to f1")."""
    def has(phrase: str) -> bool:
        return phrase.lower() not in _NOT_AN_EDIT and bool(_pattern(phrase).search(text))

    edits = []
    for m in REPLACE_WORDS.finditer(question):
        old, new = m.group(1), m.group(2)
        if not has(old) and len(old.split()) == 2 and has(old.split()[1]):
            old = old.split()[1]  # "swap the rude for ..." keeps the word the text has
        if has(old):
            edits.append(Edit("replace", old, new.split()[0] if len(new.split()) > 1 and new.split()[1] in
                              ("please", "pls", "instead", "then") else new))
    for m in REPLACE_WORDS_BY.finditer(question):
        if has(m.group(2)):
            edits.append(Edit("replace", m.group(2), m.group(1)))
    swap = BARE_SWAP.match(question)
    if swap and has(swap.group(1)) and swap.group(2).lower() not in _NOT_AN_EDIT:
        edits.append(Edit("replace", swap.group(1), swap.group(2)))
    for m in REMOVE_WORD.finditer(question):
        word = m.group(1)
        if has(word):
            edits.append(Edit("remove", word))
    for m in REPLACE_WORDS_IF.finditer(question):
        old, new = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        old = old if has(old) or len(old.split()) == 1 else old.split()[-1]  # "with slow changed": "slow"
        if has(old):
            edits.append(Edit("replace", old, new.split()[0] if len(new.split()) > 1 else new))
    return edits


def edited_in_question(question: str, edits: list[Edit], texts: list[str]) -> str | None:
    """The quoted text an edit names in the same message ("swap 'terrible' for 'great' in 'terrible
    battery, great screen'", "take 'not' out of 'the film was not bad'"): a quote that is neither an
    edit's old nor new phrase and contains every phrase the edits change. None: edit the last text."""
    phrases = {e.old for e in edits} | {e.new for e in edits}
    bases = [t for t in texts if t not in phrases and all(
        _pattern(e.old).search(t) or (e.kind == "swap" and _pattern(e.new).search(t)) for e in edits)]
    others = [t for t in texts if t not in phrases]  # a quoted text that lacks the phrase is still the one named:
    return bases[-1] if bases else (others[-1] if others else None)  # the answer says it lacks the phrase


def _pattern(phrase: str) -> re.Pattern[str]:
    left = r"\b" if phrase[:1].isalnum() else ""
    right = r"\b" if phrase[-1:].isalnum() else ""
    return re.compile(left + re.escape(phrase) + right, re.I)


def apply_edits(text: str, edits: list[Edit]) -> tuple[str, list[str]]:
    """The edited text and the edits that did not apply (their phrase is not in the text)."""
    missing = []
    for edit in edits:
        pattern = _pattern(edit.old)
        if edit.kind == "swap":  # every 'old' becomes 'new' and every 'new' becomes 'old'
            other = _pattern(edit.new)
            if not (pattern.search(text) or other.search(text)):
                missing.append(edit.old)
                continue
            both = re.compile(f"(?:{pattern.pattern})|(?:{other.pattern})", re.I)
            text = both.sub(lambda m: edit.new if pattern.fullmatch(m.group(0)) else edit.old, text)
            continue
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
