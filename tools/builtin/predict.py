"""predict: the model's prediction for one row or text, with probabilities."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from tools.base import InstanceParams, Tool
from tools.context import ToolContext
from tools.data.dataset import validate_text

LOW_LABEL_MASS = 0.05


def resolve_instance(ctx: ToolContext, params: InstanceParams) -> tuple[str, dict[str, Any]]:
    """The text to run and what to say about where it came from (row id and gold label)."""
    if params.id is not None:
        row = ctx.dataset.get(params.id)
        return row.text, {"id": row.id, "gold_label": row.label}
    return validate_text(params.text or ""), {}


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
