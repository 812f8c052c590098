"""global_importance: the words that drive the model's predictions across many rows.

Each selected row is explained by the `attribute` tool (through the registry, so every row's
attribution is cached on disk and a second question over the same rows runs no model), then the
per-row word scores are aggregated: for every word (lower-cased, punctuation stripped) its mean
signed score over the rows that contain it, a seeded bootstrap 95% interval over those rows, its
mean |score|, and how many rows contain it. A frequency baseline says which words matter more than
their frequency alone predicts. No hooks are registered here and the model is never run directly:
`attribute` takes the model's lock where it runs the model.
"""
from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from pydantic import Field

from tools.attribution.catalog import METHODS as METHOD_INFO
from tools.attribution.catalog import MethodName, find_method
from tools.base import Output, Params, Tool
from tools.common import selected_rows
from tools.errors import InputError, ToolUnavailable
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    from tools.context import ToolContext

MAX_ROWS = 50  # default cap on the rows explained (the first ones by id)
MIN_ROWS = 3  # a word must appear in at least this many rows to be ranked
RESAMPLES = 1000
CONFIDENCE = 0.95
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")

# --- planning wording ------------------------------------------------------------------------
# A clause about one instance ("review 5", "this review", a quoted text) is `attribute`'s.
_NO_INSTANCE = (r"^(?!.*\b(?:review|row|item|instance|example|sample|id|text|sentence|entry|record|data ?point|data"
                r"|case|document)\s*(?:#|no\.?|number|with (?:an? )?id(?: of)?|id)?\s*\d)"
                r"(?!.*#\s*\d)(?!.*QUOTED)"
                r"(?!.*\b(?:this|that|the same) (?:review|row|item|instance|example|sample|text|sentence|one)\b(?!s))"
                r"(?!.*\b(?:layers?|neurons?|heads?|training|train)\b)")
_SCOPE = (r"(?:overall|across|in general|generally|on average|on the whole|as a whole"
          r"|(?:data ?set|corpus)[- ](?:level|wide)|(?:whole|entire|full) (?:data ?set|data|corpus)"
          r"|(?:in|over|for|among|on) all (?:the |of the )?(?:reviews|rows|data|examples|texts|instances|items))")
_WORDS = r"(?:words?|tokens?|features?|terms?|phrases?|vocabulary)"
_DRIVE = (r"(?:important|importance|influential|matter(?:s|ed)?|drives?|drove|driving|rel(?:y|ies|ied|ying) on"
          r"|push(?:es|ed)?|pull(?:s|ed)?|attribut\w*|salien\w*|contribut\w*|decisive|weigh\w*|sway\w*|swing\w*"
          r"|makes? (?:it|the model|them) (?:say|predict|call|classify)|lead (?:it|the model) to)")
_ROWS = (r"(?:reviews|rows|examples|texts|instances|items|data ?points|samples|data ?set|data|corpus"
         r"|mistakes|errors|misclassifications)")
# A scope word anywhere and a driving word: "the most important words overall", "what does the model
# rely on across the data?", "which words make it say negative in general?".
_OVERALL = (rf"(?=.*\b{_SCOPE}\b)(?=.*\b{_WORDS}\b.*\b{_DRIVE}|.*\b{_DRIVE}\b.*\b{_WORDS}\b"
            r"|.*\brel(?:y|ies|ied|ying) on\b|.*\bmakes? (?:it|the model) (?:say|predict)\b)")
# "which words matter most for film reviews?": words that drive, over rows named in the plural (not "reviews 3, 5").
_FOR_ROWS = (rf".*\b(?:which|what) {_WORDS}\b.*\b{_DRIVE}\b.*\b(?:for|in|on|among|across|of)"
             rf" (?:the |all |these |those |our |its |their )?(?:\w+ ){{0,3}}{_ROWS}\b(?!\s*#?\d)")


