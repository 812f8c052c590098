"""Slot extraction for the offline planner: ids, quoted text, k, methods, metrics, filters, layers.

Pure functions over the question text, each small and separately tested.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from agent.planner.normalise import counts_in_words
from tools.attribution import catalog

_ID_WORDS = (
    r"(?:id'?s?"
    r"|items?"
    r"|instances?"
    r"|reviews?"
    r"|rows?"
    r"|examples?"
    r"|samples?"
    r"|data ?points?"
    r"|datapoints?"
    r"|data"
    r"|entry"
    r"|entries"
    r"|records?"
    r"|sentences?"
    r"|texts?)"
)
ID_PATTERN = re.compile(
    # "review 12", "row #12", "item number 12", "the example with id 12" (not "12 words")
    rf"\b{_ID_WORDS}\s*(?:#|no\.?|number|with (?:an? )?id(?: of)?|with|id)?\s*(\d+)\b"
        r"(?!\s*(?:words?|tokens?|characters?|%))"
    # "id = 12", "ids of 12"
    r"|\bids?\s*(?:\s+of|=|:)\s*(\d+)\b",
    re.I,
)
HASH_ID = re.compile(r"#\s*(\d+)\b")
# "For 3315, why ...", "predict 320": a bare number where an instance is expected.
BARE_ID = re.compile(
    # "predict 320" (not "show 5 words", "explain 3 features")
    r"(?:^|[,;.?!]\s*)(?:for|predict|pred|show(?: me(?=\s+\d{1,7}\s*(?:,|and|&)))?|explain|classify|paraphrase"
    r"|augment|rewrite|reword|rationali[sz]e|fool)"
    r"\s+(\d{1,7})\b"
        r"(?!\s*(?:words?|features?|tokens?|most|top|neurons?|layers?|%|percent|more|similar|examples?|reviews?|rows?"
        r"|times|ways|versions?"
        # "show 2 negative film reviews"
        r"|(?:[a-z-]+\s+){1,2}(?:reviews?|rows?|ones|examples?|samples?|items?|texts?)\b"
        r"|of|ones?|others?|random|neighbou?rs?|paraphrases?|variants?|counterfactuals?|mistakes?|errors?|keywords?"
        r"|samples?|instances?|items?|data|closest|nearest|influential|important))"
    # "3315: why ..."
    r"|^(\d{1,7})\s*[:,]"
    # "... for 3315?"
    r"|\bfor\s+(\d{1,7})\s*(?:please|pls|too|then|instead|as well)?\s*[.?!,]?\s*$"
    # "what does it predict for 142 now and why", "what does it say about 88"
    r"|\b(?:predicts?|predicted|predicting|predictions?|say|says|think|thinks|make of)\s+(?:for|about|on|of)"
        r"\s+(\d{1,7})\b"
        r"(?!\s*(?:words?|tokens?|%|percent|layers?|neurons?|reviews?|rows?))",
    re.I,
)
QUOTED = re.compile(
    r"\"([^\"]+)\""
    r"|“([^”]+)”"
    # single quotes; an apostrophe between letters inside ('I didn't like it') belongs to the text
    r"|(?<![a-z])'((?:[^']|(?<=[a-z])'(?=[a-z]))+)'(?![a-z])"
    r"|‘([^’]+)’",
    re.I,
)
NUMBER_WORDS = {
    "a few": 3, "a couple of": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}
_K_NOUNS = (
    r"(?:mistakes"
    r"|rewrites"
    r"|errors"
    r"|examples?"
    r"|reviews?"
    r"|rows?"
    r"|items?"
    r"|instances?"
    r"|words?"
    r"|tokens?"
    r"|features?"
    r"|keywords?"
    r"|key ?words?"
    r"|paraphrases?"
    r"|variants?"
    r"|neurons?"
    r"|data ?points?"
    r"|samples?"
    r"|neighbou?rs?"
    r"|counterfactuals?"
    r"|edits?"
    r"|alternatives?"
    r"|options?"
    r"|ways?"
    r"|misclassifi\w*"
    r"|training"
    r"|cases?"
    r"|characteristics"
    r"|terms?"
    r"|results?"
    r"|versions?"
    r"|sentences?"
    r"|texts?)"
)

METRICS = [
    (r"roc[ _-]?auc|\bauc\b|\broc\b|area under", "roc_auc"),
    (r"\bf1\b|f-score|f score|f-measure", "f1"),
    (r"precision", "precision"),
    (r"recall|sensitivity", "recall"),
    (r"accura|how (?:often|frequently|well) .*(?:right|correct)|performance", "accuracy"),
]


def quoted_texts(question: str) -> list[str]:
    return [next(g for g in m.groups() if g) for m in QUOTED.finditer(question)]


def outside_quotes(text: str, change: Callable[[str], str]) -> str:
    """`change` applied to the parts of `text` between quoted passages; the user's quoted text is kept."""
    out, at = [], 0
    for m in QUOTED.finditer(text):
        out += [change(text[at:m.start()]), m.group(0)]
        at = m.end()
    return "".join([*out, change(text[at:])])


