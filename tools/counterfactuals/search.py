"""Counterfactual search: candidate edits scored by the model in batched forwards, only verified
flips kept, ranked by minimality.

Round 1 scores every single lexical edit (deletions, antonyms, negation). The deletions also
measure each word's importance (how much removing it lowers the current label), and at the most
important positions a causal LM proposes its own next words as substitutes (round 2). If fewer
than k flips are found, a beam over the most promising non-flipping edits combines them with
edits at other positions, up to MAX_EDITS edits (rounds 3+).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from tools.counterfactuals.edits import (
    Edit,
    apply,
    lexical_edits,
    minimality,
    parts,
    swap,
)
from tools.counterfactuals.lexicon import FUNCTION_WORDS

MAX_EDITS = 3
BEAM = 6
PROPOSAL_POSITIONS = 3
PROPOSALS = 12


@dataclass
class Scored:
    edits: tuple[Edit, ...]
    words: list[str]
    probs: np.ndarray

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass
class SearchResult:
    original_probs: np.ndarray
    flips: list[Scored]
    candidates_scored: int
    rounds: int
    seconds: float
    importance: list[float] = field(default_factory=list)


def model_proposals(handle, words: Sequence[str], position: int, k: int = PROPOSALS) -> list[str]:
    """A causal LM's own top next words after the left context, as substitutes for `position`."""
    import torch

    from tools.models.tasks import _forward_last_logits

    prefix = " ".join(words[:position])
    tokenizer = handle.tokenizer
    ids = tokenizer(prefix, add_special_tokens=False)["input_ids"] if prefix else []
    bos = getattr(tokenizer, "bos_token_id", None)
    ids = ([bos] if bos is not None else []) + ids
    if not ids:
        return []
    logits = _forward_last_logits(handle, [ids])[0]
    current = parts(words[position])[1].lower()
    out: list[str] = []
    for token_id in torch.topk(logits, min(200, logits.numel())).indices.tolist():
        piece = tokenizer.decode([token_id])
        word = piece.strip()
        low = word.lower()
        if (piece.startswith(" ") or not prefix) and word.isalpha() and len(word) >= 3 and low not in FUNCTION_WORDS \
                and low != current and low not in out:
            out.append(low)
        if len(out) >= k:
            break
    return out


def search(words: list[str], score: Callable[[list[str]], np.ndarray], is_flip: Callable[[np.ndarray], bool],
           goal: Callable[[np.ndarray], float], k: int = 3, proposer: Callable[[int], list[str]] | None = None,
           max_edits: int = MAX_EDITS,
           edits_for: Callable[[Sequence[str]], list[Edit]] = lexical_edits) -> SearchResult:
    """score(texts) -> probabilities; is_flip(probs); goal(probs): higher is closer to a flip;
    edits_for(words): the single edits to start from (lexical ones for counterfactuals,
    meaning-preserving ones for adversarial examples)."""
    start = time.perf_counter()
    original = score([" ".join(words)])[0]
    seen: dict[str, Scored] = {}
    count = 0

    def run(batch: list[tuple[Edit, ...]]) -> list[Scored]:
        nonlocal count
        fresh = []
        for edits in batch:
            new_words = apply(words, edits)
            text = " ".join(new_words)
            if new_words and text not in seen and text != " ".join(words):
                seen[text] = Scored(edits, new_words, np.zeros(0))
                fresh.append(seen[text])
        if fresh:
            probs = score([c.text for c in fresh])
            for c, p in zip(fresh, probs):
                c.probs = p
            count += len(fresh)
        return fresh

    singles = run([(e,) for e in edits_for(words)])
    importance = [0.0] * len(words)
    for c in singles:
        if c.edits[0].kind == "delete":
            importance[c.edits[0].position] = goal(c.probs) - goal(original)
    rounds = 1
    if proposer is not None and sum(is_flip(c.probs) for c in singles) < k:
        positions = sorted(range(len(words)), key=lambda i: -importance[i])[:PROPOSAL_POSITIONS]
        batch = [(Edit(i, (swap(words[i], w),), "model", f"'{parts(words[i])[1]}' → '{w}'"),)
                 for i in positions for w in proposer(i)]
        singles += run(batch)
        rounds += 1
    frontier = singles
    for _ in range(max_edits - 1):
        if sum(is_flip(c.probs) for c in seen.values()) >= k:
            break
        beam = sorted((c for c in frontier if not is_flip(c.probs)), key=lambda c: -goal(c.probs))[:BEAM]
        best_singles = sorted(singles, key=lambda c: -goal(c.probs))[:3 * BEAM]
        batch = []
        for c in beam:
            used = {e.position for e in c.edits}
            for s in best_singles:
                if s.edits[0].position not in used:
                    batch.append(tuple(sorted(c.edits + s.edits, key=lambda e: e.position)))
        frontier = run(batch)
        rounds += 1
        if not frontier:
            break
    flips = [c for c in seen.values() if is_flip(c.probs)]
    flips.sort(key=lambda c: (minimality(words, c.words), len(c.edits), -goal(c.probs), c.text))
    return SearchResult(original, flips, count, rounds, time.perf_counter() - start, importance)


def perplexity(handle, texts: Sequence[str], batch_size: int = 16) -> list[float]:
    """Per-text perplexity of the plain text under a causal LM (fluency). The texts run together,
    right-padded (each text's tokens see only their own), `batch_size` at a time (issue 20: one
    text per forward was a third of a report row's counterfactual)."""
    import torch

    tokenizer = handle.tokenizer
    bos = getattr(tokenizer, "bos_token_id", None)
    encoded = [([bos] if bos is not None else []) + tokenizer(text, add_special_tokens=False)["input_ids"]
               for text in texts]
    out = [float("nan")] * len(texts)
    runnable = sorted((i for i, ids in enumerate(encoded) if len(ids) >= 2), key=lambda i: len(encoded[i]))
    with handle.exclusive(), torch.inference_mode():
        for start in range(0, len(runnable), batch_size):
            chunk = runnable[start:start + batch_size]
            width = max(len(encoded[i]) for i in chunk)
            ids = torch.full((len(chunk), width), handle.pad_token_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                ids[row, :len(encoded[i])] = torch.tensor(encoded[i], dtype=torch.long)
                attention[row, :len(encoded[i])] = 1
            logits = handle.model(input_ids=ids, attention_mask=attention).logits.float()
            for row, i in enumerate(chunk):
                n = len(encoded[i])
                nll = torch.nn.functional.cross_entropy(logits[row, :n - 1], ids[row, 1:n])
                out[i] = float(math.exp(float(nll)))
    return out
