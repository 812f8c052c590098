"""counterfactual: minimal edits that change the prediction (to `target` when given), verified on
the model, with minimality (MiCE), fluency (perplexity ratio) and the set's diversity."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from tools.base import InstanceParams, Output, Tool
from tools.common import classifier_setup, resolve_instance
from tools.counterfactuals.search import MAX_EDITS
from tools.errors import InputError
from tools.narration import quote, subject
from tools.planning import PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class CounterfactualParams(InstanceParams):
    target: str | None = Field(default=None, description="the label to flip to (default: any other label)")
    k: int | None = Field(default=None, ge=1, le=10, description="how many counterfactuals")


class CounterfactualEdit(Output):
    """One verified flip: the edited text, its edits, the new prediction and how small it is."""

    text: str
    edits: list[str]
    kinds: list[str]
    prediction: str
    probability: float
    probabilities: dict[str, float]
    words_changed: int
    minimality: float  # MiCE: word edit distance / number of words
    perplexity_ratio: float | None = None  # causal LMs: perplexity of the edit / of the original


class ImportantWord(Output):
    word: str
    drop: float


class CounterfactualOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    prediction: str
    probability: float
    target: str | None = None
    counterfactuals: list[CounterfactualEdit]
    found: int
    diversity: float | None = None
    candidates_scored: int
    rounds: int
    search_seconds: float
    important_words: list[ImportantWord]


class Counterfactual(Tool):
    name = "counterfactual"
    description = "Minimal edits that change the prediction (to `target` when given), verified on the model."
    Params = CounterfactualParams
    Output = CounterfactualOutput
    shorthand = {"cf": "counterfactual", "cfs": "counterfactuals"}
    triggers = (
        Trigger(alternatives(
            r"counterfactual",
            r"contrastive",
            r"\bwhat (?:edit|change|modification)s? (?:would|could|will|can|should|might)\b",
            r"\bturn (?:it|QUOTED|this|that|(?:review|id|item|row|instance) \d+) into\b",
            r"\bcfes?\b",
            r"alternative outcomes?",
            r"\bflips?\b",
            r"flipped",
            r"smallest (?:change|edit|rewrite|tweak|modification)",
            r"minimal (?:change|edit)",
            r"what (?:would|could|should) (?:i|you|we) (?:need to )?change",
            r"(?:change|alter|reverse) (?:the|its|it'?s) (?:prediction|mind|output|label|answer|decision|outcome)",
            r"what would (?:make|it take)",
            r"\bwhat would turn (?:it|QUOTED|this|that|(?:review|id|item|row|instance) #?\d+)\b",
            r"\bhow (?:could|would|can|might|should|do i|do you)\s+(?:\S+\s+){0,6}?(?:become|turn into|be made)\b",
            r"\bwhat would (?:need|have) to (?:change|be changed)\b",
            r"\bfor it to (?:be (?:classified|predicted|labell?ed|called)|become|flip)\b",
            r"how (?:can|could) (?:i|we|you) (?:make|get) (?:it|the model) (?:to )?(?:say|predict)",
            r"(?:way|how) to change",
            r"(?:should|must) change .* to\b",
            r"changed so\b",
            r"make (?:it|review \d+|id \d+|the prediction) (?:positive|negative)",
            r"how (?:can|could|would|might) (?:it|review \d+|row \d+|id \d+|"
            r"this|that) (?:become|turn|be (?:classified|predicted|labell?ed)"
            r" (?:as )?)",
        ), priority=70),
    )
    intent_examples = (
        "what is the smallest edit that flips review 3?",
        "how can I change the prediction for row 90?",
        "give me a counterfactual for item 4",
        "what would make review 2 positive?",
        "how would review 7 need to change to be negative?",
        "what minimal change flips the label of 'a dull film'?",
    )
    needs_model = True
    cacheable = True
    knowledge_card = "counterfactual"
    version = "3"
    examples = ("what is the smallest edit that flips review 4?", "what would make 'the food was cold' positive?")

    concept_topic = r"counterfactual"

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """The label to flip to: 'turn it into negative', 'make "the food was cold" positive?'."""
        if query.follow_up:
            return args
        target = next((label for label in query.labels if query.search(
            r"\b(?:to|into|towards?|become|becomes|be|as|rather than|instead of|says?|predicts?"
            r"|make[s]?(?:\s+\S+){0,3}"
            r"|be (?:clas+if(?:ied|y)|predicted|labell?ed|called|seen|read)(?: as)?|come out(?: as)?"
            r"|call (?:it|this|that|them)(?: as)?)"  # "for the computer to call it a positive review"
            rf"\s+(?:the label\s+|an?\s+)?{re.escape(label)}\b")), None)
        if target is None and query.search(r"\b(?:makes?|turns?|flips?|gets?)\b"):
            target = next((label for label in query.labels if query.search(rf"\b{re.escape(label)}\W*$")), None)
        if target:
            args["target"] = target
        return args

    def run(self, ctx: ToolContext, params: CounterfactualParams) -> CounterfactualOutput:
        from tools.counterfactuals.edits import (
            diversity,
            minimality,
            word_edit_distance,
        )
        from tools.counterfactuals.search import model_proposals, perplexity, search

        text, origin = resolve_instance(ctx, params)
        setup = classifier_setup(ctx, text, self.name)
        words, score, labels, original, current = setup.words, setup.score, setup.labels, setup.original, setup.current
        if params.target is not None and params.target not in labels:
            raise InputError(f"Unknown target label {params.target!r}.", f"Labels: {', '.join(labels)}.")
        if params.target is not None and labels.index(params.target) == current:
            raise InputError(f"The model already predicts {params.target} for this text; ask for another target.")
        target = labels.index(params.target) if params.target is not None else None

        def is_flip(p: np.ndarray) -> bool:
            return int(np.argmax(p)) == target if target is not None else int(np.argmax(p)) != current

        def goal(p: np.ndarray) -> float:
            return float(p[target]) if target is not None else 1.0 - float(p[current])

        handle = ctx.model
        proposer = (lambda i: model_proposals(handle, words, i)) if handle.kind == "causal_lm" else None
        k = params.k or 3
        result = search(words, score, is_flip, goal, k=k, proposer=proposer)
        chosen = result.flips[:k]
        fluency = None
        if handle.kind == "causal_lm":  # among flips as minimal as the k-th, prefer the fluent ones
            cutoff = minimality(words, result.flips[min(k, len(result.flips)) - 1].words) if result.flips else 0.0
            pool = [c for c in result.flips if minimality(words, c.words) <= cutoff][:4 * k]
            ppl = perplexity(handle, [text] + [c.text for c in pool])
            order = sorted(range(len(pool)), key=lambda i: (minimality(words, pool[i].words), ppl[i + 1]))[:k]
            chosen = [pool[i] for i in order]
            fluency = [ppl[0]] + [ppl[i + 1] for i in order]
        items = []
        for i, c in enumerate(chosen):
            label = int(np.argmax(c.probs))
            ratio = round(fluency[i + 1] / fluency[0], 3) if fluency and fluency[0] == fluency[0] else None
            items.append(CounterfactualEdit(
                text=c.text, edits=[e.description for e in c.edits], kinds=sorted({e.kind for e in c.edits}),
                prediction=labels[label], probability=round(float(c.probs[label]), 4),
                probabilities={name: round(float(p), 4) for name, p in zip(labels, c.probs)},
                words_changed=word_edit_distance(words, c.words), minimality=round(minimality(words, c.words), 4),
                perplexity_ratio=ratio,
            ))
        ranked = sorted(range(len(words)), key=lambda i: -result.importance[i])[:3]
        d = diversity([c.words for c in chosen])
        return CounterfactualOutput(
            text=text, **origin, prediction=labels[current], probability=round(float(original[current]), 4),
            target=params.target, counterfactuals=items, found=len(result.flips),
            diversity=round(d, 4) if d is not None else None,
            candidates_scored=result.candidates_scored, rounds=result.rounds, search_seconds=round(result.seconds, 2),
            important_words=[ImportantWord(word=words[i], drop=round(result.importance[i], 4)) for i in ranked],
        )

    def narrate(self, output: CounterfactualOutput, args: dict[str, Any]) -> str:
        o = output
        about = subject(o)
        goal = f" to {o.target}" if o.target else ""
        if not o.counterfactuals:
            return (f"I found no edit of up to 3 words that changes the prediction{goal} for {about} "
                    f"(it predicts {o.prediction} at {o.probability}); {o.candidates_scored} candidate edits "
                    "were scored on the model.")
        lines = []
        for cf in o.counterfactuals:
            fluency = f", perplexity x{cf.perplexity_ratio}" if cf.perplexity_ratio is not None else ""
            plural = "s" if cf.words_changed != 1 else ""
            lines.append(f"- {'; '.join(cf.edits)} → {cf.prediction} ({cf.probability}): {quote(cf.text)} "
                         f"[{cf.words_changed} word{plural} changed, minimality {cf.minimality}{fluency}]")
        best = o.counterfactuals[0]
        text = (f"The model predicts {o.prediction} ({o.probability}) for {about}. "
                f"The smallest verified change{goal}: {'; '.join(best.edits)}, which makes it "
                f"{best.prediction} ({best.probability}). {o.found} flips found among {o.candidates_scored} "
                "edits scored on the model:\n" + "\n".join(lines))
        if o.diversity is not None:
            text += (f"\nDiversity of these {len(o.counterfactuals)}: {o.diversity} "
                     "(mean pairwise word edit distance, normalised).")
        return text


    def caveats(self, ctx, params, output):
        notes = []
        if not output["counterfactuals"]:
            notes.append(f"No verified flip within {MAX_EDITS} edits among {output['candidates_scored']} candidates: "
                         "the prediction is robust to the word-level edits tried here (deletions, antonyms, "
                         "negation, the model's own substitutes).")
        return notes
