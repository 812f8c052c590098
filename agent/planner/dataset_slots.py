"""Slots that depend on the loaded data and model: a categorical column's value ("film reviews" ->
`where.match {"domain": "film"}`), a comparison across a column ("film or restaurant?", "per
domain" -> `score.by`), and the layers and neurons that a plan must stay inside.

Why not in slots.py: those read only the question. These need what `planner_for` knows about the
dataset (its categorical columns) and the model (its shape, read without loading it).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

# everyday words for common category values; used only when the column really has the value
SYNONYMS: dict[str, tuple[str, ...]] = {
    "film": ("movie", "movies", "cinema", "films"),
    "movie": ("film", "films", "movies"),
    "restaurant": ("restaurants", "dining"),
    "product": ("products",),
    "service": ("services", "customer service", "customer support"),
}
ROW_NOUNS = (r"(?:reviews?|rows?|ones|examples?|texts?|items?|entries|records|data|samples?|tweets?|comments?"
             r"|posts?|sentences?|documents?|instances?|slices?|subsets?|segments?|portions?)")
PLACE = r"(?:on|in|for|of|among|within|from|only|just|about|to)"
COMPARE = r"(?:\bor\b|\bvs\.?|\bversus\b|\bcompared? (?:to|with)\b|\bthan\b|\bagainst\b|\band\b)"
ACROSS = r"(?:per|by|each|every|across|which|what|all|different|between|broken down by|split by|grouped by)"
MAX_VALUES = 30  # a column with more distinct values is free text, not a category


@dataclass
class DataFacts:
    """What the planner knows of the loaded data and model (all optional)."""

    categories: dict[str, list[str]] = field(default_factory=dict)  # column -> its values
    n_layers: int | None = None
    n_neurons: int | None = None

    @classmethod
    def of_dataset(cls, dataset: Any, n_layers: int | None = None, n_neurons: int | None = None) -> "DataFacts":
        values: dict[str, set[str]] = {}
        for row in dataset.rows:
            for column, value in (row.extra or {}).items():
                if isinstance(value, str) and 0 < len(value) <= 40 and len(value.split()) <= 3:
                    values.setdefault(column, set()).add(value)
        categories = {c: sorted(v) for c, v in values.items() if 2 <= len(v) <= MAX_VALUES}
        return cls(categories, n_layers, n_neurons)


def fix_category_typos(text: str, facts: DataFacts | None, known: set[str], labels: list[str] | None = None) -> str:
    """'acuracy on flim reviews' -> 'film', 'the negtive ones' -> 'negative': a word that is no English
    word (or is the value's letters swapped) and is one edit from a category value or a label is that
    value. Runs before the general speller, which does not know the data's values and would make
    'flim' 'flip'."""
    values = {form: value for values in (facts.categories.values() if facts else ()) for value in values
              for form in (value.lower(), value.lower() + "s")}
    values.update({form: label for label in labels or [] for form in (label.lower(), label.lower() + "s")})
    if not values:
        return text
    text = _label_abbreviations(text, labels or [])

    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower()
        if low in values or len(low) < 4:
            return word
        for form in values:
            swapped = sorted(low) == sorted(form) and len(low) == len(form)
            close = low not in known and difflib.SequenceMatcher(None, low, form).ratio() >= 0.8
            if swapped or close:
                return form
        return word

    return re.sub(r"(?<!['\"])\b[A-Za-z]+\b", repl, text)


def _label_abbreviations(text: str, labels: list[str]) -> str:
    """'set 14 and 15 to neg', 'cf for 12 -> pos': a label's first three letters, when no other label
    starts so, are that label (outside quoted texts; 'pos 2' with a number after it stays a position)."""
    from agent.planner.slots import outside_quotes

    prefixes = {label.lower()[:3]: label for label in labels if len(label) > 3}
    prefixes = {p: label for p, label in prefixes.items() if sum(x.lower().startswith(p) for x in labels) == 1}
    if not prefixes:
        return text
    pattern = re.compile(rf"(?<![\w'\"])({'|'.join(map(re.escape, prefixes))})(s)?\b(?!\s*\d)(?!')", re.I)

    return outside_quotes(text, lambda part: pattern.sub(lambda m: prefixes[m.group(1).lower()] + (m.group(2) or ""),
                                                         part))


def _alternatives(value: str) -> list[str]:
    low = value.lower()
    forms = {low, low + "s", low + "es", *SYNONYMS.get(low, ())}
    return sorted(forms, key=len, reverse=True)  # "customer service" before "service"


def _mentions(text: str, value: str, column: str) -> int | None:
    """Where `value` of `column` is named as a selection ("film reviews", "on the film ones",
    "the film domain"), or None. A bare word elsewhere ("the service was slow") does not count."""
    words = "|".join(re.escape(a) for a in _alternatives(value))
    patterns = (
        rf"\b(?:{words})\b(?=\s+(?:\w+\s+)?{ROW_NOUNS}\b)",
        rf"\b{PLACE}\s+(?:the\s+)?(?:{words})\b",
        rf"\b(?:{words})\s+(?:{re.escape(column)}|category|domain|type|genre)\b",
        rf"\b{re.escape(column)}\s*(?:is|=+|:|equals?|of)\s*['\"]?(?:{words})\b",  # "data where domain is film"
        rf"\b(?:{words})\b(?=\s*{COMPARE})",
        rf"{COMPARE}\s*(?:the\s+)?(?:{words})\b",
        # terse: "keywords, film", "global importance, lime, film", "accuracy: restaurant only", "film only",
        # "errors sample k=5 service" (a value as the last word of a short request)
        rf"\w\s*[,:;-]\s*(?:the\s+|only\s+)?(?:{words})(?:\s+only)?\W*$",
        rf"^\W*(?:[\w=]+\s+){{1,4}}(?<!the )(?<!a )(?<!was )(?<!is )(?:{words})\W*$",
        rf"\b(?:{words})\s+only\W*$",
    )
    for pattern in patterns:
        m = re.search(pattern, text, re.I)
        if m:
            return m.start()
    return None


def find_match(text: str, facts: DataFacts | None) -> dict[str, str]:
    """`where.match` for the one value of a column the question selects (none when it names two:
    that is a comparison, `find_by`)."""
    out: dict[str, str] = {}
    for column, values in (facts.categories if facts else {}).items():
        named = [v for v in values if _mentions(text, v, column) is not None]
        if len(named) == 1:
            out[column] = named[0]
    return out


def find_by(text: str, facts: DataFacts | None) -> str | None:
    """The column a question compares across: "per domain", "which domain is worst", "every
    domain side by side", or two of its values ("better on film reviews or restaurant reviews?");
    "label" for the gold labels ("per label", "gold positive vs gold negative reviews")."""
    if re.search(r"\b(?:per|by|for each|across|each) (?:gold |true )?(?:labels?|class(?:es)?)\b"
                 r"|\b(?:gold|truly|actually) (\w+) (?:vs\.?|versus|or|and|compared to) (?:gold |truly |actually )?"
                 r"(?!\1\b)\w+ (?:reviews|rows|ones|examples)\b"
                 # "better on the gold positives or the gold negatives"
                 r"|\b(?:gold|true) (\w+?)s? (?:vs\.?|versus|or|and|compared to) (?:the )?(?:gold |true )"
                 r"(?!\2s?\b)\w+\b"
                 # "is it better at spotting positive reviews or negative ones?"
                 r"|\b(?:better|worse) at (?:\w+ )?(?:the )?(\w+) (?:reviews |ones )?or (?:the )?(?!\3\b)\w+ "
                 r"(?:reviews|ones)\b",
                 text, re.I):
        return "label"
    for column, values in (facts.categories if facts else {}).items():
        name = re.escape(column.replace("_", " "))
        if re.search(rf"\b{ACROSS}\s+(?:(?:the|of the|of|\w+)\s+)?{name}s?\b|\b{name}[- ]wise\b"
                     rf"|\b{name}s?\s+side by side\b|\bcompare (?:the )?{name}s\b", text, re.I):
            return column
        named = [v for v in values if _mentions(text, v, column) is not None]
        if len(named) >= 2 and re.search(COMPARE, text, re.I):
            return column
    return None


def compared_selections(text: str, facts: DataFacts | None, labels: list[str]) -> list[dict[str, Any]]:
    """The two selections a question compares, in the order named: "frequent words in positive vs
    negative reviews" (two labels), "the label balance of film reviews compared with restaurant
    reviews" (two values of one column). Empty when it names no such pair."""
    if not (re.search(COMPARE, text, re.I) or re.search(r"\bcompar\w*\b.*\bwith\b", text, re.I)):
        return []
    # the columns before the labels: "how do positives and negatives balance out in film compared with
    # product" compares two domains, not the two labels
    for column, values in (facts.categories if facts else {}).items():
        found = sorted((at, {"match": {column: value}}) for value in values
                       if (at := _mentions(text, value, column)) is not None)
        if len(found) == 2:
            return [where for _, where in found]
    from agent.planner.slots import find_where

    named = sorted((m.start(), {"label": label}) for label in labels
                   if (m := re.search(rf"\b{re.escape(label)}s?\b", text, re.I)))
    if len(named) == 2 and not {"label", "prediction"} <= set(find_where(text, labels)):
        # "labelled negative and predicted positive" is one selection of both, not two compared
        return [where for _, where in named]
    return []


# words that describe rows without naming a category value ("the short reviews", "the misclassified ones")
_NOT_A_VALUE = {
    "short", "shorter", "shortest", "long", "longer", "longest", "all", "these", "those", "other", "same", "first",
    "last", "misclassified", "wrong", "correct", "incorrect", "mislabelled", "mislabeled", "remaining", "english",
    "good", "bad", "original", "edited", "different", "similar", "top", "random", "new", "old", "most", "least",
    "following", "previous", "whole", "entire", "test", "training", "gold", "my", "our", "your", "its", "their",
    "which", "what", "some", "many", "few", "more", "several", "both", "each", "every", "any", "such", "real",
    "actual", "labelled", "labeled", "predicted", "true", "false", "mixed", "hard", "easy", "difficult", "negative",
    "positive", "individual", "recent", "latest", "given", "selected", "example", "sample", "customer", "user",
    "the", "a", "an", "two", "three", "four", "five", "ten", "that", "this", "one", "it", "them", "which", "whose",
}


def unknown_value(text: str, facts: DataFacts | None, labels: list[str]) -> tuple[str, str] | None:
    """(column, word) when the question selects "<word> reviews" and no column has that value:
    "accuracy on the sports reviews" must not quietly become the accuracy on all rows."""
    if not facts or not facts.categories:
        return None
    known = {a for values in facts.categories.values() for v in values for a in _alternatives(v)}
    known |= {label.lower() for label in labels} | _NOT_A_VALUE
    plural = (r"(?:reviews|rows|ones|examples|texts|items|entries|records|samples|tweets|comments|posts|documents"
              r"|slices?|subsets?|segments?)")
    for m in re.finditer(rf"\b(?:on|in|for|of|among|only|just|the)\s+(?:the\s+)?([a-z]+)\s+{plural}\b", text, re.I):
        word = m.group(1).lower()
        if word not in known and not word.isdigit() and not word.endswith("ed"):  # "the flagged rows" is no value
            return next(iter(facts.categories)), word
    return None


_SMALL = {"two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
          "ten": "10"}


def named_layer(text: str, n_layers: int | None) -> str:
    """'the last layer' -> 'layer 29' on a 30-layer model, 'the first layer' -> 'layer 0', 'the
    first 5 layers' -> 'layers 0 to 4', 'the last 3 layers' -> 'layers 27 to 29'."""
    if n_layers:
        def last_n(m: re.Match[str]) -> str:  # "the last 3 layers" -> "layers 27 to 29"
            n = min(int(_SMALL.get(m.group(1).lower(), m.group(1))), n_layers)
            return f"layers {n_layers - n} to {n_layers - 1}"

        text = re.sub(r"\b(?:the\s+|its\s+|their\s+)?(?:last|final|top)\s+(\d+)\s+layers\b", last_n, text, flags=re.I)
        if re.search(r"\blayers\b", text, re.I):  # "which layers explain the gap ...? only the last three"
            text = re.sub(rf"\b(?:only |just )?the (?:last|final|top) (\d+|{'|'.join(_SMALL)})(?= *(?:ones?)?\W*$)",
                          last_n, text, flags=re.I)
        text = re.sub(r"\b(?:the\s+)?(?:penultimate|(?:second|next)[- ](?:to[- ])?last|last but one)\s+layer\b",
                      f"layer {max(n_layers - 2, 0)}", text, flags=re.I)  # "the penultimate layer"
        text = re.sub(r"\b(?:the\s+)?(?:last|final|top|output)\s+layer\b", f"layer {n_layers - 1}", text, flags=re.I)
    text = re.sub(r"\b(?:the\s+)?(?:first|bottom|lowest)\s+(\d+)\s+layers\b",
                  lambda m: f"layers 0 to {max(int(m.group(1)) - 1, 0)}", text, flags=re.I)
    return re.sub(r"\b(?:the\s+)?(?:first|bottom|input)\s+layer\b", "layer 0", text, flags=re.I)


def out_of_range(args: dict[str, Any], facts: DataFacts | None) -> str | None:
    """Why a call cannot be honoured as asked (a layer or neuron the model does not have), or None.

    Row ids are not checked here: the planner must plan "review 1200" the same way for any data
    (CoXQL's questions name ids of their own datasets), and running it says the id is unknown and
    which ids exist (tools/common.resolve_instance)."""
    if facts is None:
        return None
    layers = [args["layer"]] if isinstance(args.get("layer"), int) else []
    layers += [x for x in args.get("layers") or [] if isinstance(x, int)]
    if facts.n_layers is not None and any(not 0 <= x < facts.n_layers for x in layers):
        bad = next(x for x in layers if not 0 <= x < facts.n_layers)
        return (f"The model has {facts.n_layers} layers, numbered 0 to {facts.n_layers - 1}; there is no "
                f"layer {bad}. Which layer do you mean?")
    neuron = args.get("neuron")
    if facts.n_neurons is not None and isinstance(neuron, int) and not 0 <= neuron < facts.n_neurons:
        return (f"Each layer has {facts.n_neurons} MLP neurons, numbered 0 to {facts.n_neurons - 1}; there is "
                f"no neuron {neuron}. Which neuron do you mean?")
    return None


_IS = r"(?:\s+is|\s+equals|\s*=+|\s*:)?\s+"
_OPERATIONS = (r"show|count|explain|predict|score|list|display|describe|give|tell|what|how|compute|find|summari[sz]e"
               r"|keywords|accuracy|likelihood|label")


def plain_filters(text: str, labels: list[str]) -> str:
    """TalkToModel's filter phrasing as plain words: "filter prediction positive and label negative and
    show data" -> "show data predicted positive and labelled negative"; "where label is negative" ->
    "where labelled negative" (the words `label` and `prediction` would otherwise read as requests)."""
    if not labels:
        return text
    names = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    text = re.sub(rf"\b(?:the\s+)?(?:model'?s\s+)?prediction{_IS}({names})\b", r"predicted \1", text, flags=re.I)
    text = re.sub(rf"\b(where|filter|with|and|by)\s+(?:the\s+)?(?:gold\s+|true\s+)?label{_IS}({names})\b",
                  r"\1 labelled \2", text, flags=re.I)
    text = re.sub(rf"\bfor predicting ({names})\b", r"towards \1", text, flags=re.I)  # "features ... for
    # predicting negative"
    # Captum's "target=positive", "with target negative": the class the attribution is for
    text = re.sub(rf"\b(?:with\s+)?(?:the\s+)?target(?:\s+class)?(?:\s*=+|\s*:|\s+is|\s+of)?\s*({names})\b",
                  r"towards \1", text, flags=re.I)
    m = re.match(rf"\W*filter\s+(?:by\s+|on\s+|for\s+)?(.+?)\s+and\s+((?:{_OPERATIONS})\b.*)$", text, re.I)
    if m and not re.search(rf"\b(?:{_OPERATIONS})\b", m.group(1), re.I):
        return f"{m.group(2)} {m.group(1)}"
    return text
