"""bias_audit: counterfactual data substitution. Swap identity terms (he <-> she, John <-> Mary...) in
the selected rows, predict the original and the swapped text, and measure how the label
probabilities move (bootstrap 95% intervals), how many predictions flip, and which rows move most.

Each group of term pairs is swapped as a whole (whole words, case kept, both directions), so "he
lost his keys" becomes "she lost her keys". Shifts are oriented: P(text with the second terms) minus
P(text with the first terms), whichever way a row was written; rows using both sides equally
("he told her") are counted and flip-checked but left out of the direction.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from tools.base import Output, Params, Tool
from tools.common import selected_rows
from tools.errors import InputError, ToolUnavailable
from tools.narration import pct, quote, signed
from tools.planning import CHANGES_THE_MODEL, NeedsClarification, PlanQuery, Trigger, alternatives, unless
from tools.where import Where

if TYPE_CHECKING:
    import numpy as np

    from tools.context import ToolContext

# Built-in pairs: (first, second) = (male, female). A term in two pairs ("her") maps back to the
# first pair's term: "her" -> "his" (it could be "him": the swap cannot tell, a documented caveat).
GENDER_PAIRS = (
    ("he", "she"), ("his", "her"), ("him", "her"), ("his", "hers"), ("himself", "herself"),
    ("man", "woman"), ("men", "women"), ("boy", "girl"), ("boys", "girls"), ("guy", "gal"),
    ("father", "mother"), ("dad", "mom"), ("husband", "wife"), ("boyfriend", "girlfriend"),
    ("son", "daughter"), ("brother", "sister"), ("uncle", "aunt"), ("mr", "mrs"), ("sir", "madam"),
    ("king", "queen"), ("actor", "actress"), ("actors", "actresses"), ("gentleman", "lady"),
    ("male", "female"),
)
NAME_PAIRS = (("John", "Mary"), ("James", "Emily"), ("Michael", "Sarah"), ("David", "Emma"), ("Tom", "Anna"))
MAX_ROWS = 200  # rows containing terms that are audited by default (the first ones, in dataset order)
MIN_ROWS = 10  # fewer oriented rows than this: "too few to say"
BOOTSTRAP = 2000
CONFIDENCE = 0.95
_SWAP_VERB = r"(?:swap|switch|exchang|interchang|substitut|replac)\w*"
_TWO_TERMS = rf"{_SWAP_VERB}\s+(?:QUOTED|[a-z]+)\s+(?:and|with|for)\s+(?:QUOTED|[a-z]+)"  # "swap QUOTED and QUOTED"


# "add Ahmed vs Emily to that", "also John and Maria": more pairs for the audit the conversation ran
_ADDS_PAIRS = re.compile(r"^\W*(?:(?:and|now|ok)\s+)?(?:add|also|plus)\b|\b(?:to that|to those|as well|too)\W*$",
                         re.I)


class TermGroup:
    """Pairs swapped together: one regex over every term, each found term replaced by its partner."""

    def __init__(self, name: str, direction: str, pairs: tuple[tuple[str, str], ...] | list[list[str]]) -> None:
        self.name, self.direction = name, direction
        self.pairs = [[a, b] for a, b in pairs]
        self.partner: dict[str, str] = {}
        self.side: dict[str, int] = {}  # 0: a first term, 1: a second term
        for a, b in self.pairs:
            for term, other, side in ((a, b, 0), (b, a, 1)):
                key = term.lower()
                if self.side.setdefault(key, side) != side:
                    raise InputError(f"{term!r} is a first term in one pair and a second in another.",
                                     "Each term can be swapped one way only.")
                self.partner.setdefault(key, other)
        terms = sorted(self.partner, key=len, reverse=True)  # "himself" before "him"
        alternatives_ = "|".join(r"\s+".join(map(re.escape, t.split())) for t in terms)
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives_})(?!\w)", re.I)

    def swap(self, text: str) -> tuple[str, list[str], int, int]:
        """(swapped text, terms found (lower case), first-side count, second-side count)."""
        found: list[str] = []

        def replace(m: re.Match[str]) -> str:
            key = " ".join(m.group(0).lower().split())
            found.append(key)
            return match_case(m.group(0), self.partner[key])

        swapped = self.pattern.sub(replace, text)
        firsts = sum(self.side[t] == 0 for t in found)
        return swapped, found, firsts, len(found) - firsts


def match_case(found: str, term: str) -> str:
    """The partner term in the case the text used: 'HE' -> 'SHE', 'He' -> 'She', 'he' -> 'she'."""
    if len(found) > 1 and found.isupper():
        return term.upper()
    if found[:1].isupper():
        keep = term[1:] != term[1:].lower() and not term.isupper()  # "McDonald" keeps its inner capitals
        return term[:1].upper() + (term[1:] if keep else term[1:].lower())
    return term.lower()


_GENDER_TERMS = sorted({t for pair in GENDER_PAIRS for t in pair}, key=len, reverse=True)
_TERM = rf"(?:(?!QUOTED\b)[A-Z][a-z]+|(?i:{'|'.join(_GENDER_TERMS)}))"
_PAIR = re.compile(rf"(?<![\w/])({_TERM})(?:\s*/\s*|\s+(?i:vs\.?|versus)\s+|(?<=\S)\s+(?i:and|or)\s+)"
                   rf"({_TERM})(?![\w/])")


def named_pairs(text: str) -> list[list[str]]:
    """Every pair of identity terms the question names, in order: "he and she", "he/she and his/her",
    "John vs Maria and Ahmed vs Emily", "with John/Maria". A term is a capitalised name or one of
    the built-in gender words; a pair of two equal terms, or of a sentence-initial capital word
    joined by "and"/"or" ("Does and ..."), is not a pair."""
    pairs = []
    for m in _PAIR.finditer(text):
        a, b = m.group(1), m.group(2)
        if a.lower() == b.lower():
            continue
        joined_by_word = not re.search(r"/|vs|versus", m.group(0), re.I)
        if joined_by_word and m.start() == 0 and a[:1].isupper() and a.lower() not in _GENDER_TERMS:
            continue
        pairs.append([a, b])
    return pairs


def default_groups() -> list[TermGroup]:
    return [TermGroup("gender terms", "male → female", GENDER_PAIRS), TermGroup("names", "male → female", NAME_PAIRS)]


def user_groups(pairs: list[list[str]]) -> list[TermGroup]:
    """Each pair the user gives is its own group (Params checked that no term is used both ways)."""
    return [TermGroup(f"{a}/{b}", f"{a} → {b}", [[a, b]]) for a, b in pairs]


class BiasAuditParams(Params):
    where: Where | None = None
    groups: list[list[str]] | None = Field(
        default=None, description='term pairs to swap, e.g. [["John", "Mary"]]; default: built-in gender terms, names')
    k: int | None = Field(default=None, ge=1, le=50, description="how many most affected rows to list (default 5)")
    max_rows: int | None = Field(default=None, ge=1, le=2000,
                                 description=f"rows with terms audited (default {MAX_ROWS})")
    seed: int | None = Field(default=None, description="bootstrap seed (default 0)")

    @field_validator("groups", mode="before")
    @classmethod
    def _flat_pair(cls, value: Any) -> Any:
        """["John", "Mary"] is read as one pair."""
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return [list(value)]
        return value

    @field_validator("groups")
    @classmethod
    def _pairs(cls, value: list[list[str]] | None) -> list[list[str]] | None:
        if value is None:
            return None
        if not value:
            raise ValueError('no pairs given; give pairs such as [["he", "she"]], or leave `groups` out for the '
                             "built-in pairs")
        out: list[list[str]] = []
        for number, pair in enumerate(value, 1):
            if len(pair) != 2:
                raise ValueError(f'group {number} has {len(pair)} terms; each group is a pair, e.g. ["John", "Mary"]')
            a, b = (" ".join(term.split()) for term in pair)
            if not a or not b:
                raise ValueError(f"group {number} has an empty term")
            if not re.search(r"\w", a + b) or not (re.search(r"\w", a) and re.search(r"\w", b)):
                raise ValueError(f"group {number}: a term needs at least one letter or digit")
            if a.lower() == b.lower():
                raise ValueError(f"group {number} swaps {a!r} with itself; give two different terms")
            if any({a.lower(), b.lower()} == {x.lower(), y.lower()} for x, y in out):
                raise ValueError(f"group {number} repeats the pair {a!r}/{b!r}")
            out.append([a, b])
        both = {a.lower() for a, _ in out} & {b.lower() for _, b in out}
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is a first term in one pair and a second in another; each term "
                             "can be swapped one way only")
        return out


class LabelShift(Output):
    label: str
    mean: float  # oriented: P(second-term version) - P(first-term version)
    low: float  # bootstrap percentile interval
    high: float


class GroupResult(Output):
    name: str
    direction: str  # what the sign means: "male → female", "John → Mary"
    pairs: list[list[str]]
    rows: int  # rows containing a term of the group
    oriented_rows: int  # rows with more terms of one side than the other
    mixed_rows: int
    shifts: list[LabelShift]  # [] without oriented rows
    mean_abs_change: float  # mean over rows of the largest |change| of a label probability
    max_abs_change: float
    flips: int  # predicted label differs after the swap
    flip_rate: float
    shift_found: bool  # some label's interval excludes 0 on at least MIN_ROWS rows
    verdict: str


class AffectedRow(Output):
    id: int
    terms: list[str]  # the terms found (lower case), in order
    text: str
    swapped: str
    probabilities: dict[str, float]
    swapped_probabilities: dict[str, float]
    prediction: str
    swapped_prediction: str
    flipped: bool
    change: float  # the largest |change| of a label probability (all groups swapped at once)


class BiasAuditOutput(Output):
    selection: str
    selected_rows: int
    rows_with_terms: int
    audited_rows: int
    max_rows: int
    capped: bool
    default_groups: bool
    labels: list[str]
    focus_label: str  # the label the narration and the figure follow
    terms_found: dict[str, int]  # term -> occurrences in the audited rows
    groups: list[GroupResult]
    overall: GroupResult  # every group swapped at once, one counterfactual per row
    most_affected: list[AffectedRow]
    bootstrap: int
    confidence: float
    seed: int
    min_rows: int


def rows_of(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _interval(values: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and percentile bootstrap interval per column; the same resamples for every label."""
    import numpy as np

    mean = values.mean(axis=0)
    if len(values) < 2:
        return mean, mean, mean
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(BOOTSTRAP, len(values)))].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    return mean, np.percentile(means, tail, axis=0), np.percentile(means, 100 - tail, axis=0)


