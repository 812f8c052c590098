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
             # Captum's class names, and LIT's "grad·input"
             "layerintegratedgradients": "integrated gradients", "integratedgradients": "integrated gradients",
             "inputxgradient": "gradient x input", "layergradientxactivation": "gradient x input",
             "kernelshap": "kernel shap", "featureablation": "occlusion", "grad·input": "gradient x input",
             "grad*input": "gradient x input", "grad⊙input": "gradient x input", "gradxinput": "gradient x input",
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


_DIGIT = {w: str(v) for w, v in _UNITS.items() if v < 10}
_DIGIT_WORD = "|".join(_DIGIT)
_SPOKEN = (
    # "review one oh five" -> "review 105": digits read one by one, with "oh" for zero
    (re.compile(rf"\b({_NOUN}\s+)((?:{_DIGIT_WORD})(?:\s+(?:oh|{_DIGIT_WORD})){{1,3}})\b", re.I),
     lambda m: m.group(1) + "".join("0" if w.lower() == "oh" else _DIGIT[w.lower()] for w in m.group(2).split())
     if re.search(r"\boh\b", m.group(2), re.I) else m.group(0)),
    # "review to hundred and seventeen": the homophone of "two" before a hundred
    (re.compile(r"\b(?:to|too)(?=\s+hundred\b)", re.I), lambda m: "two"),
    # "strength one point five" -> "strength 1.5"
    (re.compile(rf"\b({_DIGIT_WORD}|\d+)\s+point\s+({_DIGIT_WORD}|\d)\b", re.I),
     lambda m: f"{_DIGIT.get(m.group(1).lower(), m.group(1))}.{_DIGIT.get(m.group(2).lower(), m.group(2))}"),
    (re.compile(r"\bf[ -]one\b", re.I), lambda m: "f1"),  # "what is the f one score"
    # spoken punctuation at the end of a dictated question
    (re.compile(r"\s*\bquestion mark\b", re.I), lambda m: "?"),
    (re.compile(r"\s*\b(?:full stop|period)\s*$", re.I), lambda m: "."),
    # "a report four that one", "top five words four review twenty": "four" before its object is "for"
    (re.compile(r"(?<!\btop )(?<!\bfirst )(?<!\blast )(?<!\bme )\bfour\s+(?=(?:the|that|this|it|those|these|each|every"
                r"|all|review|row|layer|neuron)\b(?!s))", re.I), lambda m: "for "),
)


def spoken_forms(text: str) -> str:
    """A dictated question as it would be typed: 'review one oh five' -> 'review 105', 'one point five' -> '1.5',
    'f one' -> 'f1', 'question mark' -> '?', 'four that one' -> 'for that one' (outside quoted texts)."""
    from agent.planner.slots import outside_quotes

    def typed(part: str) -> str:
        for pattern, repl in _SPOKEN:
            part = pattern.sub(repl, part)
        return part

    return outside_quotes(text, typed)


# Neuronpedia's "14/811" (layer / neuron), read where the question is about neurons or is little else
LAYER_SLASH_NEURON = re.compile(r"(?<![\w/.])(\d{1,3})/(\d{1,6})(?![\w/.]|\.\d)")
NEURON_CONTEXT = re.compile(r"\b(?:neurons?|features?|latents?|units?|dashboards?|activat\w*|autointerp\w*"
                            r"|neuronpedia|fires?|firing|explain|describe|does)\b", re.I)


def layer_slash_neuron(text: str) -> str:
    """'top activating examples for 14/811' -> '... for layer 14 neuron 811'; '3/4 of the reviews' stays."""
    found = LAYER_SLASH_NEURON.search(text)
    if not found:
        return text
    rest = LAYER_SLASH_NEURON.sub(" ", text)
    short = len(re.findall(r"[^\W\d_]+", rest)) <= 3  # "14/811?", "and 14/812", "sorry, 21/2"
    if not (short or NEURON_CONTEXT.search(rest)):
        return text
    layers = {m.group(1) for m in LAYER_SLASH_NEURON.finditer(text)}
    first = found.start()  # "9/12 and 9/40" -> "layer 9 neuron 12 and neuron 40": one layer, named once
    return LAYER_SLASH_NEURON.sub(lambda m: f"layer {m.group(1)} neuron {m.group(2)}"
                                  if m.start() == first or len(layers) > 1 else f"neuron {m.group(2)}", text)


