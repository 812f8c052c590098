"""score and mistakes: how well the model does on a selection of rows (metrics from scikit-learn)."""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field
from sklearn import metrics as skm

from tools.base import Params, Tool
from tools.common import labelled_rows, row_view
from tools.context import ToolContext
from tools.errors import InputError
from tools.planning import Trigger, alternatives
from tools.where import Where

METRICS = ("accuracy", "f1", "precision", "recall", "roc_auc")
SMALL_SAMPLE = 30


class ScoreParams(Params):
    metric: Literal["accuracy", "f1", "precision", "recall", "roc_auc"] = "accuracy"
    where: Where | None = None
    average: Literal["macro", "micro", "weighted"] | None = Field(
        default=None, description="averaging over labels for f1/precision/recall (default macro)"
    )


def compute_score(metric: str, gold: list[str], predicted: list[str], probs: np.ndarray, labels: list[str], average: str) -> tuple[float, dict[str, float]]:
    """The headline value and, for f1/precision/recall, the per-label values."""
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
    METRIC_CARDS = {"accuracy": "accuracy", "f1": "f1", "precision": "precision_recall", "recall": "precision_recall", "roc_auc": "roc_auc"}

    def card_for(self, params, output):
        return self.METRIC_CARDS[params.metric]

    Params = ScoreParams
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

    def run(self, ctx: ToolContext, params: ScoreParams) -> dict[str, Any]:
        rows = labelled_rows(ctx, params.where)
        table = ctx.predictions()
        index = {row_id: i for i, row_id in enumerate(table.ids)}
        gold = [r.label for r in rows]
        probs = table.probs[[index[r.id] for r in rows]]
        predicted = [table.labels[i] for i in probs.argmax(axis=1)]
        average = params.average or "macro"
        value, per_label = compute_score(params.metric, gold, predicted, probs, table.labels, average)
        return {
            "metric": params.metric,
            "average": average if params.metric in ("f1", "precision", "recall") else None,
            "value": round(value, 4),
            "per_label": {k: round(v, 4) for k, v in per_label.items()},
            "rows": len(rows),
            "correct": int(sum(g == p for g, p in zip(gold, predicted))),
            "selection": (params.where or Where()).describe(),
            "majority_baseline": round(max(gold.count(l) for l in set(gold)) / len(gold), 4),
        }

    def caveats(self, ctx, params, output):
        notes = []
        if output["rows"] < SMALL_SAMPLE:
            notes.append(f"Only {output['rows']} rows: the {output['metric']} figure is noisy.")
        if output["metric"] in ("f1", "precision", "recall") and output["majority_baseline"] == 1.0:
            notes.append("All selected rows share one gold label, so the other labels' scores are 0 and pull the average down.")
        return notes


class MistakesParams(Params):
    mode: Literal["count", "sample"] = "sample"
    k: int | None = Field(default=None, ge=1, le=50)
    where: Where | None = None


class Mistakes(Tool):
    name = "mistakes"
    description = "Misclassified rows: how many (mode=count) or the k most confident ones (mode=sample)."
    knowledge_card = "mistakes"
    Params = MistakesParams
    triggers = (
        Trigger(alternatives(
            r"(?:predicts?|predicting|predicted|forecasts?|classif\w*|gets?|"
            r"got|labell?ed) (?:\w+ )?(?:incorrectly|falsely|inaccurately|"
            r"wrong(?:ly)?)",
            r"\bmistakes?\b",
            r"\berrors?\b",
            r"misclassif",
            r"\bwrong(?:ly)?\b",
            r"incorrect(?:ly)?\b",
            r"\bmispredict",
            r"\berrs?\b",
            r"\binaccuracies\b",
            r"\bfailures?\b",
        ), priority=110),
    )
    intent_examples = (
        "how many wrong predictions are there?",
        "show me some errors",
        "which reviews are misclassified?",
        "list the examples the model gets wrong",
        "how many errors on reviews about service?",
        "give me 3 misclassified rows",
    )
    needs_model = True
    examples = ("how many mistakes does it make?", "show me 3 mistakes")

    def run(self, ctx: ToolContext, params: MistakesParams) -> dict[str, Any]:
        rows = labelled_rows(ctx, params.where)
        table = ctx.predictions()
        predicted, confidence = table.predicted, table.confidence()
        wrong = [r for r in rows if predicted[r.id] != r.label]
        out: dict[str, Any] = {
            "mode": params.mode,
            "selection": (params.where or Where()).describe(),
            "rows": len(rows),
            "mistakes": len(wrong),
            "error_rate": round(len(wrong) / len(rows), 4),
            "by_gold_label": {
                label: sum(1 for r in wrong if r.label == label) for label in sorted({r.label for r in rows})
            },
        }
        if params.mode == "sample":
            k = params.k or 5
            wrong.sort(key=lambda r: (-confidence[r.id], r.id))  # most confident errors first
            out["examples"] = [row_view(ctx, r, with_prediction=True) for r in wrong[:k]]
        return out
