"""How people type, made plain before planning: numbers in words after a row, layer or neuron noun
("review forty two" -> "review 42"), chat shorthand ("acc?" -> "accuracy?", "u" -> "you"), and a
question in another language, which is said rather than guessed at (the rules read English)."""
from __future__ import annotations

import re
from functools import lru_cache

_UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_WORD = "|".join([*_UNITS, *_TENS, "hundred", "thousand"])
_NUMBER = rf"(?:{_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_WORD}))*"
_NOUN = r"(?:reviews?|rows?|items?|ids?|examples?|samples?|neurons?|layers?|units?|instances?|data ?points?|number)"
NUMBER_AFTER_NOUN = re.compile(rf"\b({_NOUN})\s+({_NUMBER})\b", re.I)
NUMBER_BEFORE_UNIT = re.compile(rf"\b((?!one\b){_NUMBER})(\s+(?:words?|tokens?|characters?)\b)", re.I)
RANGE_END = re.compile(rf"(\b\d+\s*(?:to|through|-|–)\s*)({_NUMBER})\b", re.I)
_ANY_NUMBER = re.compile(rf"\b{_NUMBER}\b", re.I)
FIRST_LAST_N = re.compile(rf"\b(first|last|final|top|bottom)\s+({_NUMBER})\s+(layers)\b", re.I)
# chat shorthand -> the word (whole words, outside quoted texts); a tool's own abbreviations ("cf", "kw") are in its
# module (`Tool.shorthand`)
SHORTHAND = {"acc": "accuracy", "u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thanks",
             "diff": "difference", "w/": "with", "b/c": "because", "bc": "because", "idk": "I don't know",
             "gimme": "give me", "wanna": "want to", "gonna": "going to", "wat": "what", "wut": "what",
             "mny": "many", "r": "are",
             # a student's abbreviations of the tools' words ("cf 88", "kw top 15", "conf mat pls", "nn of 99")
             "conf mat": "confusion matrix", "confusion mat": "confusion matrix", "conf matrix": "confusion matrix",
             "confmat": "confusion matrix",
             "errs": "errors", "err": "error", "nn": "nearest neighbours", "prec": "precision",
             "gxi": "gradient x input", "ig": "integrated gradients", "imp": "importance", "attr": "attribution",
             "attrs": "attributions", "em": "them",
             "dist": "distribution", "distr": "distribution", "str": "strength", "auroc": "roc auc",
             "pts": "points", "expl": "explanation", "w.r.t.": "towards", "wrt": "towards", "w.r.t": "towards"}


