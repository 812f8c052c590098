"""Knowledge-base retrieval quality: recall@1, recall@3 and MRR of `explain_concept`'s card
search on question sets kept apart from the cards' wording (paraphrases, typos, acronyms).

    python benchmarks/retrieval_eval.py [--set eval|dev|both] [--failures]

`tests/data/retrieval_eval.jsonl` (80 questions) was written before the cards and never tuned on;
`tests/data/retrieval_dev.jsonl` (24) is the set the lexical weights and aliases were tuned on.
The store is built (or reused) under WHYBOX_HOME like in the product.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
OFF_TOPIC = ("weather in paris tomorrow", "recipe for pizza dough", "who won the football world cup",
             "how do I bake bread", "best hiking trails in Norway", "stock price of a car company")


@dataclass
class Quality:
    n: int
    recall1: float
    recall3: float
    mrr: float
    failures: list


def load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / f"retrieval_{name}.jsonl").read_text().splitlines() if line.strip()]


def evaluate(retriever, rows: list[dict]) -> Quality:
    r1 = r3 = mrr = 0.0
    failures = []
    for row in rows:
        ids = [h.card_id for h in retriever.search(row["q"], k=10)]
        rank = next((i for i, c in enumerate(ids) if c in row["expected"]), None)
        r1 += rank == 0
        r3 += rank is not None and rank < 3
        mrr += 1 / (rank + 1) if rank is not None else 0.0
        if rank is None or rank >= 3:
            failures.append((row["q"], row["expected"], ids[:3]))
    n = len(rows)
    return Quality(n, r1 / n, r3 / n, mrr / n, failures)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=("eval", "dev", "both"), default="both")
    parser.add_argument("--failures", action="store_true")
    ns = parser.parse_args()
    from tools.knowledge.retrieval import Retriever
    from tools.knowledge.store import KnowledgeStore
    from tools.settings import Settings

    start = time.perf_counter()
    retriever = Retriever(KnowledgeStore(Settings.from_env().home, quiet=False))
    retriever.store.open()
    print(f"{len(retriever.cards)} cards, store ready in {time.perf_counter() - start:.1f} s")
    for name in (("eval", "dev") if ns.set == "both" else (ns.set,)):
        start = time.perf_counter()
        q = evaluate(retriever, load(name))
        ms = (time.perf_counter() - start) * 1000 / q.n
        label = "held-out" if name == "eval" else "development (tuned on)"
        print(f"{name} ({label}), {q.n} questions: recall@1 {q.recall1:.3f}  recall@3 {q.recall3:.3f}  "
              f"MRR {q.mrr:.3f}  ({ms:.0f} ms/question)")
        if ns.failures:
            for question, expected, got in q.failures:
                print(f"  x {question!r}: expected {expected}, got {got}")
    refused = sum(not retriever.is_relevant(retriever.search(q, 1)[0]) for q in OFF_TOPIC)
    print(f"off-topic questions answered with 'no card': {refused}/{len(OFF_TOPIC)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
