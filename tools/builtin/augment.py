"""augment: k label-preserving variants of an instance by synonym substitution (curated synonyms and
MiniLM embedding neighbours) and by the LLM when one is configured, each verified to keep the
model's label and a MiniLM similarity >= 0.85, chosen greedily for diversity."""
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


class AugmentParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=20)


class Variant(Output):
    """A rewrite that keeps the model's label and the meaning."""

    text: str
    source: str  # "synonyms" or "LLM (<name>)"
    edits: list[str]  # the synonym swaps; empty for an LLM rewrite
    prediction: str
    probability: float
    meaning_similarity: float


class AugmentOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    prediction: str
    probability: float
    variants: list[Variant]
    candidates: int
    label_preserving: int
    meaning_preserving: int
    diversity: float | None = None


class Augment(Tool):
    name = "augment"
    description = ("k label-preserving variants of an instance (synonym substitution, LLM paraphrase when "
                   "configured), verified on the model.")
    Params = AugmentParams
    Output = AugmentOutput
    triggers = (
        Trigger(alternatives(
            r"augment",
            r"paraphras",
            r"\bnew (?:\w+ )?(?:instances?|examples?|samples?|data ?points?|variants?|versions?|data)\b",
            r"\bvariants?\b",
            r"rewordings?",
            r"\brewrites? (?:of|for)\b",  # "two rewrites of '...' that keep the same sentiment"
            r"rephras",
            r"more (?:examples|data) like",
            r"\b(?:rewrite|reword|restate)\b.*\b(?:\d+|a few|several|two|three|four|five|different|other) ways?\b",
            r"\b(?:make|give|write|generate|create)(?: me)? (?:a few|some|\d+|a couple(?: of)?"
            r"|several) more (?:\w+ )?like\b",
            r"generate (?:\d+ )?(?:variants|versions|examples)",
            r"derived from",
            r"based on (?:id|item|instance|review)",
        ), priority=100),
    )
    intent_examples = (
        "paraphrase review 9",
        "give me 3 variants of item 2 with the same label",
        "generate new training examples from review 5",
        "show me a modified version of instance 34",
    )
    needs_model = True
    knowledge_card = "augment"
    examples = ("give me 3 paraphrases of review 5 that keep its label", "augment 'the staff were friendly'")

    concept_topic = r"augmentation"

    def run(self, ctx: ToolContext, params: AugmentParams) -> AugmentOutput:
        from tools.counterfactuals.edits import apply, diversity, synonym_edits

        text, origin = resolve_instance(ctx, params)
        setup = classifier_setup(ctx, text, self.name)
        words, score, labels, original, current = setup.words, setup.score, setup.labels, setup.original, setup.current
        k = params.k or 3
        singles = synonym_edits(words)
        combos = [(a,) for a in singles] + [(a, b) for i, a in enumerate(singles) for b in singles[i + 1:]
                                            if a.position != b.position]
        candidates = {" ".join(apply(words, c)): ("synonyms", [e.description for e in c])
                      for c in combos[:len(singles) + 60]}
        if ctx.llm is not None:
            chat, name = ctx.llm
            instructions = ("Rewrite the user's text. Keep its meaning and sentiment. "
                            "One rewrite per line, no numbering.")
            for line in chat(instructions, f"Give {k} different rewrites of: {text}").splitlines():
                line = line.strip(" -*\t0123456789.)")
                if line and line != text and len(line.split()) <= 3 * len(words) + 5:
                    candidates.setdefault(line, (f"LLM ({name})", []))
        candidates.pop(text, None)
        texts = list(candidates)
        probs = score(texts) if texts else np.zeros((0, len(labels)))
        same_label = [i for i in range(len(texts)) if int(np.argmax(probs[i])) == current]
        scores = meaning_similarity(text, [texts[i] for i in same_label]) if same_label else []
        # a paraphrase keeps the meaning too
        kept = {i: sim for i, sim in zip(same_label, scores) if sim >= MEANING_THRESHOLD}
        chosen: list[int] = []
        used: set[str] = set()
        for i in sorted(kept, key=lambda i: (-kept[i], texts[i])):  # closest in meaning first,
            edited = set(candidates[texts[i]][1])  # each variant with edits no earlier one used (diversity)
            if len(chosen) < k and not edited & used:
                chosen.append(i)
                used |= edited
        items = [Variant(text=texts[i], source=candidates[texts[i]][0], edits=candidates[texts[i]][1],
                         prediction=labels[current], probability=round(float(probs[i][current]), 4),
                         meaning_similarity=round(kept[i], 4)) for i in chosen]
        d = diversity([t.text.split() for t in items])
        return AugmentOutput(text=text, **origin, prediction=labels[current],
                             probability=round(float(original[current]), 4), variants=items, candidates=len(texts),
                             label_preserving=len(same_label), meaning_preserving=len(kept),
                             diversity=round(d, 4) if d is not None else None)

    def narrate(self, output: AugmentOutput, args: dict[str, Any]) -> str:
        o = output
        if not o.variants:
            return f"I found no variant of {subject(o)} that keeps both its label ({o.prediction}) and its meaning."
        lines = [f"- {quote(v.text)} ({v.source}; {o.prediction} at {v.probability}, meaning similarity "
                 f"{v.meaning_similarity})" for v in o.variants]
        text = (f"{len(o.variants)} variants of {subject(o)} that the model still labels {o.prediction} "
                f"({o.label_preserving} of {o.candidates} candidates kept the label):\n" + "\n".join(lines))
        if o.diversity is not None:
            text += f"\nDiversity: {o.diversity} (mean pairwise word edit distance, normalised)."
        return text

    def caveats(self, ctx, params, output):
        if len(output["variants"]) < (params.k or 3):
            return [f"Only {len(output['variants'])} label- and meaning-preserving variants were found"
                    + ("" if ctx.llm is not None else "; configure an LLM (WHYBOX_LLM) for paraphrases") + "."]
        return []
