"""The planner's shared wording: referents, follow-ups, clause separators, row nouns. Nothing
here names a tool; tool wordings are the tools' `triggers`."""
from __future__ import annotations

import re

from tools.attribution.catalog import WORDING as METHOD_WORDING

REFERENT = re.compile(r"\b(?:it|its|that|this|those|these|them|they|the same|same one|that one|this one|the last one|the previous one|the answer|the prediction)\b", re.I)
SELECTION_REFERENT = re.compile(r"\b(?:those|these|them|they|among (?:those|them|these)|of (?:those|them|these)|there|the same (?:rows|reviews|ones|selection))\b", re.I)
FOLLOW_UP = re.compile(r"^\W*(?:and\b|now\b|ok(?:ay)?\b|what about\b|how about\b|same\b|the same\b|do the same\b|again\b|only\b|just\b|instead\b|also\b|but\b|then\b|at\b|with\b|using\b|use\b|top \d+\b|for\b|in\b|on\b)", re.I)
SPLIT = re.compile(
    r"\s*(?:;|\band then\b|\bthen\b|\band also\b|\bas well as\b|\balso\b|(?<=[?!.])\s+(?=[A-Z])|,\s*and\b"
    r"|\band\b(?=\s+(?:what|why|how|show|give|tell|explain|predict|list|count|which|find|generate|write|compute|display|describe|make|produce|create|follow|provide|the rationale|a rationale|its|also|then)))\s*",
)
# "explain that with occlusion": with an instance in the conversation, "that"/"it" points at it.
POINTS_BACK = re.compile(r"\b(?:it|that one|this one|that|this)\b(?!\s+(?:method|technique|approach|concept|term|metric|measure|means?|is|does|operation|feature|functionality)\b)", re.I)
ROW_NOUN = re.compile(r"\b(?:reviews?|rows?|items?|examples?|instances?|data ?points?|samples?|texts?|entries|records)\b", re.I)
APPLY_IT = re.compile(r"^\W*(?:ok(?:ay)?,? |now |great,? |then )?(?:(?:use|apply|try|run|do) (?:it|that|this|that method|this method)|(?:generate|make|create|produce|give me|find|compute|show me) (?:one|some|an? (?:example|one))\b)", re.I)
USING_METHOD = re.compile(rf"\b(?:with|using|via|by|through)\s+(?:the\s+)?{METHOD_WORDING}\b", re.I)
INSTANCE_POINTER = re.compile(r"\b(?:it|that one|this one|(?:that|this|the same) (?:review|row|item|instance|example|text|sample|data ?point|sentence))\b", re.I)
SHORT = re.compile(r"\b(?:short|shorter|brief)\b(?! than)", re.I)
LONG = re.compile(r"\b(?:long|longer|lengthy)\b(?! than)", re.I)
