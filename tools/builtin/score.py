"""score: how well the model does on a selection of rows (accuracy, f1, precision, recall,
roc_auc, from scikit-learn), against the majority-label baseline."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tools.base import Output, Params, Tool
from tools.common import labelled_rows
from tools.errors import InputError
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


class ScoreParams(Params):
    metric: Metric = "accuracy"
    where: Where | None = None
    average: Literal["macro", "micro", "weighted"] | None = Field(
        default=None, description="averaging over labels for f1/precision/recall (default macro)"
    )


class ScoreOutput(Output):
    metric: Metric
    average: str | None  # f1/precision/recall only
    value: float
    per_label: dict[str, float]  # f1/precision/recall only ({} otherwise)
    rows: int  # labelled rows scored
    correct: int
    selection: str  # the filter in words ("all rows" without one)
    majority_baseline: float  # accuracy of always predicting the most common gold label


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


class Score(Tool):
    name = "score"
    description = "Model performance (accuracy, f1, precision, recall, roc_auc) on the rows matching a filter."
    Params = ScoreParams
    Output = ScoreOutput
    triggers = (
        Trigger(alternatives(
            r"rate .* correct",
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
        """One call per metric named ('the recall and the f1 on long reviews'); accuracy by default."""
        if query.follow_up:
            return args
        metrics = query.metrics()
        if len(metrics) > 1:
            return [{**args, "metric": metric} for metric in metrics]
        args["metric"] = query.metric() or args.get("metric") or "accuracy"
        return args

    def run(self, ctx: ToolContext, params: ScoreParams) -> ScoreOutput:
        rows = labelled_rows(ctx, params.where)
        table = ctx.predictions()
        index = {row_id: i for i, row_id in enumerate(table.ids)}
        gold = [r.label for r in rows]
        probs = table.probs[[index[r.id] for r in rows]]
        predicted = [table.labels[i] for i in probs.argmax(axis=1)]
        average = params.average or "macro"
        value, per_label = compute_score(params.metric, gold, predicted, probs, table.labels, average)
        return ScoreOutput(
            metric=params.metric,
            average=average if params.metric in PER_LABEL else None,
            value=round(value, 4),
            per_label={k: round(v, 4) for k, v in per_label.items()},
            rows=len(rows),
            correct=int(sum(g == p for g, p in zip(gold, predicted))),
            selection=(params.where or Where()).describe(),
            majority_baseline=round(max(gold.count(label) for label in set(gold)) / len(gold), 4),
        )

    def caveats(self, ctx: ToolContext, params: ScoreParams, output: dict[str, Any]) -> list[str]:
        notes = []
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
        return text
