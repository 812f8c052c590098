"""predict: the model's prediction for one row or text, with probabilities."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tools.base import InstanceParams, Output, Tool
from tools.common import resolve_instance
from tools.label_checks import LOW_LABEL_MASS, NAMES_HINT, coded_labels_note
from tools.narration import quote, subject
from tools.planning import PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class PredictParams(InstanceParams):
    max_new_tokens: int | None = Field(default=None, ge=1, le=256, description="generation only")


class TokenProbability(Output):
    token: str
    probability: float


class PredictOutput(Output):
    """Classification: the label, its probability and the distribution (renormalised over the
    label words, whose share of the next-token mass is `label_mass`). Generation: the
    continuation with each token's probability. `id`/`gold_label`/`correct` for a dataset row."""

    kind: Literal["classification", "generation"]
    text: str
    id: int | None = None
    gold_label: str | None = None
    correct: bool | None = None
    label: str | None = None
    probability: float | None = None
    probabilities: dict[str, float] | None = None
    label_mass: float | None = None
    continuation: str | None = None
    tokens: list[TokenProbability] | None = None
    stopped: str | None = None


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
            r"\bprobs\b",
            r"\blogits?\b(?! lens)",  # "what are the logits on row 200?"
            r"\bpredicted class\b",
            r"confiden",
            r"how sure",
            r"certain",
            r"\bpredict",
            r"\bpred\b",  # "pred 77"
            r"prediction",
            r"inference",
            r"\bclassif",
            r"what (?:does|would) (?:the model|it) (?:say|think|output|answer)",
            # "please say me what model think on review 40", "what model is think about review 64"
            r"\bwhat (?:does |do |is |would )?(?:the )?model (?:is |does |do )?(?:think|thinks|say|says)\b",
            r"\b(?:does|do) (?:the model|it) (?:think|reckon|consider)\b",  # "does the model think 30 slaps or sucks"
            # "what does it make of '...'", "what the model is thinking about review 200"
            r"\bwhat (?:does|do|would) (?:the model|it) make of\b",
            r"\b(?:the model|it) (?:is |was )?thinking (?:about|of|on|for)\b",
            r"what label",
            r"\bwhat (?:does |did |would )?(?:it|the model) says? (?:for|about|on|of)\b",  # "wat it say for 12"
            r"\bflagged\b",  # "customer says '...' got flagged positive?? check"
            r"\bwhat (?:is |does )?(?:the )?model (?:is )?saying\b",  # "what is model saying for the review 64"
            r"\b(?:does|would|do) (?:the model|it) agree\b",  # "review 48 slaps, does the model agree?"
            r"\b(?:more|less|most|least) (?:sure|confident)\b",  # "which of them is the model more sure about"
            r"\bverdict\b",  # "yo what's the verdict on '...'"
            # "is review 5 positive?", "is row 12 really negative": the prediction, which states the gold label too
            r"^\W*(?:is|was) (?:review|row|item|id|example) ?#?\d+ (?:really |actually |truly |even )?(?:a |an )?"
            r"(?:positive|negative|pos|neg|good|bad|neutral|mixed|spam|ham|toxic)(?: one| review)?\W*$",
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
    examples = ("what does the model predict for review 12?",
                "what does it predict for 'the battery died after a day'?")
    Output = PredictOutput

    planner_role = "default"  # what an instance gets when nothing else is asked (a what-if edit)

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        """'5 reviews predicted negative' is a selection, not a request for a prediction."""
        if not query.ids() and "QUOTED" not in query.text:
            return query.beyond_filters(cls.name)
        return None

    def run(self, ctx: ToolContext, params: PredictParams) -> PredictOutput:
        text, origin = resolve_instance(ctx, params)
        task = ctx.task
        if task.is_classifier:
            probs, mass = task.predict_proba([text])  # type: ignore[attr-defined]
            distribution = {label: round(float(p), 6) for label, p in zip(task.labels, probs[0])}
            label = max(distribution, key=distribution.get)
            gold = origin.get("gold_label")
            return PredictOutput(kind="classification", text=text, label=label, probability=distribution[label],
                                 probabilities=distribution, label_mass=round(float(mass[0]), 6),
                                 correct=gold == label if gold is not None else None, **origin)
        generation = task.generate(text, params.max_new_tokens)  # type: ignore[attr-defined]
        tokens = [TokenProbability(token=t, probability=round(p, 6))
                  for t, p in zip(generation.tokens, generation.token_probs)]
        return PredictOutput(kind="generation", text=text, continuation=generation.text, tokens=tokens,
                             stopped=generation.stopped, **origin)

    def narrate(self, output: PredictOutput, args: dict[str, Any]) -> str:
        o = output
        about = subject(o)
        if o.kind == "generation":
            tokens = ", ".join(f"{t.token!r} {t.probability:.2f}" for t in (o.tokens or [])[:8])
            return (f"For {about} the model continues: {quote(o.continuation or '', 300)}\n"
                    f"First tokens with their probabilities: {tokens}.")
        others = ", ".join(f"{label} {p:.3f}" for label, p in (o.probabilities or {}).items())
        text = f"The model predicts **{o.label}** for {about} with probability {o.probability:.3f} ({others})."
        if o.id is not None and o.gold_label is not None:
            verdict = "correct" if o.correct else "wrong"
            text += f" The gold label is {o.gold_label}, so the prediction is {verdict}."
        return text

    def caveats(self, ctx, params, output):
        notes = []
        if output.get("kind") == "classification":
            if output["label_mass"] < LOW_LABEL_MASS:
                notes.append(
                    f"Warning: the model put only {output['label_mass']:.1%} of its answer probability on the label "
                    "words; the label probabilities are renormalised and calibrated from that small share."
                )
            gold, labels = output.get("gold_label"), list(output.get("probabilities") or {})
            if coded := coded_labels_note(labels, ctx):
                notes.append(coded)
            if gold is not None and gold not in labels:
                notes.append(f"Warning: the gold label {gold!r} is not one the model can predict "
                             f"({', '.join(map(repr, labels))}), so no prediction can be right; if they name the "
                             f"same classes, {NAMES_HINT}.")
            if output["probability"] < 0.6:
                notes.append("The prediction is close to a coin flip.")
        return notes