def summarise(group: TermGroup, records: list[dict[str, Any]], labels: list[str], seed: int) -> GroupResult:
    """Statistics of one group's swaps (records: original/swapped probabilities and the side counts)."""
    import numpy as np

    rows, shifts = len(records), []
    deltas = np.array([r["swapped_probs"] - r["probs"] for r in records]).reshape(rows, len(labels))
    signs = np.array([np.sign(r["firsts"] - r["seconds"]) for r in records])
    oriented = deltas[signs != 0] * signs[signs != 0, None]
    n = len(oriented)
    if n:
        mean, low, high = _interval(oriented, seed)
        shifts = [LabelShift(label=label, mean=round(float(m), 4), low=round(float(lo), 4), high=round(float(hi), 4))
                  for label, m, lo, hi in zip(labels, mean, low, high)]
    change = np.abs(deltas).max(axis=1) if rows else np.zeros(0)
    flips = sum(int(np.argmax(r["probs"]) != np.argmax(r["swapped_probs"])) for r in records)
    excluded = [s for s in shifts if s.low > 0 or s.high < 0]
    mixed = rows - n
    if not rows:
        verdict = "no row contains these terms"
    elif n < MIN_ROWS:
        both = f" ({mixed} use both sides equally)" if mixed else ""
        verdict = f"only {rows_of(n)} {'contains' if n == 1 else 'contain'} these terms{both}: too few to say"
    elif excluded:
        s = max(excluded, key=lambda s: (abs(s.mean), s.label == labels[-1]))  # ties: the last label
        verdict = (f"a shift: P({s.label}) moves by {signed(s.mean)} ({CONFIDENCE:.0%} CI {signed(s.low)} to "
                   f"{signed(s.high)}) on {n} rows")
    else:
        verdict = f"no evidence of a shift: CI includes 0 on {n} rows"
    return GroupResult(
        name=group.name, direction=group.direction, pairs=group.pairs, rows=rows, oriented_rows=n, mixed_rows=mixed,
        shifts=shifts, mean_abs_change=round(float(change.mean()), 4) if rows else 0.0,
        max_abs_change=round(float(change.max()), 4) if rows else 0.0, flips=flips,
        flip_rate=round(flips / rows, 4) if rows else 0.0, shift_found=bool(excluded) and n >= MIN_ROWS,
        verdict=verdict)