def strip_quotes(question: str) -> str:
    """The question with quoted passages replaced by a placeholder (so they match no keyword)."""
    return QUOTED.sub(" QUOTED ", question)


def find_ids(text: str) -> list[int]:
    ids = [int(m.group(1) or m.group(2)) for m in ID_PATTERN.finditer(text)]
    ids += [int(m.group(1)) for m in HASH_ID.finditer(text)]
    if not ids:
        for m in BARE_ID.finditer(text):
            ids.append(int(next(g for g in m.groups() if g)))
            # "predict 14 and 15", "explain 3, 4 and 9": the rest of the list
            listed = re.match(r"(?:\s*(?:,|and|&)\s*#?\d{1,7}\b(?!\s*(?:words?|tokens?|%|more|most|top)))+",
                              text[m.end():], re.I)
            ids += [int(x) for x in re.findall(r"\d+", listed.group(0))] if listed else []
    if not ids:
        ids += [int(m.group(1)) for m in re.finditer(r"^\W*why\s+(?:is\s+|was\s+|did\s+)?#?(\d+)\b", text, re.I)]
    if not ids:  # "logit lens on 14 ...", "reports for 5 and 6", "counterfactuals for 8, 9"
        for m in re.finditer(r"\b(?:logit lens|lens|attributions?|explanations?|rationales?|reports?|predictions?"
                             r"|counterfactuals?|paraphrases?|top neurons)\s+(?:on|for|of)\s+"
                             r"(#?\d{1,7}(?:\s*(?:,|and|&|,\s*and)\s*#?\d{1,7})*)\b"
                             r"(?!\s*(?:words?|tokens?|layers?|%|percent|neurons?|reviews|rows|examples|of|more|most))",
                             text, re.I):
            ids += [int(x) for x in re.findall(r"\d+", m.group(1))]
    if not ids:  # "what's pushing 77 towards positive"
        ids += [int(m.group(1)) for m in re.finditer(
            r"\b(?:pushing|pulling|driving|nudging|pushes|pulls|drives|nudges)\s+#?(\d{1,7})\s+(?:towards?|to|into)\b",
            text, re.I)]
    if not ids:  # "similar reviews to 44", "the closest review to 58", "nearest ones to #7"
        ids += [int(m.group(1)) for m in re.finditer(
            r"(?:\b(?:similar|closest|nearest|close|most like)\s+(?:[a-z]+\s+){0,2}to"
            r"|\b(?:reviews?|rows?|ones|texts?|examples?)\s+(?:that\s+)?(?:just\s+|look\s+|looks\s+)?like"
            r"(?:\s+(?:number|no\.?|review|row))?)\s+#?(\d{1,7})\b"
            r"(?!\s*(?:words?|tokens?|%))", text, re.I)]
    # "ids 3, 5 and 7"
    for m in re.finditer(rf"\b{_ID_WORDS}\s+((?:\d+\s*(?:,|and|&|or)\s*(?:{_ID_WORDS}\s*)?)+\d+)", text, re.I):
        ids += [int(x) for x in re.findall(r"\d+", m.group(1))]
    return list(dict.fromkeys(ids))


