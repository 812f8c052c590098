"""adversarial: edits that should NOT change the meaning but change the prediction, verified on the
model. Synonym swaps, character typos and a neutral phrase in front, combined up to two at a time;
a perturbation counts only if it changes the prediction AND its packaged-MiniLM embedding keeps
cosine similarity >= 0.85 with the original (meaning preserved)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from tools.base import InstanceParams, Output, Tool
from tools.common import classifier_setup, resolve_instance
from tools.counterfactuals.meaning import MEANING_THRESHOLD, meaning_similarity
from tools.narration import quote, subject
from tools.planning import Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class AdversarialParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=10, description="how many perturbations to return")


class Perturbation(Output):
    """A meaning-preserving edit that flips the prediction."""

    text: str
    edits: list[str]
    kinds: list[str]
    prediction: str
    probability: float
    meaning_similarity: float
    words_changed: int


class AdversarialOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    prediction: str
    probability: float
    perturbations: list[Perturbation]
    candidates_scored: int
    flips: int  # candidates that changed the prediction, meaning kept or not
    flips_meaning_preserved: int
    threshold: float
    success: bool


class Adversarial(Tool):
    name = "adversarial"
    description = ("A small meaning-preserving perturbation (synonym, typo, neutral phrase) that changes the "
                   "prediction.")
    Params = AdversarialParams
    Output = AdversarialOutput
    shorthand = {"adv": "adversarial"}
    triggers = (
        # "any perturbation attack that flips review 190": this tool's word, before counterfactual's "flip"
        Trigger(r"\b(?:adversarial|perturbation) attacks?\b|\battack (?:the model|it|review|row)\b", priority=65,
                exact=True),
        Trigger(alternatives(
            r"adversar",
            r"\battack",
            r"(?<!words )(?<!word )(?<!tokens )\bfool",  # not "which words fooled the model" (an attribution)
            r"\btrick",
            r"decept",
            r"deceiv",
            r"mislead",
            r"confus(?:e|ed|ing) the model",
            r"model (?:would be|be|gets?|is) confused",
            r"perturbation",
            # "try to break review 57", not "break it down by domain"
            r"\b(?:break|crack)\s+(?:it|this|that|the model|(?:review|row|item) #?\d+)\b(?!\s+(?:down|up|out|apart))",
        ), priority=80),
        # "a sneaky tweak that flips it without changing the meaning": the meaning is kept, so an attack,
        # before counterfactual's "flips" (70), which changes the meaning on purpose
        Trigger(alternatives(
            r"\b(?:sneaky|subtle|imperceptible|innocent|harmless|invisible) (?:\w+ )?(?:tweak|change|edit|perturb\w*)",
            r"\bwithout (?:changing|altering|affecting) (?:the |its )?(?:meaning|sense)\b",
            r"\b(?:doesn'?t|doesnt|does not|won'?t|wont|will not|that don'?t) (?:change|alter|affect) (?:the |its )?"
            r"(?:meaning|sense)\b",
            r"\b(?:keeps?|keeping|preserv\w*) (?:the |its )?meaning\b.*\bflip",
        ), priority=66, exact=True),
    )
    intent_examples = (
        "attack review 5",
        "find a perturbation that fools the model on item 8",
        "is the prediction on review 3 robust?",
        "make a tiny typo edit that changes the prediction of row 4",
    )
    needs_model = True
    cacheable = True
    knowledge_card = "adversarial"
    examples = ("can a typo fool the model on review 3?",
                "find an adversarial example for 'great food, friendly staff'")

    concept_topic = r"adversarial"

    def run(self, ctx: ToolContext, params: AdversarialParams) -> AdversarialOutput:
        from tools.counterfactuals.edits import perturbation_edits, word_edit_distance
        from tools.counterfactuals.search import search

        text, origin = resolve_instance(ctx, params)
        setup = classifier_setup(ctx, text, self.name)
        words, score, labels, original, current = setup.words, setup.score, setup.labels, setup.original, setup.current
        result = search(words, score, lambda p: int(np.argmax(p)) != current, lambda p: 1.0 - float(p[current]),
                        k=3 * (params.k or 1), max_edits=2, edits_for=perturbation_edits)
        similarity = meaning_similarity(text, [c.text for c in result.flips]) if result.flips else []
        kept = [(c, s) for c, s in zip(result.flips, similarity) if s >= MEANING_THRESHOLD]
        kept.sort(key=lambda cs: (len(cs[0].edits), -cs[1], cs[0].text))
        items = [Perturbation(text=c.text, edits=[e.description for e in c.edits],
                              kinds=sorted({e.kind for e in c.edits}), prediction=labels[int(np.argmax(c.probs))],
                              probability=round(float(c.probs.max()), 4),
                              meaning_similarity=round(s, 4), words_changed=word_edit_distance(words, c.words))
                 for c, s in kept[: params.k or 1]]
        return AdversarialOutput(text=text, **origin, prediction=labels[current],
                                 probability=round(float(original[current]), 4), perturbations=items,
                                 candidates_scored=result.candidates_scored, flips=len(result.flips),
                                 flips_meaning_preserved=len(kept), threshold=MEANING_THRESHOLD, success=bool(items))

    def narrate(self, output: AdversarialOutput, args: dict[str, Any]) -> str:
        o = output
        head = f"The model predicts {o.prediction} ({o.probability}) for {subject(o)}."
        if not o.perturbations:
            return (f"{head} No meaning-preserving perturbation (synonym, typo, neutral phrase; up to 2) changed it: "
                    f"{o.flips} of {o.candidates_scored} candidates flipped it, {o.flips_meaning_preserved} of them "
                    f"with MiniLM similarity of at least {o.threshold}.")
        lines = [f"- {'; '.join(p.edits)} → {p.prediction} ({p.probability}), meaning similarity "
                 f"{p.meaning_similarity}: {quote(p.text)}" for p in o.perturbations]
        return (f"{head} It can be fooled: {o.flips_meaning_preserved} meaning-preserving perturbations (similarity "
                f"at least {o.threshold}) flip it, out of {o.candidates_scored} tried.\n" + "\n".join(lines))

    def caveats(self, ctx, params, output):
        if output["success"]:
            return ["A perturbation that flips the prediction shows brittleness, not what the model 'means'; "
                    "typos also change the tokens it sees."]
        return [f"No meaning-preserving perturbation flipped the prediction among {output['candidates_scored']} "
                f"candidates ({output['flips']} flips, none with MiniLM similarity >= {MEANING_THRESHOLD})."]
