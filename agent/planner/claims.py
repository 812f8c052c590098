"""Label corrections said as statements: "actually review 7 is positive", "review 19 is
mislabelled, it should be negative", "its gold label is wrong". They change a gold label
(the tool whose planner role is "relabel"); a question about a label ("is review 7 actually
positive?", "why did it call 12 negative when it is positive?") is not one."""
from __future__ import annotations

import re

CLAIM = (r"(?:is|'s|should be|should have been|should say|must be|must to be|has to be|needs to be|ought to be|was|are"
         r"|were|reads as|read as|looks|seems"
         r"|are both|are all) "
         r"(?:actually |really |truly |in fact |clearly |obviously )?"
         r"(?:labell?ed |marked |tagged )?(?:as )?(?:a |an )?")
WRONG_LABEL = re.compile(
    r"\b(?:mislabell?ed"
    r"|wrong(?:ly)? labell?ed"
    r"|(?:gold |true )?label (?:(?:for|of|on) (?:review |row |item |id |example )?#?\d+ )?(?:is|was) "
    r"(?:wrong|incorrect|off|a mistake)"
    r"|label of (?:review|row|item|id|example)? ?#?\d+ (?:is|was) (?:wrong|incorrect|a mistake)"
    r"|wrong (?:gold )?label"
    # "the gold is wrong", "fix the gold", "the gold label on review 9 looks off"
    r"|(?:the )?gold(?: label)?(?: (?:on|of|for) (?:review |row |item |id )?#?\d+)? (?:is|was|looks|seems) "
    r"(?:wrong|incorrect|off|a mistake|mistaken)"
    r"|fix (?:the|its|that) (?:gold|label)"
    # "the label's wrong", "the label on review 99 looks off", "whoever labelled row 23 messed up"
    r"|\blabel'?s (?:wrong|off|incorrect|a mistake)"
    r"|(?:gold |true )?label (?:(?:for|of|on) (?:review |row |item |id |example )?#?\d+ )?(?:looks|seems) "
    r"(?:wrong|incorrect|off|mistaken)"
    r"|(?:labell?ed|tagged|marked) .{0,30}\b(?:messed up|got it wrong|got it backwards|made a mistake|screwed up"
    r"|(?:half )?asleep|drunk|careless"
    r"|sloppy|clueless|not paying attention)"
    r"|incorrectly labell?ed"
    r"|labell?ed (?:wrong(?:ly)?|incorrectly|badly)"  # "review 140 is clearly labelled wrong, it's positive"
    # "i wonder whether the gold label on review 75 is even right, it looks off to me"
    r"|\b(?:gold |true )label\b.{0,40}\b(?:looks|seems|reads) (?:off|wrong|mistaken)"
    r")\b",
    re.I,
)
CORRECTING = re.compile(
    r"^\W*(?:actually|no|nope|wait|hmm|but|in fact|fyi|note|ok so|well|honestly|frankly|seriously)\b"
    r"|\b(?:actually|really)\W*$"  # "and 68 is negative actually"
    r"|\bshould (?:be|have been|say)\b|\bmust (?:to )?be\b|\bfix (?:it|that|this)\b"
    r"|(?:\b(?:is|are)|'s) (?:both |all )?(?:actually|really|in fact)\b"
    # "row 9 is labelled negative but it's clearly positive" (not "labelled negative but predicted positive")
    r"|\blabell?ed (?:as )?(?:a |an )?\w+ but (?:it'?s|it is|that'?s|that is|this is|it reads|it looks|clearly"
    r"|obviously|really|actually)\b"
    # "that's not positive, it's negative", "it isn't negative but positive"
    r"|(?:\b(?:is|are)|'s) not (?:a |an )?\w+(?: review| one)?\W+(?:it'?s|it is|but|rather|more like)\b"
    r"|\bisn'?t (?:a |an )?\w+(?: review| one)?\W+(?:it'?s|it is|but|rather|more like)\b"
    # "203 is a negative review, not a positive one"
    r"|(?:\b(?:is|are)|'s) (?:a |an )?\w+(?: review| one)?\W+not (?:a |an )?\w+(?: review| one)?\W*$"
    # an order: "set review 100 to negative", "relabel 12 as positive", "mark row 3 as negative"
    r"|^\W*(?:(?:please|pls|can you|could you|now)\W+)*(?:set|relabel|re-label|mark|label)\b"
    r"|^\W*(?:change|switch)\s+(?:review |row |item )?#?\d+\s+to\b",  # "change 12 to negative"
    re.I,
)
# an order to relabel: "set 12 to positive", "mark 3 as negative", "change 12 to negative" (with an id: not
# "change the metric to f1")
ORDER = (r"^\W*(?:(?:please|pls|can you|could you|now)\W+)*(?:set|relabel|re-label|mark|label"
         r"|(?:change|switch)(?=\s+(?:review |row |item )?#?\d))")