class GlobalImportanceParams(Params):
    where: Where | None = None
    method: MethodName | None = Field(default=None, description="attribution method (default: attribute's default)")
    k: int | None = Field(default=None, ge=1, le=50, description="how many words to list each way (default 10)")
    target: str | None = Field(default=None, description="label the scores are towards (default: each row's "
                                                         "predicted label)")
    max_rows: int | None = Field(default=None, ge=1, le=500, description=f"rows explained at most, the first by id "
                                                                         f"(default {MAX_ROWS})")
    min_rows: int | None = Field(default=None, ge=1, le=100, description=f"rows a word must appear in to be ranked "
                                                                         f"(default {MIN_ROWS})")
    resamples: int | None = Field(default=None, ge=100, le=10000, description=f"bootstrap resamples "
                                                                              f"(default {RESAMPLES})")
    seed: int | None = None


class WordImportance(Output):
    word: str  # lower-cased, punctuation stripped
    mean_score: float  # mean signed score over the rows that contain the word
    ci_low: float  # bootstrap 95% interval of mean_score, resampling those rows
    ci_high: float
    stable: bool  # the interval does not cross 0
    mean_abs: float  # mean |score| over the rows that contain the word
    rows: int  # rows that contain the word
    doc_freq: float  # rows / rows used
    occurrences: int
    expected_abs: float  # the frequency baseline: mean |score| predicted from `rows` alone
    excess: float  # mean_abs - expected_abs


class FrequencyFit(Output):
    """mean |score| = intercept + slope * ln(rows), least squares over the ranked words."""

    intercept: float
    slope: float
    words: int  # words the line was fitted on
    correlation: float | None  # Spearman correlation of rows and mean |score| (None: too few words)


class GlobalImportanceOutput(Output):
    selection: str  # the filter in words ("all rows" without one)
    method: str
    diagnostic_only: bool
    target: str | None  # the label every row was explained towards; None: each row's predicted label
    explained: dict[str, int]  # rows explained towards each label
    rows_selected: int  # rows matching the filter
    rows_used: list[int]  # the ids explained: the first `max_rows` by id
    max_rows: int
    truncated: bool  # the selection had more rows than max_rows
    min_rows: int  # rows a word must appear in to be ranked
    words_seen: int  # distinct words in the rows used
    words_ranked: int  # of them, those in at least min_rows rows
    towards: list[WordImportance]  # highest mean signed score first (all > 0)
    against: list[WordImportance]  # lowest mean signed score first (all < 0)
    beyond_frequency: list[WordImportance]  # highest excess over the frequency baseline first (all > 0)
    baseline: str  # the frequency baseline in words
    frequency_fit: FrequencyFit
    faithful_rows: int  # rows whose attribution beats random rankings (ERASER AOPC)
    resamples: int
    confidence: float
    seed: int
    cached_rows: int  # row attributions served from the cache
    forwards: int  # model forwards run for the rows that were not cached


def normalize(word: str) -> str:
    """'Great!' -> 'great', '“film”' -> 'film'; a word of punctuation only becomes ''."""
    return _EDGE_PUNCTUATION.sub("", word.lower())


@dataclass
class WordStats:
    word: str
    mean_score: float
    ci_low: float
    ci_high: float
    mean_abs: float
    rows: int
    occurrences: int


def aggregate(rows: Sequence[Sequence[tuple[str, float]]], resamples: int = RESAMPLES, seed: int = 0,
              confidence: float = CONFIDENCE) -> list[WordStats]:
    """Per word, from each row's (word, score) pairs: a word's score in a row is the sum over its
    occurrences there (after `normalize`); its mean signed and mean |score| are over the rows that
    contain it; the interval is a percentile bootstrap over those rows (`resamples` draws, seeded
    per word by `seed` and the word, so a word's interval does not depend on the other words)."""
    import numpy as np

    per_word: dict[str, list[float]] = {}
    occurrences: Counter[str] = Counter()
    for row in rows:
        in_row: dict[str, float] = {}
        for raw, score in row:
            word = normalize(raw)
            if word:
                in_row[word] = in_row.get(word, 0.0) + float(score)
                occurrences[word] += 1
        for word, total in in_row.items():
            per_word.setdefault(word, []).append(total)
    alpha = (1 - confidence) / 2
    out = []
    for word in sorted(per_word):
        values = np.asarray(per_word[word])
        rng = np.random.default_rng([seed, zlib.crc32(word.encode())])
        draws = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
        low, high = np.quantile(draws, [alpha, 1 - alpha])
        out.append(WordStats(word, float(values.mean()), float(low), float(high), float(np.abs(values).mean()),
                             len(values), occurrences[word]))
    return out


