"""score: how well the model does on a selection of rows (accuracy, f1, precision, recall,
roc_auc, from scikit-learn), against the majority-label baseline."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tools.base import Output, Params, Tool
from tools.common import labelled_rows
from tools.errors import InputError
from tools.label_checks import coded_labels_note, label_set_notes, never_predicted, unproducible_gold
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    import numpy as np

    from tools.context import ToolContext

METRICS = ("accuracy", "f1", "precision", "recall", "roc_auc")  # the one list of metric names
Metric = Literal[METRICS]  # type: ignore[valid-type]
PER_LABEL = ("f1", "precision", "recall")  # metrics averaged over labels, with per-label values
METRIC_NAMES = {"accuracy": "accuracy", "f1": "F1", "precision": "precision", "recall": "recall", "roc_auc": "ROC AUC"}
METRIC_CARDS = {"accuracy": "accuracy", "f1": "f1", "precision": "precision_recall", "recall": "precision_recall",
                "roc_auc": "roc_auc"}
if not set(METRIC_NAMES) == set(METRIC_CARDS) == set(METRICS):
    raise TypeError("score: every metric in METRICS needs a display name and a knowledge card")
SMALL_SAMPLE = 30  # fewer rows than this: the figure is noisy (a caveat)
MAX_GROUPS = 20  # `by` needs a column with few values (a domain, a source), not free text
BOOTSTRAP = 1000  # resamples for the 95% interval of a group's figure (seeded: the same answer twice)


class ScoreParams(Params):
    metric: Metric = "accuracy"
    where: Where | None = None
    average: Literal["macro", "micro", "weighted"] | None = Field(
        default=None, description="averaging over labels for f1/precision/recall (default macro)"
    )
    by: str | None = Field(default=None, description="a column of the dataset: one figure per value (e.g. domain)")


class GroupScore(Output):
    """The figure on the rows whose `by` column has this value."""

    value: str
    score: float | None  # None: not computable on this group (roc_auc with one gold label)
    ci95: tuple[float, float] | None  # bootstrap over the group's rows
    rows: int
    correct: int


class ScoreOutput(Output):
    metric: Metric
    average: str | None  # f1/precision/recall only
    value: float
    per_label: dict[str, float]  # f1/precision/recall only ({} otherwise)
    rows: int  # labelled rows scored
    correct: int
    selection: str  # the filter in words ("all rows" without one)
    majority_baseline: float  # accuracy of always predicting the most common gold label
    by: str | None = None  # the column of `groups`
    groups: list[GroupScore] | None = None  # one per value of `by`, best first
    model_labels: list[str] | None = None  # the labels the model can predict
    label_mass: float | None = None  # mean share of the answer on the label words (label-word classifiers)
    unproducible: dict[str, int] = Field(default_factory=dict)  # gold labels the model has no label for: rows
    never_predicted: list[str] = Field(default_factory=list)  # model labels no selected row gets


def _label_words(ctx: ToolContext) -> bool:
    """Whether the predictions come from label words (a mass to report), without loading the model."""
    workspace = getattr(ctx, "workspace", None)
    return str(getattr(workspace, "task_signature", "")).startswith("label_words")


def compute_score(metric: str, gold: list[str], predicted: list[str], probs: np.ndarray, labels: list[str],
                  average: str) -> tuple[float, dict[str, float]]:
    """The headline value and, for f1/precision/recall, the per-label values."""
    from sklearn import metrics as skm

    if metric == "accuracy":
        return float(skm.accuracy_score(gold, predicted)), {}
    if metric == "roc_auc":
        present = sorted(set(gold))
        if len(present) < 2:
            raise InputError("ROC AUC needs rows of at least two gold labels in the selection.")
        if len(labels) == 2:
            return float(skm.roc_auc_score([g == labels[1] for g in gold], probs[:, 1])), {}
        return float(skm.roc_auc_score(gold, probs, multi_class="ovr", average="macro", labels=labels)), {}
    fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[metric]
    headline = float(fn(gold, predicted, labels=labels, average=average, zero_division=0))
    per_label = fn(gold, predicted, labels=labels, average=None, zero_division=0)
    return headline, {label: float(v) for label, v in zip(labels, per_label)}


def group_scores(ctx: ToolContext, params: ScoreParams, rows: list, gold: list[str], predicted: list[str],
                 probs: np.ndarray, labels: list[str], average: str) -> list[GroupScore]:
    """One figure per value of the `by` column, with a seeded bootstrap 95% interval over the rows."""
    import numpy as np

    column = params.by or ""
    values = [row.extra.get(column) for row in rows]
    if column == "label" and all(v is None for v in values):  # "is it better on gold positive or negative?"
        values = list(gold)
    if all(v is None for v in values):
        known = [c for c in ctx.dataset.columns if any(r.extra.get(c) is not None for r in ctx.dataset.rows[:50])]
        raise InputError(f"The dataset has no column {column!r} to group by.",
                         f"Other columns: {', '.join(known) or '(none)'}.")
    distinct = sorted({str(v) for v in values if v is not None})
    if len(distinct) > MAX_GROUPS:
        raise InputError(f"Column {column!r} has {len(distinct)} different values; `by` needs one with at most "
                         f"{MAX_GROUPS} (a domain or a source, not free text).")
    rng = np.random.default_rng(0)
    out = []
    for value in distinct:
        idx = [i for i, v in enumerate(values) if v is not None and str(v) == value]
        g, p, pr = [gold[i] for i in idx], [predicted[i] for i in idx], probs[idx]
        try:
            score, _ = compute_score(params.metric, g, p, pr, labels, average)
        except InputError:
            score = None
        samples = []
        for _ in range(BOOTSTRAP if score is not None and len(idx) > 1 else 0):
            pick = rng.integers(0, len(idx), len(idx))
            try:
                samples.append(compute_score(params.metric, [g[i] for i in pick], [p[i] for i in pick], pr[pick],
                                             labels, average)[0])
            except InputError:
                continue  # a resample with one gold label has no ROC AUC
        ci = None
        if samples:
            ci = (round(float(np.percentile(samples, 2.5)), 4), round(float(np.percentile(samples, 97.5)), 4))
        out.append(GroupScore(value=value, score=None if score is None else round(score, 4), ci95=ci, rows=len(idx),
                              correct=int(sum(a == b for a, b in zip(g, p)))))
    return sorted(out, key=lambda grp: (grp.score is None, -(grp.score or 0.0), grp.value))


class Score(Tool):
    name = "score"
    description = "Model performance (accuracy, f1, precision, recall, roc_auc) on the rows matching a filter."
    Params = ScoreParams
    Output = ScoreOutput
    triggers = (
        Trigger(alternatives(
            r"rate .* correct",
            r"\bhow (?:does|did|do) (?:it|the model) (?:do|fare|perform)\b",  # "how does it do on the long reviews"
            # "is it better at spotting positive reviews or negative ones?"
            r"\b(?:better|worse) at (?:spotting|detecting|catching|recogni[sz]ing|finding|getting|judging) ",
            r"(?:get|gets|getting) (?:it|them|things) (?:correct|right)",
            r"correct predictions",
            r"accura",
            r"\bf1\b",
            r"f-score",
            r"precision",
            r"recall",
            r"roc\b",
            r"roc[ _-]?auc",
            r"\bauc\b",
            r"performance",
            r"how (?:well|good) .* perform",
            r"how (?:well|good) (?:does|is)",
            r"\bscores?\b",
            r"how often .* (?:right|correct)",
        ), priority=240),
        # LIT's "metrics table sliced by label": only a score's request says it
        Trigger(r"\bmetrics? (?:table|panel|summary|dashboard)\b", priority=240, exact=True),
    )
    intent_examples = (
        "how accurate is the model?",
        "what's the f1?",
        "what's the precision on negative reviews?",
        "how well does it do on long reviews?",
        "how often is the model right?",
        "what's the rate of correct predictions?",
        "compute the roc auc on reviews about food",
        "how good is the model at classifying short reviews?",
    )
    needs_model = True
    examples = ("what's the accuracy?", "f1 on reviews that mention price")

    def card_for(self, params: ScoreParams, output: dict[str, Any]) -> str | None:
        return METRIC_CARDS[params.metric]

    planner_role = "metric"  # "what's the accuracy?" asks for a number

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
        """One call per metric named ('the recall and the f1 on long reviews'); none named: the default."""
        if query.follow_up:
            return args
        metrics = query.metrics()
        if len(metrics) > 1:
            return [{**args, "metric": metric} for metric in metrics]
        metric = query.metric() or args.get("metric")
        if metric:  # tools.md: omit what the user did not ask for; the tool's default is accuracy
            args["metric"] = metric
        return args

    figure_name = "score-by"
    figure_caption = "The figure per group with its 95% bootstrap interval; the dashed line is all rows together."

    def run(self, ctx: ToolContext, params: ScoreParams) -> ScoreOutput:
        rows = labelled_rows(ctx, params.where)
        table = ctx.predictions()
        index = {row_id: i for i, row_id in enumerate(table.ids)}
        gold = [r.label for r in rows]
        probs = table.probs[[index[r.id] for r in rows]]
        predicted = [table.labels[i] for i in probs.argmax(axis=1)]
        average = params.average or "macro"
        value, per_label = compute_score(params.metric, gold, predicted, probs, table.labels, average)
        positions = [index[r.id] for r in rows]
        mass = float(table.label_mass[positions].mean()) if _label_words(ctx) else None
        groups = None
        if params.by is not None:
            groups = group_scores(ctx, params, rows, gold, predicted, probs, table.labels, average)
        return ScoreOutput(
            by=params.by,
            groups=groups,
            metric=params.metric,
            average=average if params.metric in PER_LABEL else None,
            value=round(value, 4),
            per_label={k: round(v, 4) for k, v in per_label.items()},
            rows=len(rows),
            correct=int(sum(g == p for g, p in zip(gold, predicted))),
            selection=(params.where or Where()).describe(),
            majority_baseline=round(max(gold.count(label) for label in set(gold)) / len(gold), 4),
            model_labels=list(table.labels),
            label_mass=None if mass is None else round(mass, 4),
            unproducible=unproducible_gold(table.labels, gold),
            never_predicted=never_predicted(table.labels, predicted),
        )

    def caveats(self, ctx: ToolContext, params: ScoreParams, output: dict[str, Any]) -> list[str]:
        notes = label_set_notes(output.get("model_labels") or [], output.get("unproducible") or {},
                                output.get("never_predicted") or [], output["rows"], output.get("label_mass"))
        coded = coded_labels_note(output.get("model_labels") or [], ctx)  # "0"/"1" with no names for them
        notes = [coded, *notes] if coded else notes
        if output["metric"] == "accuracy" and output["value"] == 0 and not output.get("unproducible"):
            notes.append("Warning: no selected row is predicted correctly; check that the labels the model answers "
                         "with mean the same as the gold labels.")
        if output["rows"] < SMALL_SAMPLE:
            notes.append(f"Only {output['rows']} rows: the {output['metric']} figure is noisy.")
        if output["metric"] in PER_LABEL and output["majority_baseline"] == 1.0:
            notes.append("All selected rows share one gold label, so the other labels' scores are 0 "
                         "and pull the average down.")
        return notes

    def narrate(self, output: ScoreOutput, args: dict[str, Any]) -> str:
        o = output
        avg = f" ({o.average}-averaged)" if o.average else ""
        scope = "all rows" if o.selection == "all rows" else o.selection
        text = f"The model's {METRIC_NAMES[o.metric]}{avg} on {scope} is {o.value:.3f}"
        if o.metric == "accuracy":
            text += f": {o.correct} of {o.rows} rows correct"
            text += f". Always predicting the majority label would give {o.majority_baseline:.3f}."
        else:
            text += f" over {o.rows} rows."
        if o.per_label:
            text += " Per label: " + ", ".join(f"{k} {v:.3f}" for k, v in o.per_label.items()) + "."
        if o.groups:
            text += "\n" + self._narrate_groups(o)
        return text

    @staticmethod
    def _narrate_groups(o: ScoreOutput) -> str:
        """Per group, best first; says whether the best and worst groups' intervals overlap."""
        parts = []
        for grp in o.groups or []:
            figure = "n/a" if grp.score is None else f"{grp.score:.3f}"
            ci = f", 95% CI {grp.ci95[0]:.3f}-{grp.ci95[1]:.3f}" if grp.ci95 else ""
            parts.append(f"{grp.value} {figure} ({grp.correct}/{grp.rows} correct{ci})")
        text = f"By {o.by}: " + "; ".join(parts) + "."
        scored = [grp for grp in o.groups or [] if grp.score is not None and grp.ci95]
        if len(scored) >= 2:
            best, worst = scored[0], scored[-1]
            if best.ci95[0] > worst.ci95[1]:
                text += f" It does better on {best.value} than on {worst.value}: their intervals do not overlap."
            else:
                text += (f" Best: {best.value}; worst: {worst.value}. Their intervals overlap, so the difference "
                         "may be chance.")
        return text

    def figure(self, output: ScoreOutput, path: Path) -> Path | None:
        if not output.groups:
            return None
        from tools.figures import pyplot, save

        plt = pyplot()
        groups = [grp for grp in output.groups if grp.score is not None]
        fig, ax = plt.subplots(figsize=(7, 0.5 * len(groups) + 1.2))
        y = list(range(len(groups)))[::-1]
        lows = [grp.score - grp.ci95[0] if grp.ci95 else 0 for grp in groups]
        highs = [grp.ci95[1] - grp.score if grp.ci95 else 0 for grp in groups]
        ax.barh(y, [grp.score for grp in groups], xerr=[lows, highs], color="#2166ac", capsize=3)
        ax.set_yticks(y, [f"{grp.value} ({grp.rows})" for grp in groups])
        ax.axvline(output.value, color="#b2182b", linestyle="--", label=f"all rows {output.value:.3f}")
        ax.set_xlim(0, 1.02)
        ax.set_xlabel(METRIC_NAMES[output.metric])
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title(f"{METRIC_NAMES[output.metric]} by {output.by}", fontsize=10, loc="left")
        return save(fig, path)