# a question, not a request: "could you (maybe) fix the label of 128?" asks for an edit
ASKING = re.compile(r"^\W*(?:why|what|how|which|does|do|did|is|are|can|could|would|will|was)\b"
                    r"(?!\s+you\s+(?:please\s+|maybe\s+|kindly\s+|just\s+)?(?:fix|set|relabel|change|mark|correct"
                    r"|update)\b)", re.I)


def corrected_row(question: str) -> int | None:
    """The bare number a correction is about: "i think 61 should be labelled negative"."""
    m = re.search(rf"(?<![\w.])(\d+)\s+{CLAIM}", question, re.I) or re.search(
        ORDER + r"\s+#?(\d+)\b",
        question, re.I) or re.search(r"\blabel (?:of|for) (?:review |row |id )?#?(\d+)\b", question, re.I) or (
        re.search(r"\blabell?ed (?:review |row |item |id )?#?(\d+)\b", question, re.I))  # "whoever labelled 150 ..."
    return int(m.group(1)) if m else None


def corrected_rows(question: str) -> list[int]:
    """Every row of an order over a list: "mark 12 and 13 as negative", "set 4, 5 and 9 to positive"."""
    m = re.search(ORDER + r"\s+"
                  r"(?:reviews? |rows? |items? |ids? )?(#?\d+(?:\s*(?:,|and|&|,\s*and)\s*#?\d+)+)\b", question, re.I)
    if m:
        return [int(x) for x in re.findall(r"\d+", m.group(1))]
    m = re.search(r"^\W*(?:reviews? |rows? )?#?(\d+) and #?(\d+) (?:are|were) (?:both |all )?", question, re.I)
    if m:  # "123 and 124 are both negative actually, fix the gold"
        return [int(m.group(1)), int(m.group(2))]
    m = re.search(ORDER + r"\s+"
                  r"(?:review |row |item )?#?(\d+)\s+(?:to|as)\s+\w+\s*(?:,|and|&)\s*(?:review |row |item )?#?(\d+)"
                  r"(?:\s+(?:too|as well|also))?\W*$", question, re.I)  # "set 91 to positive and 92 too"
    return [int(m.group(1)), int(m.group(2))] if m else []


def corrects_a_label(question: str, labels: list[str]) -> tuple[bool, str | None]:
    """(is this a label correction, the label it names or None)."""
    if not labels or ASKING.search(question):
        return False, None
    names = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    said = re.search(rf"\b{CLAIM}({names})\b(?!\s+(?:prediction|sentiment|words?|tokens?))", question, re.I)
    said = said or re.search(rf"\b(?:to|as|into) ({names})\b", question, re.I)  # "..., set it to positive"
    but = re.search(rf"\blabell?ed (?:as )?(?:{names})\b.*?\bbut\b.*?\b({names})\b", question, re.I)
    said = but or said  # "150 is labelled positive but it's obviously a negative review": the label after "but"
    label = next((x for x in labels if said and x.lower() == said.group(1).lower()), None)
    if WRONG_LABEL.search(question) or (label and CORRECTING.search(question)):
        return True, label
    return False, None
