"""The planner's shared wording: referents, follow-ups, clause separators, row nouns. Nothing
here names a tool; tool wordings are the tools' `triggers`."""
from __future__ import annotations

import re

from tools.attribution.catalog import WORDING as METHOD_WORDING

REFERENT = re.compile(
    r"\b(?:it"
    r"|its"
    r"|that"
    r"|this"
    r"|those"
    r"|these"
    r"|them"
    r"|they"
    r"|the same"
    r"|same one"
    r"|that one"
    r"|this one"
    r"|the last one"
    r"|the previous one"
    r"|the answer"
    r"|the prediction)\b",
    re.I,
)
SELECTION_REFERENT = re.compile(
    r"\b(?:those"
    r"|these"
    r"|them"
    r"|they"
    r"|among (?:those|them|these)"
    r"|of (?:those|them|these)"
    r"|there"
    r"|the same (?:rows|reviews|ones|selection)"
    r"|(?:that|this|the) (?:selection|subset|filter|slice|group))\b",
    re.I,
)
FOLLOW_UP = re.compile(
    r"^\W*(?:and\b"
    r"|now\b"
    r"|ok(?:ay)?\b"
    r"|what about\b"
    r"|how about\b"
    r"|same\b"
    r"|the same\b"
    r"|do the same\b"
    r"|again\b"
    r"|only\b"
    r"|just\b"
    r"|instead\b"
    r"|also\b"
    r"|but\b"
    r"|then\b"
    r"|at\b"
    r"|with\b"
    r"|using\b"
    r"|use\b"
    r"|top \d+\b"
    r"|for\b"
    r"|in\b"
    r"|on\b)",
    re.I,
)
# "stronger" / "push harder" / "weaker" after a steer: the same call at another strength
STRONGER = re.compile(r"^\W*(?:(?:a bit|much|even|a little)\s+)?(?:stronger|harder|more strongly|push (?:it )?harder"
                      r"|(?:twice|double|2x) (?:as )?(?:strong|hard|much)|double (?:the|its) strength"
                      r"|more strength|increase (?:the )?strength|turn it up)\b", re.I)
WEAKER = re.compile(r"^\W*(?:(?:a bit|much|even|a little)\s+)?(?:weaker|softer|gentler|less strongly|less strength"
                    r"|decrease (?:the )?strength|turn it down)\b", re.I)
SPLIT = re.compile(
    r"\s*(?:;"
    r"|\band then\b"
    r"|\bthen\b"
    r"|\band also\b"
    r"|\bas well as\b"
    r"|\balso\b"
    r"|(?<=[?!.])\s+(?=[A-Z])"
    r"|,\s*and\b"
    # a bare "and" only before a new request, its verb a whole word ("labelled negative and predicted positive" is
    # one selection)
    r"|\band\b(?=\s+(?:what|why|how|show|give|tell|explain|predict|list|count|which|find|generate|write|compute"
        r"|display|describe|make|produce|create|follow|provide|the rationale|a rationale|its|also|then)\b))\s*",
)
# "explain that with occlusion": with an instance in the conversation, "that"/"it" points at it.
POINTS_BACK = re.compile(
    r"\b(?:it"
    r"|that one"
    r"|this one"
    r"|that"
    r"|this)\b"
    # not "that method", "this concept", "that is", ...
    r"(?!\s+(?:method|technique|approach|concept|term|metric|measure|means?|is|does|operation|feature"
        r"|functionality|isn't|is not|are|aren't|was|were|has|have|had|can|could|would|will|doesn't|do|don't"
        r"|did|makes?|made)\b)",
    re.I,
)
ROW_NOUN = re.compile(
    r"\b(?:reviews?|rows?|items?|examples?|instances?|data ?points?|samples?|texts?|entries|records)\b",
    re.I,
)
APPLY_IT = re.compile(
    r"^\W*(?:ok(?:ay)?,? |now |great,? |then )?"
    r"(?:(?:please )?(?:to )?(?:use|apply|try|run|do) (?:it|that|this|that method|this method)"
    r"|(?:generate|make|create|produce|give me|find|compute|show me) (?:one|some|an? (?:example|one))\b)",
    re.I,
)
USING_METHOD = re.compile(rf"\b(?:with|using|via|by|through)\s+(?:the\s+)?{METHOD_WORDING}\b", re.I)
INSTANCE_POINTER = re.compile(
    r"\b(?:it"
    r"|that one"
    r"|this one"
    r"|(?:that|this|the same) (?:review|row|item|instance|example|text|sample|data ?point|sentence))\b",
    re.I,
)
# not "a short presentation", "a brief summary", "how long are they", "long-winded"
_NOT_ROWS = (r"(?! than| (?:presentation|summary|answer|report|list|version|note|explanation|description|overview"
             r"|time|while)s?\b)")
SHORT = re.compile(rf"\b(?:short|shorter|brief)\b{_NOT_ROWS}", re.I)
LONG = re.compile(rf"(?<!how )\b(?:long|longer|lengthy)\b(?!-){_NOT_ROWS}", re.I)