_LENGTH_FILTER = re.compile(
    r"\b(?:than"
    r"|at least"
    r"|at most"
    r"|over"
    r"|under"
    r"|above"
    r"|below"
    r"|between"
    r"|and"
    r"|minimum of"
    r"|maximum of"
    r"|up to"
    r"|no more than"
    r"|or more"
    r"|or fewer"
    r"|or less)"
    r"\s+\d+\s+(?:or (?:more|fewer|less) )?words?\b",
)


def find_k(text: str) -> int | None:
    t = _LENGTH_FILTER.sub(" ", counts_in_words(text).lower())  # "longer than 10 words" is a filter, not k
    t = ID_PATTERN.sub(" ", t)  # nor is an id
    t = re.sub(r"\blayers?\s+\d+(?:\s*(?:-|to|through|,|and)\s*\d+)*", " ", t)  # nor a layer ("layer 5 top neurons")
    for pattern in (
        r"\btop[- ]?(\d+)\b",
        # "5 most ...", "3 similar ..."
        r"\b(\d+)\s+(?:most"
        r"|best"
        r"|least"
        r"|top"
        r"|highest"
        r"|main"
        r"|key"
        r"|largest"
        r"|biggest"
        r"|strongest"
        r"|more"
        r"|other"
        r"|closest"
        r"|nearest"
        r"|similar"
        r"|different"
        r"|random"
        r"|influential"
        r"|important"
        r"|relevant"
        r"|critical"
        r"|significant"
        r"|major"
        r"|essential"
        r"|dominant"
        r"|prominent"
        r"|comparable"
        r"|analogous"
        r"|new)\b",
        rf"\b(\d+)\s+{_K_NOUNS}\b",
        rf"\b(\d+)\s+[a-z]+\s+{_K_NOUNS}\b",  # "3 augmented versions"
        r"\b(?:first|show me|show|give me|list|display)\s+(\d+)\b(?!\s*(?:words?|[,.?!]|$|(?:and|or|&)\s+\d))",
        r"\bk\s*[=:]?\s*(\d+)\b",
        r"\b(?:a |random )?(?:sample|batch|handful|set|selection) of (\d+)\b(?!\s*(?:words?|%))",  # "a sample of 4"
        r"\b(\d+)\s+(?:each|apiece|per (?:group|side|label|class))\b",  # "positive vs negative reviews, 5 each"
        r"\b(\d+)\s+times\b",  # "paraphrase it 4 times"
        # "..., give me five", "five would be plenty", "6 of them" at the end of a request
        r"(?:^|[,;.?!]\s*)(?:and\s+)?(?:give me|show me|just|only)?\s*(\d+)\s+"
        r"(?:of them|would be|will do|is enough|please)\b",
        r"[,;]\s*(?:give me|gimme|show me|just|only)\s+(\d+)\s*(?:please|pls|plz)?\s*[.?!]?\s*$",
    ):
        m = re.search(pattern, t)
        if m:
            return int(m.group(1))
    for word, value in NUMBER_WORDS.items():
        if re.search(
            # "a few words", "three most common keywords" (not "the client forwarded one review": that is the row)
            rf"(?<!forwarded )(?<!sent )(?<!received )(?<!got )(?<!have )(?<!has )(?<!had )(?<!found )"
            rf"\b(?:top )?{word}\s+"
            r"(?:(?:most"
            r"|best"
            r"|similar"
            r"|key"
            r"|main"
            r"|important"
            r"|essential"
            r"|influential"
            r"|top"
            r"|random"
            r"|randomly chosen"
            r"|new"
            r"|other"
            r"|frequent"
            r"|common"
            r"|used"
            r"|popular"
            r"|relevant"
            r"|critical"
            r"|significant"
            r"|dominant"
            r"|prominent"
            r"|occurring)\s+)*"
            rf"{_K_NOUNS}\b",
            t,
        ):
            return value
    m = re.search(rf"\b(a few|a couple of)\s+(?:[a-z]+\s+){{0,2}}{_K_NOUNS}\b", t)  # "a few negative film reviews"
    m = m or re.search(r"\b(a few|a couple of) more\b", t)  # "make me a few more like '...'"
    # "show me a few"
    m = m or re.search(r"\b(?:show|give|list|display|find|pick|get)(?: me| us)?\s+(a few|a couple(?: of)?)"
                       r"(?: of them| more)?(?:\W+(?:please|pls))?\W*$", t)
    return NUMBER_WORDS[m.group(1) if m.group(1) != "a couple" else "a couple of"] if m else None


