"""adversarial and augment: edits that should NOT change the meaning, verified on the model.

- adversarial: synonym swaps, character typos and a neutral phrase in front, combined up to two
  at a time; a perturbation counts only if it changes the prediction AND its packaged-MiniLM
  embedding keeps cosine similarity >= 0.85 with the original (meaning preserved).
- augment: k label-preserving variants by synonym substitution (curated synonyms and MiniLM
  embedding neighbours) and by the LLM when one is configured, each verified to keep the model's
  label and a MiniLM similarity >= 0.85, chosen greedily for diversity.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from tools.base import InstanceParams, Tool
from tools.common import classifier_setup, resolve_instance
from tools.context import ToolContext
from tools.planning import Trigger, alternatives

MEANING_THRESHOLD = 0.85


def meaning_similarity(original: str, texts: list[str]) -> list[float]:
    from tools.embeddings import default_encoder

    vectors = default_encoder().encode([original] + texts)
    vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return [float(v @ vectors[0]) for v in vectors[1:]]


class AdversarialParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=10, description="how many perturbations to return")


class Adversarial(Tool):
    name = "adversarial"
    description = "A small meaning-preserving perturbation (synonym, typo, neutral phrase) that changes the prediction."
    Params = AdversarialParams
    triggers = (
        Trigger(alternatives(
            r"adversar",
            r"\battack",
            r"\bfool",
            r"\btrick",
            r"decept",
            r"deceiv",
            r"mislead",
            r"confus(?:e|ed|ing) the model",
            r"model (?:would be|be|gets?|is) confused",
            r"perturbation",
        ), priority=80),
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
    examples = ("can a typo fool the model on review 3?", "find an adversarial example for 'great food, friendly staff'")

    def run(self, ctx: ToolContext, params: AdversarialParams) -> dict[str, Any]:
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
        items = [{"text": c.text, "edits": [e.description for e in c.edits], "kinds": sorted({e.kind for e in c.edits}),
                  "prediction": labels[int(np.argmax(c.probs))], "probability": round(float(c.probs.max()), 4),
                  "meaning_similarity": round(s, 4), "words_changed": word_edit_distance(words, c.words)}
                 for c, s in kept[: params.k or 1]]
        return {"text": text, **origin, "prediction": labels[current], "probability": round(float(original[current]), 4),
                "perturbations": items, "candidates_scored": result.candidates_scored, "flips": len(result.flips),
                "flips_meaning_preserved": len(kept), "threshold": MEANING_THRESHOLD,
                "success": bool(items)}

    def caveats(self, ctx, params, output):
        if output["success"]:
            return ["A perturbation that flips the prediction shows brittleness, not what the model 'means'; typos also change the tokens it sees."]
        return [f"No meaning-preserving perturbation flipped the prediction among {output['candidates_scored']} candidates "
                f"({output['flips']} flips, none with MiniLM similarity >= {MEANING_THRESHOLD})."]


class AugmentParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=20)


class Augment(Tool):
    name = "augment"
    description = "k label-preserving variants of an instance (synonym substitution, LLM paraphrase when configured), verified on the model."
    Params = AugmentParams
    triggers = (
        Trigger(alternatives(
            r"augment",
            r"paraphras",
            r"\bnew (?:\w+ )?(?:instances?|examples?|samples?|data ?points?|variants?|versions?|data)\b",
            r"\bvariants?\b",
            r"rewordings?",
            r"rephras",
            r"more (?:examples|data) like",
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

    def run(self, ctx: ToolContext, params: AugmentParams) -> dict[str, Any]:
        from tools.counterfactuals.edits import apply, diversity, synonym_edits

        text, origin = resolve_instance(ctx, params)
        setup = classifier_setup(ctx, text, self.name)
        words, score, labels, original, current = setup.words, setup.score, setup.labels, setup.original, setup.current
        k = params.k or 3
        singles = synonym_edits(words)
        combos = [(a,) for a in singles] + [(a, b) for i, a in enumerate(singles) for b in singles[i + 1:] if a.position != b.position]
        candidates = {" ".join(apply(words, c)): ("synonyms", [e.description for e in c]) for c in combos[:len(singles) + 60]}
        if ctx.llm is not None:
            chat, name = ctx.llm
            for line in chat("Rewrite the user's text. Keep its meaning and sentiment. One rewrite per line, no numbering.",
                             f"Give {k} different rewrites of: {text}").splitlines():
                line = line.strip(" -*\t0123456789.)")
                if line and line != text and len(line.split()) <= 3 * len(words) + 5:
                    candidates.setdefault(line, (f"LLM ({name})", []))
        candidates.pop(text, None)
        texts = list(candidates)
        probs = score(texts) if texts else np.zeros((0, len(labels)))
        same_label = [i for i in range(len(texts)) if int(np.argmax(probs[i])) == current]
        scores = meaning_similarity(text, [texts[i] for i in same_label]) if same_label else []
        kept = {i: sim for i, sim in zip(same_label, scores) if sim >= MEANING_THRESHOLD}  # a paraphrase keeps the meaning too
        chosen: list[int] = []
        used: set[str] = set()
        for i in sorted(kept, key=lambda i: (-kept[i], texts[i])):  # closest in meaning first,
            edited = set(candidates[texts[i]][1])  # each variant with edits no earlier one used (diversity)
            if len(chosen) < k and not edited & used:
                chosen.append(i)
                used |= edited
        items = [{"text": texts[i], "source": candidates[texts[i]][0], "edits": candidates[texts[i]][1],
                  "prediction": labels[current], "probability": round(float(probs[i][current]), 4),
                  "meaning_similarity": round(kept[i], 4)} for i in chosen]
        return {"text": text, **origin, "prediction": labels[current], "probability": round(float(original[current]), 4),
                "variants": items, "candidates": len(texts), "label_preserving": len(same_label), "meaning_preserving": len(kept),
                "diversity": round(d, 4) if (d := diversity([t["text"].split() for t in items])) is not None else None}

    def caveats(self, ctx, params, output):
        if len(output["variants"]) < (params.k or 3):
            return [f"Only {len(output['variants'])} label- and meaning-preserving variants were found"
                    + ("" if ctx.llm is not None else "; configure an LLM (WHYBOX_LLM) for paraphrases") + "."]
        return []
