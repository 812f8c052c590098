"""Slot extraction for the offline planner: ids, quoted text, k, methods, metrics, filters, layers.

Pure functions over the question text, each small and separately tested.
"""
from __future__ import annotations

import re
from typing import Any

from tools.attribution import catalog

_ID_WORDS = r"(?:id'?s?|items?|instances?|reviews?|rows?|examples?|samples?|data ?points?|datapoints?|data|entry|entries|records?|sentences?|texts?)"
ID_PATTERN = re.compile(rf"\b{_ID_WORDS}\s*(?:#|no\.?|number|with (?:an? )?id(?: of)?|with|id)?\s*(\d+)\b(?!\s*(?:words?|tokens?|characters?|%))"
                        r"|\bids?\s+(?:of|=|:)\s*(\d+)\b", re.I)
HASH_ID = re.compile(r"#\s*(\d+)\b")
# "For 3315, why ...", "predict 320": a bare number where an instance is expected.
BARE_ID = re.compile(r"(?:^|[,;.?!]\s*)(?:for|predict|show|explain|classify)\s+(\d{1,7})\b(?!\s*(?:words?|features?|tokens?|most|top|neurons?|layers?|%|percent|more|similar|examples?|reviews?|rows?|of|ones?|others?|random|neighbou?rs?|paraphrases?|variants?|counterfactuals?|mistakes?|errors?|keywords?|samples?|instances?|items?|data|closest|nearest|influential|important))|^(\d{1,7})\s*[:,]|\bfor\s+(\d{1,7})\s*[.?!,]?\s*$", re.I)
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<![a-z])'([^']+)'(?![a-z])|‘([^’]+)’", re.I)
NUMBER_WORDS = {"a few": 3, "a couple of": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_K_NOUNS = r"(?:mistakes|errors|examples?|reviews?|rows?|items?|instances?|words?|tokens?|features?|keywords?|key ?words?|paraphrases?|variants?|neurons?|data ?points?|samples?|neighbou?rs?|counterfactuals?|edits?|alternatives?|misclassifi\w*|training|cases?|characteristics|terms?|results?|versions?|sentences?|texts?)"

METRICS = [
    (r"roc[ _-]?auc|\bauc\b|\broc\b|area under", "roc_auc"),
    (r"\bf1\b|f-score|f score|f-measure", "f1"),
    (r"precision", "precision"),
    (r"recall|sensitivity", "recall"),
    (r"accura|how (?:often|well) .*(?:right|correct)|performance|how good", "accuracy"),
]


def quoted_texts(question: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in QUOTED.finditer(question)]


def strip_quotes(question: str) -> str:
    """The question with quoted passages replaced by a placeholder (so they match no keyword)."""
    return QUOTED.sub(" QUOTED ", question)


def find_ids(text: str) -> list[int]:
    ids = [int(m.group(1) or m.group(2)) for m in ID_PATTERN.finditer(text)]
    ids += [int(m.group(1)) for m in HASH_ID.finditer(text)]
    if not ids:
        ids += [int(next(g for g in m.groups() if g)) for m in BARE_ID.finditer(text)]
    # "ids 3, 5 and 7"
    for m in re.finditer(rf"\b{_ID_WORDS}\s+((?:\d+\s*(?:,|and|&|or)\s*(?:{_ID_WORDS}\s*)?)+\d+)", text, re.I):
        ids += [int(x) for x in re.findall(r"\d+", m.group(1))]
    return list(dict.fromkeys(ids))


_LENGTH_FILTER = re.compile(r"\b(?:than|at least|at most|over|under|above|below|between|and|minimum of|maximum of|up to|no more than|or more|or fewer|or less)\s+\d+\s+(?:or (?:more|fewer|less) )?words?\b")


def find_k(text: str) -> int | None:
    t = _LENGTH_FILTER.sub(" ", text.lower())  # "longer than 10 words" is a filter, not k
    t = ID_PATTERN.sub(" ", t)  # nor is an id
    for pattern in (
        r"\btop[- ]?(\d+)\b",
        r"\b(\d+)\s+(?:most|best|least|top|highest|main|key|largest|biggest|strongest|more|other|closest|nearest|similar|different|random|influential|important|relevant|critical|significant|major|essential|dominant|prominent|comparable|analogous|new)\b",
        rf"\b(\d+)\s+{_K_NOUNS}\b",
        rf"\b(\d+)\s+[a-z]+\s+{_K_NOUNS}\b",  # "3 augmented versions"
        r"\b(?:first|show me|show|give me|list|display)\s+(\d+)\b(?!\s*(?:words?|[,.?!]|$))",
        r"\bk\s*=\s*(\d+)\b",
    ):
        m = re.search(pattern, t)
        if m:
            return int(m.group(1))
    for word, value in NUMBER_WORDS.items():
        if re.search(rf"\b(?:top )?{word}\s+(?:(?:most|best|similar|key|main|important|essential|influential|top|random|randomly chosen|new|other|frequent|common|used|popular|relevant|critical|significant|dominant|prominent|occurring)\s+)*{_K_NOUNS}\b", t):
            return value
    return None


SINGULAR_K = re.compile(
    r"\bthe (?:single )?(?:most|top|best|strongest|highest|closest)\s+(?:[a-z]+(?<!s)\s+){0,3}?(?:feature|token|word|training data instance|data instance|training instance|training example|instance|example)\b(?!s)"
    r"|\b(?:which|what) (?:feature|token|word) is (?:the )?most\b"
    r"|\b(?:which|what) (?:single )?(?:training )?(?:data ?point|instance|example|row|review|sample)\b(?!s).*\bthe most\b"
    r"|\b(?:an?|one)\s+(?:(?:similar|analogous|comparable|other|single|akin)\s+)?(?:instance|example|data ?point|sample|case)\b(?!s)"
    r"|(?:^|\bthe |\bwhat is the )(?:single )?(?:most \w+|primary|main|top|key|biggest|strongest|highest[- ]\w+)\s+(?:feature|token|word)\b(?!s| attribution| importance)",
    re.I,
)


def find_singular_k(text: str) -> int | None:
    """'the most important feature', 'an instance similar to ...': the user asked for one."""
    return 1 if SINGULAR_K.search(text) else None


def find_method(text: str) -> str | None:
    return catalog.find_method(text)


def find_metric(text: str) -> str | None:
    for pattern, name in METRICS:
        if re.search(pattern, text, re.I):
            return name
    return None


def find_metrics(text: str) -> list[str]:
    """Every metric named outright, in the order named ("the recall and the f1")."""
    found = []
    for pattern, name in METRICS[:4] + [(r"\baccuracy\b", "accuracy")]:
        m = re.search(pattern, text, re.I)
        if m:
            found.append((m.start(), name))
    return [name for _, name in sorted(found)]


def find_layers(text: str) -> list[int]:
    t = text.lower()
    m = re.search(r"\blayers?\s+(\d+)\s*(?:-|to|through|–)\s*(\d+)", t)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        return list(range(min(lo, hi), max(lo, hi) + 1))
    m = re.search(r"\blayers?\s+((?:\d+\s*(?:,|and|&)\s*)*\d+)", t)
    if m:
        return [int(x) for x in re.findall(r"\d+", m.group(1))]
    return []


def find_neuron(text: str) -> int | None:
    m = re.search(r"\b(?:neuron|unit)\s*#?\s*(\d+)", text, re.I)
    return int(m.group(1)) if m else None


def find_label(text: str, labels: list[str], patterns: tuple[str, ...]) -> str | None:
    for label in labels:
        for pattern in patterns:
            if re.search(pattern.format(label=re.escape(label)), text, re.I):
                return label
    return None


def find_where(text: str, labels: list[str], quoted: list[str] | None = None) -> dict[str, Any]:
    """The `where` filter a question describes (all keys optional, AND-combined)."""
    t = text.lower()
    where: dict[str, Any] = {}
    m = re.search(
        r"\b(?:mention(?:s|ing)?|contain(?:s|ing)?|includ(?:e|es|ing)|with the (?:word|phrase|term)s?|that say|that use|using the word|talk(?:s|ing)? about)\s+(?:the (?:word|phrase|term)s?\s+)?(quoted|[a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)",
        t,
    )
    if m and m.group(1) == "quoted" and quoted:
        where["includes"] = quoted[0]
    elif m and m.group(1) and m.group(1) != "quoted":
        phrase = re.sub(r"\s+(?:and|or|with|that|which|in|on|for|from|are|is|longer|shorter|than|have|has|do|does|get|got|by)\b.*$", "", m.group(1)).strip()
        if phrase:
            where["includes"] = phrase
    label = find_label(t, labels, (r"\b(?:labell?ed|gold(?: label)?|annotated|tagged|marked)(?: as)? {label}\b", r"\b(?:truly|actually|really) {label}\b", r"\bwith (?:the )?(?:gold )?label {label}\b"))
    if label:
        where["label"] = label
    pred = find_label(t, labels, (r"\bpredict(?:ed|s|ion is|ions of)?(?: to be| as)? {label}\b", r"\bclassified (?:as )?{label}\b", r"\bclassif(?:y|ies)(?: them| it)? as {label}\b", r"\bmodel (?:says|thinks|calls) {label}\b", r"\bcalled {label}\b"))
    if pred:
        where["prediction"] = pred
    elif not label:
        bare = find_label(t, labels, (r"\b{label} (?:reviews?|rows?|items?|examples?|instances?|ones|data ?points?|texts?|sentences?)\b", r"\b(?:reviews?|rows?|items?) (?:that are|which are) {label}\b"))
        if bare:
            where["label"] = bare
    m = re.search(r"\b(?:longer than|more than|over|above|greater than)\s+(\d+)\s+words?\b", t)
    if m:
        where["min_words"] = int(m.group(1)) + 1
    m = re.search(r"\b(?:at least|minimum of|(\d+) or more)\s*(\d+)?\s+words?\b", t)
    if m:
        where["min_words"] = int(m.group(2) or m.group(1))
    m = re.search(r"\b(?:shorter than|fewer than|less than|under|below)\s+(\d+)\s+words?\b", t)
    if m:
        where["max_words"] = int(m.group(1)) - 1
    m = re.search(r"\b(?:at most|no more than|maximum of|up to)\s+(\d+)\s+words?\b", t)
    if m:
        where["max_words"] = int(m.group(1))
    m = re.search(r"\bbetween\s+(\d+)\s+and\s+(\d+)\s+words\b", t)
    if m:
        where["min_words"], where["max_words"] = int(m.group(1)), int(m.group(2))
    if re.search(r"\b(?:correctly (?:classified|predicted|labell?ed)|the model gets? right|(?:predictions?|classifications?) (?:that are|which are) (?:right|correct))\b", t):
        where["correct"] = True
    elif re.search(r"\b(?:incorrectly (?:classified|predicted)|misclassified|wrongly (?:classified|predicted)|the model misclassif\w*|(?:the model|it) (?:gets?|got) (?:\w+ )?wrong)\b", t):
        where["correct"] = False
    return where
