"""predict: the model's prediction for one row or text, with probabilities."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from tools.base import InstanceParams, Tool
from tools.common import resolve_instance
from tools.context import ToolContext
from tools.planning import Trigger, alternatives

LOW_LABEL_MASS = 0.05


class PredictParams(InstanceParams):
    max_new_tokens: int | None = Field(default=None, ge=1, le=256, description="generation only")


class Predict(Tool):
    name = "predict"
    knowledge_card = "predict"
    description = (
        "The model's prediction for a row or a text: the label with probabilities (classification) "
        "or the continuation with each token's probability (generation)."
    )
    Params = PredictParams
    triggers = (
        Trigger(alternatives(
            r"\bconfidence scores?\b",
            r"\blikel(?:y|ihood)\b",
            r"probab",
            r"confiden",
            r"how sure",
            r"certain",
            r"\bpredict",
            r"prediction",
            r"inference",
            r"\bclassif",
            r"what (?:does|would) (?:the model|it) (?:say|think|output|answer)",
            r"what label",
            r"\bcontinue\b",
            r"\bcomplete\b",
            r"what comes next",
            r"\bsentiment of\b",
            r"\boutput\b",
            r"\bgenerate\b",
            r"\banswer\b",
        ), priority=230),
    )
    intent_examples = (
        "what does the model predict for row 9?",
        "how sure is the model about review 14?",
        "what is the predicted label of item 6?",
        "classify 'the screen cracked after a week'",
        "what probability does the model give review 3?",
        "deliver the prediction for instance 94",
        "run the model on review 41",
    )
    needs_model = True
    cacheable = True
    examples = ("what does the model predict for review 12?", "what does it predict for 'the battery died after a day'?")

    def run(self, ctx: ToolContext, params: PredictParams) -> dict[str, Any]:
        text, origin = resolve_instance(ctx, params)
        task = ctx.task
        if task.is_classifier:
            probs, mass = task.predict_proba([text])  # type: ignore[attr-defined]
            distribution = {label: round(float(p), 6) for label, p in zip(task.labels, probs[0])}
            label = max(distribution, key=distribution.get)
            out = {"kind": "classification", "text": text, "label": label, "probability": distribution[label],
                   "probabilities": distribution, "label_mass": round(float(mass[0]), 6), **origin}
            if "gold_label" in origin:
                out["correct"] = origin["gold_label"] == label if origin["gold_label"] is not None else None
            return out
        generation = task.generate(text, params.max_new_tokens)  # type: ignore[attr-defined]
        return {
            "kind": "generation", "text": text, "continuation": generation.text,
            "tokens": [{"token": t, "probability": round(p, 6)} for t, p in zip(generation.tokens, generation.token_probs)],
            "stopped": generation.stopped, **origin,
        }

    def caveats(self, ctx, params, output):
        notes = []
        if output.get("kind") == "classification":
            if output["label_mass"] < LOW_LABEL_MASS:
                notes.append(
                    f"The model put only {output['label_mass']:.1%} of its next-token probability on the label words; "
                    "the label probabilities are renormalised and calibrated from that small share."
                )
            if output["probability"] < 0.6:
                notes.append("The prediction is close to a coin flip.")
        return notes
