"""attribute: which input words drove the prediction (or the generated answer), with faithfulness."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tools.attribution.catalog import NAMES as METHODS
from tools.attribution.catalog import WORDING as METHOD_WORDING
from tools.attribution.catalog import MethodName
from tools.attribution.engine import Request, explain
from tools.base import InstanceParams, Tool
from tools.common import resolve_instance
from tools.context import ToolContext
from tools.errors import InputError
from tools.planning import Trigger, alternatives

# Chosen on the demo data by benchmarks/attribution_faithfulness.py (see README): the fastest
# method that beats the random ranking on both AOPC measures most often.
DEFAULT_METHOD = "occlusion"
# "the most important words", "which features were decisive": an adjective and a feature noun.
_FEATURES = r"(?:features?|tokens?|words?|characteristics|parts?|attributions?|terms?)"
_ADJ = (r"(?:important|influential|relevant|critical|key|major|significant|essential|decisive|top|salient|main"
        r"|dominant)")

class AttributeParams(InstanceParams):
    method: MethodName | None = None
    k: int | None = Field(default=None, ge=1, le=100, description="how many top words to list")
    target: str | None = Field(default=None, description="label to explain (default: the predicted one); with output=answer, an answer text")
    contrast: str | None = Field(default=None, description="explain `target` rather than this label")
    output: Literal["label", "answer"] | None = Field(default=None, description="explain the label (classifiers) or the generated answer")
    per_token: bool | None = Field(default=None, description="generation: one row per answer token")
    steps: int | None = Field(default=None, ge=4, le=256, description="integrated gradients: starting step count")
    samples: int | None = Field(default=None, ge=8, le=4096, description="kernel_shap / lime samples")
    seed: int | None = None
    unit: Literal["word", "token"] | None = None


class Attribute(Tool):
    name = "attribute"
    description = (
        "Which input words drove the prediction (or the generated answer), with a faithfulness check "
        "(ERASER comprehensiveness/sufficiency against random rankings). Methods: " + ", ".join(METHODS) + "."
    )
    Params = AttributeParams
    triggers = (
        Trigger(alternatives(
            rf"\b{METHOD_WORDING}\b",
            rf"\b{_ADJ}\b.*\b{_FEATURES}\b",
            rf"\b{_FEATURES}\b.*\b{_ADJ}\b",
            r"\bwhy\b",
            r"importance",
            r"attribut",
            r"salien",
            r"heat ?map",
            r"drove",
            r"\bdrive[sn]?\b",
            r"contribut",
            r"\bexplain",
            r"explanation",
            r"reasons? for",
            r"\brel(?:y|ies) on\b",
            r"how (?:does |did |do )?(?:the |this |your )?model (?:decide|"
            r"decided|decides|arrive|arrived|arrives|come|came|reach|reached)",
            r"which (?:words?|tokens?|parts?)",
            r"what (?:words?|tokens?) (?:made|make|caused|led)",
        ), priority=200),
    )
    intent_examples = (
        "why did the model predict review 8 like that?",
        "which words mattered for item 5?",
        "explain the prediction for row 77",
        "top 4 tokens for review 2 with lime",
        "show a heatmap of attributions for review 20",
        "what parts of review 6 pushed it to positive?",
        "integrated gradients for id 4",
        "primary features of review 110 by input gradient",
        "the most important word for item 3",
        "what five features most influence the prediction for review 15?",
    )
    needs_model = True
    cacheable = True
    version = "1"
    examples = ("why did it call review 12 negative?", "top 3 words for id 78 by integrated gradients",
                "which prompt words drove the answer to 'My favourite food is'?")

    def run(self, ctx: ToolContext, params: AttributeParams) -> dict[str, Any]:
        text, origin = resolve_instance(ctx, params)
        task = ctx.task
        wants_answer = params.output == "answer" or not task.is_classifier
        if params.contrast and wants_answer:
            raise InputError("A contrast label only applies to classification.")
        request = Request(
            method=params.method or DEFAULT_METHOD,
            explain_answer=wants_answer,
            label=None if wants_answer else params.target,
            contrast=params.contrast,
            answer=params.target if wants_answer else None,
            per_output=bool(params.per_token),
            steps=params.steps or 32,
            samples=params.samples,
            seed=params.seed or 0,
            unit=params.unit or "word",
            max_new_tokens=min(ctx.settings.max_new_tokens, 20),
        )
        result = explain(ctx.model, task, text, request, k=params.k or 5)
        return {"text": text, **origin, **result}

    def card_for(self, params, output):
        return output["method"]  # each method has its own card, caveat and source

    def caveats(self, ctx, params, output):
        notes = []
        info = output.get("method_info", {})
        if output["method"] == "integrated_gradients" and not info.get("converged", True):
            notes.append(
                f"Integrated gradients did not converge: after {info['steps']} steps the attributions still miss "
                f"f(x) - f(baseline) by {info['relative_delta']:.0%} (target under {info['tolerance']:.0%})."
            )
        faith = output.get("faithfulness")
        if faith and not faith["beats_random"]:
            notes.append(f"This explanation {faith['verdict']}; treat its ranking with caution.")
        return notes