# "reviews #40-#45", "rows 100-102", "#60 to #63": a short id range is its ids (a longer one is left as typed)
ID_RANGE = re.compile(r"(?<![\w#])((?:reviews?|rows?|items?|examples?|ids?|data ?points?|instances?|samples?)\s+)?"
                      r"#?(\d+)\s*(?:-|–|to|through|thru)\s*#?(\d+)\b", re.I)
MAX_ID_RANGE = 20


def id_ranges(text: str) -> str:
    """'reviews #40-#45' -> 'reviews 40, 41, 42, 43, 44 and 45' (layers and word counts keep their ranges)."""
    def repl(m: re.Match[str]) -> str:
        lo, hi = int(m.group(2)), int(m.group(3))
        hashed = "#" in m.group(0)
        if not (m.group(1) or hashed) or not 0 < hi - lo < MAX_ID_RANGE:
            return m.group(0)
        ids = [str(i) for i in range(lo, hi + 1)]
        return f"{m.group(1) or 'reviews '}{', '.join(ids[:-1])} and {ids[-1]}"

    def first(m: re.Match[str]) -> str:  # "the first ten rows": rows 0 to 9 of the data, as listed
        n = number_value(m.group(1)) if not m.group(1).isdigit() else int(m.group(1))
        if not n or n > MAX_ID_RANGE:
            return m.group(0)
        return f"{m.group(2)} {', '.join(map(str, range(n - 1)))} and {n - 1}" if n > 1 else f"{m.group(2)} 0"

    text = WORD_RANGE.sub(r"between \1 and \2 words", text)  # "reviews with 10-20 words" is a length
    ranged = ID_RANGE.sub(repl, FIRST_ROWS.sub(first, text))
    return f"show {ranged}" if ranged != text and re.match(r"\W*(?:the\s+)?first\s|\W*(?:(?:reviews?|rows?)\s+)?#?\d",
                                                           text, re.I) and "?" not in text else ranged


WORD_RANGE = re.compile(r"\b(\d+)\s*(?:-|–|to)\s*(\d+)\s+words\b", re.I)
FIRST_ROWS = re.compile(rf"\bthe\s+first\s+(\d+|{_WORD})\s+(rows|reviews|examples|items|entries|records)\b"
                        r"(?!\s+(?:of|in|from|with|that|which|where|labell?ed|predicted|about|for|on)\b)", re.I)


# small talk that names a length without selecting rows by it ("sorry for the short notice", "long story
# short")
LENGTH_IDIOMS = re.compile(r"\b(?:(?:on|at|for|the|such) )?short notice\b|\blong story short\b"
                           r"|\b(?:to )?keep(?:ing)? it short\b|\b(?:in|for) short\b(?=\s*(?:[,:;.)?!]|$))"
                           r"|\bwall of text\b|\blong time no see\b|\bbefore long\b"
                           # thanks for an earlier answer: "thanks for explaining" asks for no explanation
                           r"|\bthanks?(?: you)? (?:for|4) (?:explaining|the explanation|clarifying|that|your help|"
                           r"the help)\b"
                           r"|\b(?:a|this|that) (?:long|short) (?:day|week|month|call|meeting|while|time|email|e-mail"
                           r"|message|note|thread)\b|\bshort(?:-| )?(?:handed|staffed)\b", re.I)


def without_length_idioms(text: str) -> str:
    """Idioms with 'short' / 'long' dropped (outside quoted texts): they select no rows by length."""
    from agent.planner.slots import outside_quotes

    return outside_quotes(text, lambda part: LENGTH_IDIOMS.sub(" ", part))