def frequency_fit(stats: Sequence[WordStats]) -> tuple[float, float, float | None]:
    """(intercept, slope, Spearman correlation) of mean |score| against ln(rows) over `stats`. With
    fewer than 3 words, or one row count for all, the line is flat at their mean |score|."""
    import numpy as np

    if not stats:
        return 0.0, 0.0, None
    x = np.log([s.rows for s in stats])
    y = np.asarray([s.mean_abs for s in stats])
    if len(stats) < 3 or np.ptp(x) == 0:
        return float(y.mean()), 0.0, None
    slope, intercept = np.polyfit(x, y, 1)
    from scipy.stats import spearmanr

    rho = spearmanr(x, y).statistic if np.ptp(y) > 0 else float("nan")
    return float(intercept), float(slope), None if np.isnan(rho) else float(rho)


def _word(s: WordStats, used: int, intercept: float, slope: float) -> WordImportance:
    import math

    expected = intercept + slope * math.log(s.rows)
    return WordImportance(
        word=s.word, mean_score=round(s.mean_score, 6), ci_low=round(s.ci_low, 6), ci_high=round(s.ci_high, 6),
        stable=s.ci_low > 0 or s.ci_high < 0, mean_abs=round(s.mean_abs, 6), rows=s.rows,
        doc_freq=round(s.rows / used, 4), occurrences=s.occurrences, expected_abs=round(expected, 6),
        excess=round(s.mean_abs - expected, 6),
    )