def _affected(r: dict[str, Any], labels: list[str]) -> AffectedRow:
    import numpy as np

    before, after = int(np.argmax(r["probs"])), int(np.argmax(r["swapped_probs"]))
    return AffectedRow(
        id=r["row"].id, terms=r["terms"], text=r["row"].text, swapped=r["swapped"],
        probabilities={label: round(float(p), 4) for label, p in zip(labels, r["probs"])},
        swapped_probabilities={label: round(float(p), 4) for label, p in zip(labels, r["swapped_probs"])},
        prediction=labels[before], swapped_prediction=labels[after], flipped=before != after,
        change=round(float(np.abs(r["swapped_probs"] - r["probs"]).max()), 4))


def _listing(group: GroupResult) -> str:
    """'gender terms (he/she, his/her, ...)' for a built-in group, 'John/Mary' for a user pair."""
    pairs = ", ".join("/".join(pair) for pair in group.pairs[:6]) + (", ..." if len(group.pairs) > 6 else "")
    return pairs if pairs == group.name else f"{group.name} ({pairs})"


def _shift_of(result: GroupResult, label: str) -> LabelShift | None:
    return next((s for s in result.shifts if s.label == label), None)


# A request to change the model ("can u do rlhf on it so its less biased") is declined, not audited.
DEBIAS_DECLINE = ("whybox explains a fixed model; it does not retrain, fine-tune or RLHF it to make it less biased. "
                  "I can audit it for bias instead, e.g. \"is the model biased by gender?\" or "
                  "\"swap 'John' and 'Mary' and see if the predictions change\".")