SINGULAR_K = re.compile(
    # "the most important feature", "the top training example"
    r"\bthe (?:single )?(?:most|top|best|strongest|highest|closest)\s+(?:[a-z]+(?<!s)\s+){0,3}?"
        r"(?:feature|token|word|training data instance|data instance|training instance|training example|instance"
        r"|example)\b(?!s)"
    # "which word is the most ...", "which training example ... the most"
    r"|\b(?:which|what) (?:feature|token|word) is (?:the )?most\b"
    r"|\b(?:which|what) (?:single )?(?:training )?(?:data ?point|point|instance|example|row|review|sample)\b"
        r"(?!s).*\bthe most\b"
    # "which review is most similar to ...", "the most influential training point"
    r"|\b(?:which|what) (?:single )?(?:review|row|example|instance|sample|text|one) is (?:the )?"
        r"(?:most|closest|nearest)\b"
    r"|(?:\bthe |^\W*)(?:single )?most (?:similar|influential|important) (?:training )?(?:data ?)?"
        r"(?:point|review|row|text|sample|example)\b(?!s)"
    # "the closest review to 58", "the nearest one"
    r"|(?:\bthe |^\W*)(?:single )?(?:closest|nearest|most similar) (?:review|row|text|example|one|instance)\b(?!s)"
    # "an instance similar to ...", "one other example"
    r"|\b(?:an?|one)\s+(?:(?:similar|analogous|comparable|other|single|akin)\s+)?"
        r"(?:instance|example|data ?point|sample|case)\b(?!s)"
    # "the main feature", "what is the single most important word"
    r"|(?:^|\bthe |\bwhat is the )(?:single )?(?:most \w+|primary|main|top|key|biggest|strongest|highest[- ]\w+)\s+"
        r"(?:feature|token|word)\b(?!s| attribution| importance)",
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


MAX_LAYER_SPAN = 1024  # more blocks than any model has: a longer span is cut, its end kept


def find_layers(text: str) -> list[int]:
    t = text.lower()
    m = re.search(r"\blayers?\s+(\d+)\s*(?:-|to|through|thru|till|until|up to|–)\s*(\d+)", t)
    if m:
        lo, hi = sorted((int(m.group(1)), int(m.group(2))))
        if hi - lo >= MAX_LAYER_SPAN:  # "layers 0 to 100000000": no model has that many; keep the end so
            return [*range(lo, lo + MAX_LAYER_SPAN - 1), hi]  # the range check can name it, in bounded memory
        return list(range(lo, hi + 1))
    m = re.search(r"\blayers?\s+((?:\d+\s*(?:,|and|&)\s*)*\d+)", t)
    if m:
        found = [int(x) for x in re.findall(r"\d+", m.group(1))]
        more = [int(x) for x in re.findall(r"\b(?:and|,|&)\s+(?:the\s+)?layer\s+(\d+)\b", t[m.end():])]
        return found + [x for x in more if x not in found]  # "the first layer and the last layer" -> 0, 29
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
        r"\b(?:mention(?:s|ing)?"
        r"|contain(?:s|ing)?"
        r"|includ(?:e|es|ing)"
        r"|with the (?:word|phrase|term)s?"
        r"|(?:have|has|having) the (?:word|phrase|term)s?"
        r"|that say"
        r"|that use"
        r"|(?:reviews?|rows?|texts?|ones) with(?=\s+quoted)"  # "count reviews with 'refund'"
        r"|using the word"
        r"|talk(?:s|ing)? about)"
        # the phrase: one or two words, or the placeholder of a quoted text
        r"\s+(?:(?:the |a )?(?:word|phrase|term)s?\s+)?(quoted|[a-z][\w'-]*(?:\s+[a-z][\w'-]*)?)",
        t,
    )
    if m and m.group(1) == "quoted" and quoted:
        where["includes"] = quoted[0]
    elif m and m.group(1) and m.group(1) != "quoted":
        phrase = re.sub(
            r"\s+(?:and|or|with|that|which|in|on|for|from|are|is|longer|shorter|than|have|has|do|does|get|got|by)\b.*$",
            "",
            m.group(1),
        ).strip()
        if phrase:
            where["includes"] = phrase
    label = find_label(t, labels, (
        r"\b(?:labell?ed|gold(?: label)?|annotated|tagged|marked)(?: as)? {label}\b",
        r"\b(?:truly|actually|really) {label}\b",
        r"\bwith (?:the )?(?:gold )?label {label}\b",
        r"\b{label}[- ]labell?ed\b",  # "4 positive-labelled reviews"
        r"\b(?:where |filter )(?:the )?(?:gold )?label (?:is |equals |=+ ?|: ?)?{label}\b",  # TalkToModel's words
        r"\b(?:and|with|where) (?:the )?(?:gold )?label (?:is |equals |=+ ?|: ?){label}\b",
    ))
    if label:
        where["label"] = label
    pred = find_label(t, labels, (
        r"\bpredict(?:ed|s|ion is|ions of)?(?: to be| as)? {label}\b",
        r"\bprediction (?:equals |=+ ?|: ?)?{label}\b",  # "filter prediction positive"
        r"\bclassified (?:as )?{label}\b",
        r"\bclassif(?:y|ies)(?: them| it)? as {label}\b",
        r"\bmodel (?:says|thinks|calls) {label}\b",
        # "how many reviews does the model think are negative"
        r"\b(?:the model|it) (?:thinks?|says?|considers?|reckons?|calls?) (?:\w+ ){{0,2}}(?:are|is) {label}\b",
        r"\bcalled {label}\b",
    ))
    if pred:
        where["prediction"] = pred
    elif not label:
        bare = find_label(t, labels, (
            # "the negative customer service reviews", not "negative across all reviews"
            r"\b{label} (?:(?!(?:across|in|on|of|for|all|the|to|from|over|with|among|and|or|vs|than)\b)\w+ ){{0,2}}"
            r"(?:reviews?|rows?|items?|examples?|instances?|ones|data ?points?|texts?|sentences?)\b",
            r"\b(?:reviews?|rows?|items?) (?:that are|which are) {label}\b",
            r"\b(?:and|that|which) (?:are|is|were) (?:also )?{label}\b",  # "containing 'price' and are negative"
            # "and of those how many are negative"
            r"\bhow many(?: of (?:them|those|these))?(?: \w+)? (?:are|were|is) {label}\b",
        ))
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
    if re.search(
        r"\b(?:correctly (?:classified|predicted|labell?ed)"
        r"|the model gets? right"
        r"|(?:predictions?|classifications?) (?:that are|which are) (?:right|correct))\b",
        t,
    ):
        where["correct"] = True
    elif re.search(
        r"\b(?:incorrectly (?:classified|predicted)"
        r"|misclassified"
        r"|wrongly (?:classified|predicted)"
        r"|the model misclassif\w*"
        r"|(?:the model|it) (?:gets?|got) (?:\w+ )?wrong)\b",
        t,
    ):
        where["correct"] = False
    return where
