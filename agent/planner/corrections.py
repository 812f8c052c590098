"""Self-corrections mid-question: "explain review 12, sorry, 21", "with lime no wait occlusion",
"towards positive, I mean negative", "probe layers 5 to 8, sorry, 5 to 9". The last value said wins:
the corrected value replaces the one it corrects, and the marker goes, before anything reads the
question (the first value would otherwise be run, and the second dropped, without a word).

A correction is only read where it is unambiguous: a marker ("sorry", "no wait", "I mean", "make
that", "scratch that", "er", "oops"; a bare "no" / "actually" only after punctuation) right after a
value, followed by a value of the same kind (a number, a label, a data value, a method) or by the
same word that led the corrected value ("against 31, no, against 32"). Quoted texts are never changed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from agent.planner.normalise import number_value
from tools.attribution.catalog import WORDING

_STRONG = (r"sorry|no+ wait|wait no|wait|hang on|i mean|i meant|scratch that|oops|e+rm?|u+h+|u+m+"
           r"|correction|my bad|or rather")
_WEAK = r"no+|nope|actually|rather|oh|make that"  # "what would make that negative" is no correction
MARKER = re.compile(
    rf"(?P<lead>\s*(?:[,;.…!?]+|\s[—–-]+)\s*|\s+)"
    rf"(?P<words>(?:(?:{_STRONG}|{_WEAK})(?:[\s,.…!—–-]+|$))+)",
    re.I,
)
STRONG = re.compile(rf"\b(?:{_STRONG})\b", re.I)
_END = re.compile(r"[,;?!]|\.(?!\d)|\s(?:and|then|but)\s|$", re.I)
_METHOD_PART = re.compile(rf"^(?:{WORDING}|kernel|integrated|gradients?|grad|input|shap|x)$", re.I)
WINDOW = 6  # the corrected value is at most this many words before the marker


def _kind(word: str, values: set[str]) -> str:
    core = word.strip(".,;:!?…'\"()").lower()
    if re.fullmatch(r"#?\d+(?:\.\d+)?", core) or number_value(core) is not None and core not in ("and",):
        return "number"
    if core in values or core.rstrip("s") in values:
        return "value"
    if _METHOD_PART.match(core):
        return "method"
    return core


def _replace(before: list[str], said: list[str], values: set[str]) -> list[str] | None:
    """`before` with the value that `said` corrects replaced by it, or None when nothing matches."""
    first = said[0].strip(".,;:!?").lower()
    kinds = [_kind(w, values) for w in before]
    start = max(0, len(before) - WINDOW)
    same_word = [i for i in range(start, len(before)) if before[i].strip(".,;:!?").lower() == first]
    kind = _kind(said[0], values)
    same_kind = [i for i in range(start, len(before)) if kind in ("number", "value", "method") and kinds[i] == kind]
    at = same_word[-1] if same_word else same_kind[-1] if same_kind else None
    if at is None:
        return None
    if kind == "number" and not same_word:  # "layers 5 to 8, sorry, 5 to 9": the range's start
        while at - 2 >= start and kinds[at - 1] in ("to", "-", "through") and kinds[at - 2] == "number" \
                and len(said) >= 3:
            at -= 2
    span = before[at:at + len(said)]
    aligned = len(span) == len(said) and all(_kind(a, values) == _kind(b, values) for a, b in zip(span, said))
    tail = before[at + len(said):] if aligned else before[at + 1:]
    if not aligned and kind == "method":  # "with lime no wait kernel shap": the whole old method name
        while tail and _kind(tail[0], values) == "method":
            tail = tail[1:]
    return before[:at] + said + tail


def corrected(text: str, values: Iterable[str] = ()) -> str:
    """`text` with each self-correction applied (quoted texts untouched)."""
    from agent.planner.slots import outside_quotes

    known = {v.lower() for v in values}
    return outside_quotes(text, lambda part: _corrected(part, known))


def _corrected(text: str, values: set[str]) -> str:
    for _ in range(3):  # "count the film, no, the product, sorry, the service reviews"
        changed = False
        for m in MARKER.finditer(text):
            if not STRONG.search(m.group("words")) and not re.search(r"[,;.…!?—–-]", m.group("lead")):
                continue  # a bare "no" or "actually" between words is no correction
            before, after = text[:m.start()].split(), text[m.end():]
            if not before or not after.strip():
                continue
            end = _END.search(after)
            said = after[:end.start()].split()
            if not said:
                continue
            new = _replace(before, said, values)
            if new is None:
                continue
            rest = re.sub(r"^\s*,\s*", " ", after[end.start():])
            text, changed = text[:len(text) - len(text.lstrip())] + " ".join(new) + rest, True
            break
        if not changed:
            return text
    return text