class GlobalImportance(Tool):
    name = "global_importance"
    planner_role = "aggregate"  # "which words drive the model there": attributions over a selection
    description = (
        "The words that drive the model's predictions across many rows: per-row attributions (the attribute tool, "
        "cached) aggregated over a selection, with bootstrap 95% intervals, the rows containing each word and a "
        "word-frequency baseline."
    )
    knowledge_card = "global_importance"
    Params = GlobalImportanceParams
    Output = GlobalImportanceOutput
    figure_name = "global-importance"
    figure_caption = ("Words with the highest and lowest mean attribution over the rows that contain them, with "
                      "bootstrap 95% intervals: blue pushes towards the target, red away.")
    triggers = (
        Trigger(_NO_INSTANCE + "(?:" + alternatives(
            r".*\bglobal(?:ly)?\b.*(?:importan|attribut|explanation|salien|features?|words?|tokens?)",
            r".*(?:importan|attribut|salien|features?|tokens?|words?)\w*\b.*\bglobally\b",  # "features globally"
            r".*\baggregat\w*\b.*(?:attribut|importan|salien|explanation)",
            r".*(?:attribut|importan|salien)\w*\b.*\baggregat",
            _OVERALL,
            _FOR_ROWS,
        ) + ")", priority=105),
        # "which words push the model towards positive overall?": before steer's "push the model" (65),
        # which steers one instance's activations; here words push, over many rows.
        Trigger(_NO_INSTANCE + rf"(?=.*\b(?:which|what) {_WORDS}\b.*\b(?:push|pull|nudge)\w* (?:the model|it)\b)"
                + "(?:" + alternatives(_OVERALL, _FOR_ROWS) + ")", priority=62),
        # "the ten words the model leans on most for product reviews": what it relies on over many rows
        Trigger(_NO_INSTANCE + rf".*\b{_WORDS}\b.*\b(?:the model|it) (?:leans?|relies?|depends?|counts?) on\b",
                priority=63),
        # "top 10 words driving negative predictions": words that drive predictions, in the plural
        Trigger(_NO_INSTANCE + rf".*\b{_WORDS}\s+(?:that\s+)?(?:driv|push|pull|caus|lead)\w*\s+(?:the\s+)?"
                r"(?:model'?s?\s+)?(?:\w+\s+)?(?:predictions|decisions|classifications)\b", priority=61),
    )
    intent_examples = (
        "which words make it say negative overall?",
        "what does the model rely on overall?",
        "global feature importance",
        "most important words across the dataset",
        "which words matter most for film reviews?",
        "which words drive the model's predictions across all reviews?",
        "aggregate the attributions over the negative reviews",
        "top 5 influential words over the whole dataset with integrated gradients",
        "what words push the model towards positive in general?",
        "which tokens matter most on average in the misclassified reviews?",
        "dataset-level word importance with lime",
        "globally, which features does the classifier depend on?",
        "what words does the model rely on in the long reviews?",
    )
    # A scope word ("overall", "across", "global", "aggregate") and a driving word together are exact
    # enough that the learned model (which reads "most important words across the dataset" as keywords,
    # a frequency count) never overrides them.
    precise = True
    needs_model = True
    examples = ("which words make it say negative overall?", "global feature importance on the negative reviews",
                "most important words across the dataset by integrated gradients")

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """The method named ('with lime'); the label the words push towards ('make it say
        negative', 'towards positive'), which is then not also a filter on the predictions; 'the
        mistakes' selects the misclassified rows; 'the most important word' asks for one."""
        if query.follow_up:
            return args
        if "method" not in args and (method := find_method(query.text)):
            args["method"] = method
        if query.k() is None and (one := query.singular_k()) is not None:
            args["k"] = one
        for label in query.labels:
            name = re.escape(label)
            if query.search(rf"\b(?:towards?|in favou?r of|evidence for|for the label|for label|push\w* (?:it |them |"
                            rf"the model )?(?:to|into)|makes? (?:it|the model|them) (?:say|predict|call|classify)"
                            rf"(?: it| them)?(?: as)?|lead (?:it|the model) to (?:say|predict))\s+(?:the label\s+)?"
                            rf"['\"]?{name}\b|\b(?:driv|push|caus|lead)\w* (?:the )?{name} predictions\b"
                            # "which words does the model lean on to call something positive"
                            rf"|\btowards? calling (?:a review |reviews |it |them |something )?(?:as )?(?:a |an )?"
                            rf"{name}\b"
                            rf"|\bto (?:call|label|classify|judge|deem|rate) (?:something|anything|a review|reviews"
                            rf"|a text|things|them|it)(?: as)? (?:a |an )?{name}\b"):
                args["target"] = label
                where = dict(args.get("where") or {})
                if where.get("prediction") == label and not query.search(rf"\bpredicted (?:as )?{name}\b"):
                    where.pop("prediction")  # "make the model predict negative" names the target, not a filter
                    if where:
                        args["where"] = where
                    else:
                        args.pop("where", None)
                break
        if query.search(r"\b(?:mistakes?|errors?|misclassifications?|gets? wrong)\b"):
            where = dict(args.get("where") or {})
            where.setdefault("correct", False)
            args["where"] = where
        return args

    def run(self, ctx: ToolContext, params: GlobalImportanceParams) -> GlobalImportanceOutput:
        from tools.batch import ToolWork, run_batch

        task = ctx.task
        if not task.is_classifier:
            raise ToolUnavailable("`global_importance` works on classifiers; the model is loaded for generation.",
                                  "Load it with --labels (or --task classify).")
        target = None
        if params.target is not None:
            target = next((label for label in task.labels if label.lower() == params.target.strip().lower()), None)
            if target is None:
                raise InputError(f"Unknown target label {params.target!r}.", f"Labels: {', '.join(task.labels)}.")
        selected = sorted(selected_rows(ctx, params.where), key=lambda r: r.id)
        selection = (params.where or Where()).describe()
        if not selected:
            raise InputError(f"No rows match: {selection}.")
        cap = params.max_rows or MAX_ROWS
        rows = selected[:cap]
        base = {key: value for key, value in (("method", params.method), ("target", target)) if value is not None}
        per_row, explained, method = [], Counter(), params.method
        cached = forwards = faithful = 0
        # Through the batch runner (issue 20): a killed run resumes from its table under the cache.
        done = run_batch(ctx, ToolWork("attribute", base), rows, ctx.settings.cache_dir / "batch",
                         quiet=ctx.workspace.quiet)
        for row in rows:
            result = done.results[row.id]
            if "error" in result:
                raise InputError(f"Row {row.id} cannot be attributed: {result['error']}")
            out = result["output"]
            per_row.append([(w["word"], w["score"]) for w in out["words"]])
            explained[out["target"]["label"]] += 1
            method = out["method"]
            was_cached = row.id not in done.fresh or bool(result.get("cached"))
            cached += int(was_cached)
            forwards += 0 if was_cached else int(out["forwards"])
            faithful += int(bool((out.get("faithfulness") or {}).get("beats_random")))
        seed = params.seed or 0
        resamples = params.resamples or RESAMPLES
        min_rows = params.min_rows or MIN_ROWS
        stats = aggregate(per_row, resamples=resamples, seed=seed)
        ranked = [s for s in stats if s.rows >= min_rows]
        intercept, slope, rho = frequency_fit(ranked)
        words = [_word(s, len(rows), intercept, slope) for s in ranked]
        k = params.k or 10
        towards = sorted((w for w in words if w.mean_score > 0), key=lambda w: (-w.mean_score, w.word))[:k]
        against = sorted((w for w in words if w.mean_score < 0), key=lambda w: (w.mean_score, w.word))[:k]
        beyond = sorted((w for w in words if w.excess > 0), key=lambda w: (-w.excess, w.word))[:k]
        return GlobalImportanceOutput(
            selection=selection, method=method, diagnostic_only=METHOD_INFO[method].diagnostic_only, target=target,
            explained=dict(sorted(explained.items())), rows_selected=len(selected), rows_used=[r.id for r in rows],
            max_rows=cap, truncated=len(selected) > cap, min_rows=min_rows, words_seen=len(stats),
            words_ranked=len(ranked), towards=towards, against=against, beyond_frequency=beyond,
            baseline=("mean |score| predicted from how many rows a word appears in alone: a least-squares line of "
                      "mean |score| against ln(rows) over the ranked words; excess = mean |score| - that line"),
            frequency_fit=FrequencyFit(intercept=round(intercept, 6), slope=round(slope, 6), words=len(ranked),
                                       correlation=None if rho is None else round(rho, 4)),
            faithful_rows=faithful, resamples=resamples, confidence=CONFIDENCE, seed=seed, cached_rows=cached,
            forwards=forwards,
        )

    # --- words -------------------------------------------------------------------------------
    def narrate(self, output: GlobalImportanceOutput, args: dict[str, Any]) -> str:
        o = output
        n = len(o.rows_used)
        scope = "rows" if o.selection == "all rows" else o.selection
        goal, towards_what = _goal(o)
        text = f"Across {n} {scope}, "
        if o.towards:
            text += f"the words that push towards {goal} most are " + ", ".join(_item(w) for w in o.towards) + "."
        else:
            text += f"no word that appears in at least {o.min_rows} rows pushes towards {goal} on average."
        if o.against:
            text += " The words that push against it most are " + ", ".join(_item(w) for w in o.against) + "."
        unstable = [w.word for w in (*o.towards, *o.against) if not w.stable]
        if unstable:
            text += (f" Unstable (the {o.confidence:.0%} interval crosses 0, so these rows do not settle the "
                     "direction): " + ", ".join(f"'{w}'" for w in unstable) + ".")
        elif o.towards or o.against:
            text += f" Every listed word's {o.confidence:.0%} interval stays on one side of 0."
        text += (f"\nHow: {o.method.replace('_', ' ')} attributions of each row towards {towards_what}, a word's "
                 f"score averaged over the rows that contain it, {o.confidence:.0%} bootstrap intervals over those "
                 f"rows ({o.resamples} resamples, seed {o.seed}); a word needs at least {o.min_rows} rows "
                 f"({o.words_ranked} of {o.words_seen} distinct words do).")
        if o.truncated:
            text += (f" The selection has {o.rows_selected} rows; I explained the first {n} by id "
                     f"(ids {o.rows_used[0]} to {o.rows_used[-1]}); raise max_rows for more.")
        fit = o.frequency_fit
        if o.beyond_frequency:
            text += ("\nFrequency baseline (the mean |score| a word's row count alone predicts, a line fitted over "
                     f"the {fit.words} ranked words): beyond it, " +
                     ", ".join(f"'{w.word}' ({w.excess:+.{_decimals(w.excess)}f} above, in {w.rows} rows)"
                               for w in o.beyond_frequency)
                     + ".")
            if fit.correlation is not None:
                text += (f" Row count and mean |score| correlate at {fit.correlation:+.2f} (Spearman) over those "
                         "words.")
        text += (f"\nFaithfulness: {o.faithful_rows} of {n} row attributions beat random rankings on both "
                 "comprehensiveness and sufficiency.")
        if o.cached_rows:
            text += f" {o.cached_rows} of {n} row attributions came from the cache."
        if o.diagnostic_only:
            text += " These are attention weights: where the model looked, not why it decided (a diagnostic only)."
        return text

    def caveats(self, ctx: ToolContext, params: GlobalImportanceParams, output: dict[str, Any]) -> list[str]:
        notes = []
        if output["target"] is None and len(output["explained"]) > 1:
            notes.append("Each row is explained towards its own predicted label, so a word's mean mixes rows "
                         "explained towards different labels; name a `target` label for a one-directional reading.")
        used = len(output["rows_used"])
        if used < 20:
            notes.append(f"Only {used} rows: the intervals are wide and the ranking is noisy.")
        if output["faithful_rows"] * 2 < used:
            notes.append(f"Only {output['faithful_rows']} of {used} row attributions beat random rankings, so the "
                         "ranking may say more about the method than about the model; compare another `method`.")
        return notes

    def figure(self, output: GlobalImportanceOutput, path: Path) -> Path | None:
        """Horizontal bars of the mean signed score, towards words on top, with the bootstrap intervals."""
        words = list(output.towards) + list(reversed(output.against))  # strongest towards first, then against
        if not words:
            return None
        from tools.figures import pyplot, save

        plt = pyplot()
        words = words[::-1]  # matplotlib draws the first bar at the bottom
        means = [w.mean_score for w in words]
        errors = [[w.mean_score - w.ci_low for w in words], [w.ci_high - w.mean_score for w in words]]
        colours = ["#2166ac" if m > 0 else "#b2182b" for m in means]
        fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(words) + 1.4))
        labels = [f"{w.word} ({w.rows})" + ("" if w.stable else " *") for w in words]
        ax.barh(range(len(words)), means, xerr=errors, color=colours, ecolor="#333", capsize=2)
        ax.set_yticks(range(len(words)), labels)
        ax.axvline(0, color="#555", linewidth=0.8)
        goal, _ = _goal(output)
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color="#2166ac", label=f"towards {goal}"), Patch(color="#b2182b", label="against")],
                  fontsize=8, loc="best", title="colour", title_fontsize=8)
        ax.set_xlabel(f"mean {output.method.replace('_', ' ')} score towards {goal} ({output.confidence:.0%} CI)")
        ax.set_title(f"Word importance over {len(output.rows_used)} rows (rows containing the word; * unstable)",
                     fontsize=9)
        return save(fig, path)


def _goal(o: GlobalImportanceOutput) -> tuple[str, str]:
    """(what the words push towards, what each row was explained towards), in words."""
    if o.target is not None:
        return o.target, f"{o.target} (for every row)"
    counts = ", ".join(f"{count} {label}" for label, count in o.explained.items())
    if len(o.explained) == 1:
        label = next(iter(o.explained))
        return label, f"its predicted label ({counts})"
    return "the model's prediction", f"its predicted label ({counts})"


def _decimals(x: float) -> int:
    """3 decimals, or up to 6 so that a small score keeps two significant digits (never '-0.000')."""
    import math

    if x == 0 or abs(x) >= 0.01:
        return 3
    return max(3, min(6, 1 - math.floor(math.log10(abs(x)))))


def _item(w: WordImportance) -> str:
    d = _decimals(w.mean_score)
    mark = ", unstable" if not w.stable else ""
    return (f"'{w.word}' ({w.mean_score:+.{d}f}, CI {w.ci_low:+.{d}f} to {w.ci_high:+.{d}f}, "
            f"in {w.rows} rows{mark})")

