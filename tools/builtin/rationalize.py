"""rationalize: the model's own free-text explanation of its prediction (asked through its chat
template), then two faithfulness checks of the words it cites: do they match the attribution's
top words, and does deleting them lower the predicted label's probability more than deleting as
many random words? (After Atanasova et al., 2023, and Lanham et al., 2023.)"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import numpy as np

from tools.base import InstanceParams, Output, Tool
from tools.common import classifier_setup, resolve_instance
from tools.counterfactuals.edits import parts
from tools.counterfactuals.lexicon import FUNCTION_WORDS
from tools.errors import ToolUnavailable
from tools.narration import quote, subject
from tools.planning import Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext

RANDOM_DRAWS = 10


class RationalizeParams(InstanceParams):
    pass


class RationaleChecks(Output):
    """How the cited words compare with the attribution; the deletion test only when words are cited."""

    attribution_method: str
    attribution_top_words: list[str]
    agreement: float | None = None  # share of the cited words among the attribution's top words
    probability_after_removing_cited: float | None = None
    drop: float | None = None  # fall of the predicted label's probability without the cited words
    random_drop: float | None = None  # the same for as many random content words (mean of RANDOM_DRAWS)
    prediction_after_removing_cited: str | None = None


class RationalizeOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    prediction: str
    probability: float
    explanation: str
    cited_words: list[str]
    checks: RationaleChecks
    verdict: str


def cited_words(explanation: str, words: list[str], labels: list[str]) -> list[str]:
    """Content words of the input that the explanation mentions (label names excluded)."""
    mentioned = {parts(w)[1].lower() for w in explanation.split()}
    out = []
    for w in words:
        core = parts(w)[1].lower()
        if core and core in mentioned and core not in FUNCTION_WORDS and core not in {n.lower() for n in labels} \
                and core not in out:
            out.append(core)
    return out


def without(words: list[str], remove: set[str]) -> str:
    kept = [w for w in words if parts(w)[1].lower() not in remove]
    return " ".join(kept) if kept else "."


class Rationalize(Tool):
    name = "rationalize"
    description = "The model's own free-text explanation of its prediction, with a check of how faithful it is."
    Params = RationalizeParams
    Output = RationalizeOutput
    answers_also = r"\bfaithful\w*|\bfaithfulness\b"
    triggers = (
        Trigger(alternatives(
            r"rationali[sz]",
            r"\bexplain (?:him|her|it|them)sel(?:f|ves)\b",  # "let him explain himself"
            r"\bwhat reasons? (?:does|do|would|did) (?:the model|it) (?:give|offer|state|provide)\b",
            r"\b(?:the model'?s|its) own (?:explanation|account|reasoning|words)\b",
            r"rationale",
            r"justif",
            r"in (?:your|its) own words",
            r"natural[- ]language",
            r"everyday language",
            r"plain(?:[- ]english| language| words| terms)",
            r"simple (?:terms|words|language)",
            r"layman",
            r"understandable",
            r"comprehensible",
            r"reasoning\b",
            r"(?:verbal|textual) explanation",
            r"expound",
            r"shed light on (?:id|item|instance|data|review)",
            r"\binterpret (?:id|item|instance|review|data)",
            r"detailed explanation",
            r"give an account",
            r"simplify the explanation",
            r"explanation for the output",
            r"self[- ]?explan",
            r"explain (?:itself|its own)",
            r"its own (?:decision|explanation|reasons?|words)",
            r"(?:the|this) model itself (?:say|says|tell|explain|think)",
            r"\bask (?:the|this) model (?:itself )?(?:why|to explain)",
            r"how does (?:the|this) model (?:justify|explain itself)",
            r"\bargue\b",
        ), priority=170),
    )
    intent_examples = (
        "why does the model think review 4 is negative, in its own words?",
        "give a rationale for item 2",
        "justify the prediction for row 8",
        "clarify review 43 with a reason",
        "break down review 27 with a clear explanation in words",
        "ask the model to explain review 5",
    )
    needs_model = True
    cacheable = True
    version = "2"  # 2: its attribution overlap uses deletion occlusion (attribute v2, issue 18)
    knowledge_card = "rationalize"
    examples = ("ask the model why it called review 7 negative",
                "how does the model justify its answer for 'great food'?")

    concept_topic = r"rationale"

    def run(self, ctx: ToolContext, params: RationalizeParams) -> RationalizeOutput:
        from tools.models.tasks import GenerationTask
        from tools.registry import run_tool

        text, origin = resolve_instance(ctx, params)
        setup = classifier_setup(ctx, text, self.name)
        words, score, labels, probs, label = setup.words, setup.score, setup.labels, setup.original, setup.current
        handle = ctx.model
        if handle.kind != "causal_lm":
            raise ToolUnavailable(
                "`rationalize` asks the model to explain itself in words; a sequence classifier cannot write text.")
        question = (f"Review: {text}\n\nYou judged this review {labels[label]}. In one sentence, quote the words of "
                    "the review that made you decide.")
        generation = GenerationTask(handle, max_new_tokens=48).generate(question)
        explanation = generation.text.strip()
        cited = cited_words(explanation, words, labels)
        instance = {"id": params.id} if params.id is not None else {"text": text}
        attribution = run_tool(ctx, "attribute", {**instance, "k": max(3, len(cited))}).output
        top = [parts(w["word"])[1].lower() for w in attribution["top"]]
        agreement = round(len(set(cited) & set(top)) / len(cited), 4) if cited else None
        checks = RationaleChecks(attribution_method=attribution["method"], attribution_top_words=top,
                                 agreement=agreement)
        if cited:
            removed = score([without(words, set(cited))])[0]
            rng = random.Random(0)
            content = sorted({parts(w)[1].lower() for w in words if parts(w)[1]} - set(cited))
            random_texts = [without(words, set(rng.sample(content, min(len(cited), len(content)))))
                            for _ in range(RANDOM_DRAWS)] if content else []
            drops = [probs[label] - p[label] for p in score(random_texts)] if random_texts else [0.0]
            random_drop = float(np.mean(drops))
            checks.probability_after_removing_cited = round(float(removed[label]), 4)
            checks.drop = round(float(probs[label] - removed[label]), 4)
            checks.random_drop = round(random_drop, 4)
            checks.prediction_after_removing_cited = labels[int(np.argmax(removed))]
            verdict = _verdict((agreement or 0) >= 0.5, checks.drop > random_drop)
        else:
            verdict = "not checkable: the explanation cites no word of the input"
        return RationalizeOutput(text=text, **origin, prediction=labels[label],
                                 probability=round(float(probs[label]), 4), explanation=explanation,
                                 cited_words=cited, checks=checks, verdict=verdict)

    def narrate(self, output: RationalizeOutput, args: dict[str, Any]) -> str:
        o = output
        c = o.checks
        text = (f"Asked why it predicts {o.prediction} ({o.probability}) for {subject(o)}, the model says: "
                f"{quote(o.explanation, 300)}\n"
                f"Words of the input it cites: {', '.join(repr(w) for w in o.cited_words) or 'none'}. "
                f"The {c.attribution_method} attribution ranks first: "
                f"{', '.join(repr(w) for w in c.attribution_top_words)}.")
        if c.drop is not None:
            text += (f" Agreement {c.agreement}; removing the cited words lowers {o.prediction} by {c.drop} "
                     f"(random words of the same number: {c.random_drop}).")
        return text + f"\nVerdict: {o.verdict}."

    def caveats(self, ctx, params, output):
        return ["A self-explanation is text the model generates; it need not describe the computation that "
                "produced the label."]


def _verdict(matches: bool, matters: bool) -> str:
    """matches: the cited words are among the attribution's top words; matters: deleting them
    lowers the label more than deleting random words."""
    if matches and matters:
        return ("faithful: the cited words are among the attribution's top words and removing them matters more "
                "than random words")
    if matches:
        return ("partly faithful: the cited words match the attribution, but removing them matters no more than "
                "random words")
    if matters:
        return "partly faithful: removing the cited words matters, but the attribution ranks other words first"
    return ("not faithful: the cited words are not what the attribution ranks first, and removing them matters no "
            "more than random words")