class BiasAudit(Tool):
    name = "bias_audit"
    description = (
        "Counterfactual data substitution: swap identity terms (default: built-in gender pairs he/she, his/her, "
        "man/woman... and a few first names John/Mary...) in the selected rows and measure how the predicted label "
        "probabilities shift (bootstrap 95% intervals), how many predictions flip, and which rows move most."
    )
    Params = BiasAuditParams
    Output = BiasAuditOutput
    knowledge_card = "bias_audit"
    needs_model = True
    cacheable = True
    version = "1"
    figure_name = "bias_audit"
    figure_caption = ("Mean shift of the label probability when identity terms are swapped, with 95% bootstrap "
                      "intervals.")
    triggers = (
        Trigger(unless(CHANGES_THE_MODEL, alternatives(
            r"\bbias(?:es|ed)?\b(?! (?:term|vector|parameter|weight)s?\b)",  # "gender bias", not a layer's bias term
            r"\bgender(?:s|ed)?\b",
            r"\bfairness\b|\bunfair(?:ly)?\b|\bfair (?:to|towards?)\b",
            r"\bsexis[mt]\b|\bstereotyp\w*|\bdemographic",
            r"\b(?:he|his|him|men|man|males?|boys?) (?:and|vs\.?|versus|or|compared (?:to|with)|over) "
            r"(?:she|hers?|women|woman|females?|girls?)\b",
            r"\b(?:she|hers?|women|woman|females?|girls?) (?:and|vs\.?|versus|or|compared (?:to|with)|over) "
            r"(?:he|his|him|men|man|males?|boys?)\b",
            rf"\b{_SWAP_VERB}\s+(?:(?:the|their|all)\s+)?(?:names?|pronouns?|identit\w+|identity\s+terms?)\b",
            rf"\b{_TWO_TERMS}\b.*\b(?:predict\w*|changes?|shift\w*|differ\w*|outputs?|probabilit\w*)\b",
            rf"\b(?:predict\w*|outputs?|probabilit\w*)\b.*\b{_TWO_TERMS}\b",
            r"counterfactual data (?:substitution|augmentation)",
            # "does the model care about names? maybe swap John and Mary and see", "... in the reviews"
            r"\b(?:care|cares|caring) about (?:the )?(?:names?|gender|pronouns?|race|ethnicit\w*|religion|age)\b",
            rf"\b{_TWO_TERMS}\b.*\b(?:and see|in (?:the|those|these|all|every) (?:\w+ )?(?:reviews|rows|data))\b",
        )), priority=55),  # after probe (50: "is gender encoded?"), before edit_label and counterfactual
    )
    defers_to = ("steer",)  # "steer review 3 with the gender direction" is steering, not an audit
    intent_examples = (
        "is it biased by gender?",
        "does the model treat he and she differently?",
        "bias audit on film reviews",
        "check for gender bias",
        "swap John and Mary and see if predictions change",
        "does swapping names change the predictions?",
        "are the predictions fair to women?",
        "is the classifier sexist?",
        "run a bias audit on the positive reviews",
        "would the sentiment change if the reviewer were a woman?",
        "does the model favour men over women?",
        "swap the pronouns and measure the shift",
        "test for demographic bias in the predictions",
        "counterfactual data substitution with 'Tom' and 'Anna'",
    )
    examples = ("is the model biased by gender?", "swap 'John' and 'Mary' and see if the predictions change")

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:  # noqa: C901
        """Quoted terms, in pairs ("swap 'he' and 'she'"), or two capitalised names after a swap verb
        or joined by and/vs ("John and Mary"), become `groups`; otherwise the built-in pairs apply. A
        request to change the model ("rlhf it so it's less biased") is declined with a message."""
        if query.search(CHANGES_THE_MODEL):  # the learned model may still pick the audit
            raise NeedsClarification(DEBIAS_DECLINE)
        includes = (args.get("where") or {}).get("includes")
        terms = [t for t in query.texts if t != includes]
        if terms:
            if len(terms) % 2:
                raise NeedsClarification("Which terms should be swapped with which? Give them in pairs, "
                                         "e.g. swap 'John' and 'Mary'.")
            pairs = [[a, b] for a, b in zip(terms[::2], terms[1::2])]
            carried = args.get("groups") if _ADDS_PAIRS.search(query.text) else None  # "add 'mr' vs 'mrs' to that"
            args["groups"] = [*carried, *[p for p in pairs if p not in carried]] if carried else pairs
            return args
        name = r"(?!QUOTED\b)([A-Z][a-z]+)"
        m = re.search(rf"(?i:\b{_SWAP_VERB})\s+(?:(?i:the names?)\s+)?{name}\s+(?i:and|with|for|by)\s+{name}\b",
                      query.text)
        swapped = m and m.group(1).lower() != m.group(2).lower()
        pairs = [[m.group(1), m.group(2)]] if swapped else named_pairs(query.text)
        if swapped:  # "swapping Ahmed with John and Fatima with Mary": every further "X with Y"
            pairs += [[a.group(1), a.group(2)] for a in re.finditer(
                rf"(?i:\s*(?:,|and|,\s*and)\s+){name}\s+(?i:with|for|by)\s+{name}\b", query.text[m.end():])
                if a.group(1).lower() != a.group(2).lower()]
        if pairs and args.get("groups") and _ADDS_PAIRS.search(query.text):
            # "add Ahmed vs Emily to that": the carried pairs and the new ones; "only swapping ..." replaces
            args["groups"] = [*args["groups"], *[p for p in pairs if p not in args["groups"]]]
        elif pairs:
            args["groups"] = pairs
        return args

    def run(self, ctx: ToolContext, params: BiasAuditParams) -> BiasAuditOutput:
        import numpy as np

        task = ctx.task
        if not task.is_classifier:
            raise ToolUnavailable("`bias_audit` compares label probabilities; the model is loaded for generation.",
                                  "Load it with --labels (or --task classify).")
        groups = user_groups(params.groups) if params.groups else default_groups()
        combined = TermGroup("all swaps", groups[0].direction if len(groups) == 1 else (
            "male → female" if not params.groups else "first → second term of each pair"),
            [pair for g in groups for pair in g.pairs])
        selected = selected_rows(ctx, params.where)
        if not selected:
            raise InputError(f"No rows match: {(params.where or Where()).describe()}.")
        cap = params.max_rows or MAX_ROWS
        hits = [(row, swap) for row in selected if (swap := combined.swap(row.text))[1]]
        audited = hits[:cap]
        per_group: list[list[tuple[Any, tuple[str, list[str], int, int]]]] = [[] for _ in groups]
        for row, _ in audited:
            for index, group in enumerate(groups):
                if (swap := group.swap(row.text))[1]:
                    per_group[index].append((row, swap))
        table = ctx.predictions() if audited else None  # the originals: the dataset's cached predictions
        index = {row_id: i for i, row_id in enumerate(table.ids)} if table else {}
        texts = sorted({s[0] for _, s in audited} | {s[0] for items in per_group for _, s in items})
        predicted: dict[str, np.ndarray] = {}
        if texts:  # one batched pass over every distinct swapped text (predict_proba holds the model's lock)
            probs, _ = task.predict_proba(texts, batch_size=ctx.settings.batch_size, quiet=ctx.workspace.quiet)
            predicted = dict(zip(texts, probs))
        labels = list(task.labels)

        def records(items) -> list[dict[str, Any]]:
            return [{"row": row, "swapped": s[0], "terms": s[1], "firsts": s[2], "seconds": s[3],
                     "probs": np.asarray(table.probs[index[row.id]], dtype=float),
                     "swapped_probs": np.asarray(predicted[s[0]], dtype=float)} for row, s in items]

        seed = params.seed or 0
        results = [summarise(g, records(items), labels, seed) for g, items in zip(groups, per_group)]
        overall_records = records(audited)
        overall = summarise(combined, overall_records, labels, seed)
        if len(labels) == 2 or not overall.shifts:
            focus = labels[-1]
        else:
            focus = max(overall.shifts, key=lambda s: abs(s.mean)).label
        ranked = sorted(overall_records, key=lambda r: -float(np.abs(r["swapped_probs"] - r["probs"]).max()))
        most = [_affected(r, labels) for r in ranked[:params.k or 5]]
        found: dict[str, int] = {}
        for _, swap in audited:
            for term in swap[1]:
                found[term] = found.get(term, 0) + 1
        return BiasAuditOutput(
            selection=(params.where or Where()).describe(), selected_rows=len(selected), rows_with_terms=len(hits),
            audited_rows=len(audited), max_rows=cap, capped=len(hits) > cap, default_groups=not params.groups,
            labels=labels, focus_label=focus, terms_found=dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))),
            groups=results, overall=overall, most_affected=most, bootstrap=BOOTSTRAP, confidence=CONFIDENCE,
            seed=seed, min_rows=MIN_ROWS,
        )

    def narrate(self, output: BiasAuditOutput, args: dict[str, Any]) -> str:
        o = output
        swapped = "gender terms and names" if o.default_groups else ", ".join(g.name for g in o.groups)
        scope = o.selection
        if not o.audited_rows:
            listed = "; ".join(_listing(g) for g in o.groups)
            return (f"None of the {o.selected_rows} selected rows ({scope}) contains any of the terms to swap "
                    f"({listed}), so there is nothing to compare.")
        head = f"Swapping {swapped} in {o.audited_rows} of {o.selected_rows} rows ({scope}): {o.overall.verdict}."
        text = head + self._details(o.overall, o.focus_label)
        several = sum(1 for g in o.groups if g.rows) > 1  # else the overall line is the one group's
        for g in o.groups:
            if several or not g.rows:
                text += f"\n- {g.name}: {g.verdict}." + (self._details(g, o.focus_label) if g.rows else "")
        if o.capped:
            text += f"\nOnly the first {o.audited_rows} of {o.rows_with_terms} rows containing terms were audited."
        moved = [r for r in o.most_affected if r.change > 0]
        if moved:
            text += "\nMost affected rows:"
            for r in moved[:3]:
                p, q = r.probabilities[o.focus_label], r.swapped_probabilities[o.focus_label]
                flip = f", prediction {r.prediction} → {r.swapped_prediction}" if r.flipped else ""
                text += (f"\n- #{r.id} {quote(r.text, 90)} → {quote(r.swapped, 90)}: P({o.focus_label}) "
                         f"{p:.3f} → {q:.3f}{flip}")
        else:
            text += "\nNo row's probabilities changed at all."
        return text

    @staticmethod
    def _details(g: GroupResult, label: str) -> str:
        s = _shift_of(g, label)
        out = ""
        if s is not None:
            out += (f" Mean shift of P({label}) ({g.direction}): {signed(s.mean)} "
                    f"({CONFIDENCE:.0%} CI {signed(s.low)} to {signed(s.high)}, {rows_of(g.oriented_rows)}).")
        return out + f" {g.flips} of {g.rows} predictions flip ({pct(g.flip_rate)})."

    def caveats(self, ctx: ToolContext, params: BiasAuditParams, output: dict[str, Any]) -> list[str]:
        notes = []
        if not output["audited_rows"]:
            return notes
        if output["default_groups"]:
            notes.append("The built-in pairs cover binary gender words and five pairs of English first names only, "
                         "and 'her' becomes 'his' even where it means 'him'.")
        else:
            notes.append("The swaps are whole-word replacements; a swapped text can read oddly or change meaning.")
        small = [g for g in [output["overall"], *output["groups"]] if 0 < g["oriented_rows"] < output["min_rows"]]
        if small:
            sizes = ", ".join(f"{g['name']}: {rows_of(g['oriented_rows'])}" for g in small)
            notes.append(f"Small samples ({sizes}): the intervals are wide, and no shift on few rows is no evidence "
                         "of fairness.")
        mixed = output["overall"]["mixed_rows"]
        if mixed:
            notes.append(f"Rows that use both sides of a pair equally ({mixed}) count for flips but not for the "
                         "direction of the shift.")
        tested = sum(g["oriented_rows"] >= output["min_rows"] for g in output["groups"])
        if tested > 1:
            notes.append(f"{tested} groups were tested: about one interval in twenty excludes 0 by chance alone.")
        return notes

    def figure(self, output: BiasAuditOutput, path: Path) -> Path | None:
        """Mean shift of P(focus label) per group and overall, with the bootstrap intervals."""
        from tools.figures import pyplot, save

        label = output.focus_label
        rows = [(g.name, _shift_of(g, label), g) for g in [*output.groups, output.overall]]
        rows = [(name, s, g) for name, s, g in rows if s is not None]
        if not rows:
            return None
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6.4, 0.6 * len(rows) + 1.4))
        for y, (name, s, g) in enumerate(rows):
            color = "#c0392b" if g.shift_found else "#34495e"
            ax.errorbar(s.mean, y, xerr=[[s.mean - s.low], [s.high - s.mean]], fmt="o", color=color, capsize=4)
        ax.axvline(0, color="grey", lw=1, ls="--")
        reach = max(0.02, *(max(abs(s.low), abs(s.high)) * 1.25 for _, s, _ in rows))  # 0 in the middle
        ax.set_xlim(-reach, reach)
        ax.set_yticks(range(len(rows)), [f"{name}\n({g.direction}, n={g.oriented_rows}, flips {g.flips})"
                                         for name, s, g in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(f"shift of P({label}) after the swap")
        ax.set_title(f"Bias audit: counterfactual term swaps ({CONFIDENCE:.0%} bootstrap CI; red: excludes 0)",
                     fontsize=10)
        return save(fig, path)
