"""ERASER-style faithfulness (DeYoung et al., ACL 2020) with a random-ranking baseline.

Comprehensiveness: how much the target's probability drops when the top-ranked words are
*deleted* (higher = the explanation found what the model used). Sufficiency: how much it drops
when *only* the top-ranked words are kept (lower = they suffice). Both are averaged over the
bins 1/5/10/20/50% of the user's words (AOPC). Template and special tokens are never deleted.
The same numbers for random rankings say whether the explanation beats chance.
"""
from __future__ import annotations

import math

import numpy as np

from tools.attribution.inputs import AttributionInput
from tools.attribution.scorers import Scorer, log_prob_to_prob

BINS = (0.01, 0.05, 0.10, 0.20, 0.50)


def bin_sizes(n_words: int) -> list[int]:
    return [min(n_words, max(1, math.ceil(b * n_words))) for b in BINS]


def aopc(scorer: Scorer, rankings: list[list[int]]) -> list[tuple[float, float]]:
    """(comprehensiveness, sufficiency) AOPC for each ranking (word indices, most important first).
    All perturbed inputs of all rankings are scored in one batched, de-duplicated pass."""
    inp: AttributionInput = scorer.inp
    sizes = bin_sizes(len(inp.words))
    rows: dict[tuple[int, ...], int] = {tuple(inp.variable_ids): 0}
    plan = []
    for ranking in rankings:
        entry = []
        for k in sizes:
            top = ranking[:k]
            without, only = tuple(inp.without(top)), tuple(inp.only(top))
            entry.append((rows.setdefault(without, len(rows)), rows.setdefault(only, len(rows))))
        plan.append(entry)
    probs = log_prob_to_prob(scorer.score_ids([list(r) for r in rows]), inp.target).double().cpu().numpy()
    full = probs[0]
    return [(float(np.mean([full - probs[w] for w, _ in entry])), float(np.mean([full - probs[o] for _, o in entry])))
            for entry in plan]


def faithfulness(scorer: Scorer, word_scores: np.ndarray, n_random: int = 8, seed: int = 0) -> dict:
    """AOPC of the explanation's ranking (highest signed score first) next to random rankings."""
    n = len(word_scores)
    ranking = [int(i) for i in np.argsort(-np.asarray(word_scores), kind="stable")]
    rng = np.random.default_rng(seed)
    randoms = [list(rng.permutation(n)) for _ in range(n_random)]
    results = aopc(scorer, [ranking] + randoms)
    comp, suff = results[0]
    random_comp = float(np.mean([r[0] for r in results[1:]]))
    random_suff = float(np.mean([r[1] for r in results[1:]]))
    beats_comp, beats_suff = comp > random_comp, suff < random_suff
    if n < 2:
        verdict = "too short to compare with random (one word)"
    elif beats_comp and beats_suff:
        verdict = "beats random on both comprehensiveness and sufficiency"
    elif beats_comp or beats_suff:
        verdict = f"beats random only on {'comprehensiveness' if beats_comp else 'sufficiency'}"
    else:
        verdict = "does not beat a random ranking"
    return {
        "comprehensiveness": round(comp, 6), "sufficiency": round(suff, 6),
        "random_comprehensiveness": round(random_comp, 6), "random_sufficiency": round(random_suff, 6),
        "beats_random": bool(beats_comp and beats_suff and n >= 2), "verdict": verdict,
        "bins": list(BINS), "random_rankings": n_random, "seed": seed,
        "probability_measured": ("label probability" if scorer.inp.target.kind == "label"
                                 else "answer per-token geometric-mean probability"),
    }