@lru_cache(maxsize=1)
def _shorthand() -> tuple[dict[str, str], re.Pattern[str]]:
    """The chat shorthand above and each tool's own abbreviations (`Tool.shorthand`: "cf", "kw")."""
    from tools.registry import all_tools

    table = dict(SHORTHAND)
    for tool in all_tools().values():
        table.update({k.lower(): v for k, v in tool.shorthand.items()})
    words = "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    return table, re.compile(r"(?<![\w'\"])(" + words + r")(?![\w'\"])", re.I)
# "l0-l4" -> "layers 0 to 4", "L22 n1023" -> "layer 22 neuron 1023", "# errors" -> "number of errors",
# "x3" -> "3 times"
_COMPACT = (
    (re.compile(r"\bl(\d{1,3})\s*(?:-|to)\s*l?(\d{1,3})\b", re.I), r"layers \1 to \2"),
    (re.compile(r"\bl(\d{1,3})\b", re.I), r"layer \1"),
    (re.compile(r"\bn(\d{1,5})\b", re.I), r"neuron \1"),
    (re.compile(r"(?<![\w#])#\s*(?=[a-z])", re.I), "number of "),
    (re.compile(r"(?<![\w-])x\s?(\d{1,3})\b", re.I), r"\1 times"),
    (re.compile(r"\s*->\s*"), " to "),
    (re.compile(r"\s+\+\s+"), " and "),
    (re.compile(r"\blens\b(?<!logit lens)(?<!tuned lens)", re.I), "logit lens"),
    (re.compile(r"\bmore of (?=\S+ words\b)", re.I), "more than "),  # "having more of twenty words"
)
# how people without ML words name the model: "why does the computer think ...", "the program's insides"
LAY_MODEL = re.compile(r"\b(?:the|this|that|your)\s+(?:computer|program(?:me)?|machine|ai|a\.i\.|algorithm"
                       r"|classifier thing)(?='s\b|\b)", re.I)
# function words of the languages people most often switch to; two of them and little English is not English
FOREIGN = re.compile(
    r"\b(?:der|die|das|ist|nicht|und|warum|wie|welche[rs]?|bitte|zeig|mir|wird|hat|ich|est|que|ça|le|la|les|des"
    r"|une|pourquoi|comment|quel(?:le)?s?|montre|moi|pas|veut|dire|qué|por|cómo|cuál|muestra|el|los|las|es|son"
    r"|zu|sagt|modell|für|über|gibt|sind|erkläre?|kannst)\b",
    re.I,
)


def number_value(words: str) -> int | None:
    total, current = 0, 0
    parts = re.split(r"[\s-]+", words.lower())
    if len(parts) >= 2 and parts[0] in _UNITS and 0 < _UNITS[parts[0]] < 10 and parts[1] in _TENS:
        current, parts = _UNITS[parts[0]] * 100, parts[1:]  # "one sixty five" is 165, as people say it
    for word in parts:
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total, current = total + (current or 1) * 1000, 0
        else:
            return None
    return total + current


def numbers_in_words(text: str) -> str:
    """'review forty two' -> 'review 42', 'neuron three hundred in layer ten' -> 'neuron 300 in layer 10'."""
    def repl(m: re.Match[str]) -> str:
        value = number_value(m.group(2))
        return f"{m.group(1)} {value}" if value is not None else m.group(0)

    def span(m: re.Match[str]) -> str:  # "the first five layers" -> "the first 5 layers"
        value = number_value(m.group(2))
        return f"{m.group(1)} {value} {m.group(3)}" if value is not None else m.group(0)

    def compound(m: re.Match[str]) -> str:  # "one hundred and twelve should be ...", "sixty-four"
        words = m.group(0).lower()
        value = number_value(m.group(0))
        is_compound = re.search(r"hundred|thousand", words) or re.fullmatch(rf"(?:{'|'.join(_TENS)})[\s-]+\w+", words)
        return str(value) if value is not None and is_compound else m.group(0)

    text = re.sub(r"\bhalf a dozen\b", "6", text, flags=re.I)
    text = re.sub(r"\b(?:a|one) dozen\b", "12", text, flags=re.I)  # "list a dozen product reviews"
    text = re.sub(r"^(\W*)couple of\b", r"\g<1>2", text, flags=re.I)  # "couple of movie reviews that mention ..."
    text = FIRST_LAST_N.sub(span, NUMBER_AFTER_NOUN.sub(repl, text))
    # "layers 3 to six": the end of a range that began in digits
    text = RANGE_END.sub(lambda m: m.group(1) + str(number_value(m.group(2))) if number_value(m.group(2)) is not None
                         else m.group(0), text)
    text = NUMBER_BEFORE_UNIT.sub(lambda m: f"{number_value(m.group(1))}{m.group(2)}", text)  # "under ten words"
    return _ANY_NUMBER.sub(compound, text)


# any number in words but "one" ("that one", "which one" are no numbers)
_COUNT = re.compile(rf"\b(?!one\b)(?:{_NUMBER})\b", re.I)
_TIMES = {"twice": "2 times", "thrice": "3 times"}


def counts_in_words(text: str) -> str:
    """'top five', 'five film reviews', 'in two other ways', 'twice' with digits, for reading a count
    (k, a strength). Only the slot readers see this; the question itself keeps its words, so "two
    instances" in a concept question does not read as an id."""
    text = re.sub(r"\b(?:twice|thrice)\b", lambda m: _TIMES[m.group(0).lower()], text, flags=re.I)
    text = re.sub(r"\bhalf a dozen\b", "6", text, flags=re.I)
    text = re.sub(r"\b(?:a|one) dozen\b", "12", text, flags=re.I)  # "show me a dozen service reviews"

    def digits(m: re.Match[str]) -> str:
        value = number_value(m.group(0))
        return m.group(0) if value is None else str(value)

    return _COUNT.sub(digits, text)


def expand_shorthand(text: str) -> str:
    """Shorthand and compact forms spelt out, outside quoted texts (the user's text is never changed)."""
    from agent.planner.slots import outside_quotes

    table, words = _shorthand()

    def plain(part: str) -> str:
        part = words.sub(lambda m: table[m.group(1).lower()], part)
        part = LAY_MODEL.sub("the model", part)
        for compact, repl in _COMPACT:
            part = compact.sub(repl, part)
        return part

    return outside_quotes(text, plain)


def foreign_language(text: str) -> bool:
    """True for a question that reads as another language: at least two of those function words,
    making up at least 30% of its words (a German "Warum ist review 12 negativ?" plans nothing right)."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    hits = len(FOREIGN.findall(text))
    return len(words) >= 2 and hits >= 2 and hits / len(words) >= 0.3
