"""Fuzzes the planner as `whybox plan` builds it (demo data, default model shape): random strings
over unicode, control characters, quotes and digits, some 50,000 characters long, each planned in
a fresh conversation and as a follow-up. Prints crashes (none expected), the share that planned
calls, and the time per question. tests/test_planner.py keeps a smaller version.

    python benchmarks/planner_fuzz.py [N]     # default 10,000
"""
from __future__ import annotations

import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.plan import ConversationState  # noqa: E402
from tests.planner_eval.harness import make_planner  # noqa: E402

ALPHABET = ("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 '\"?!.,;:-_/\\()[]{}#=*+&%$@"
            "éüßñçø中文日本語한국어العربيةहिन्दी🙂🔥\u200b\u202e\ufeff\x00\x07\x1b\r\n\t")
WORDS = ["review", "layer", "neuron", "why", "what", "if", "replace", "with", "film", "accuracy", "top", "lime",
         "'", '"', "and", "the", "it", "probe", "steer", "patch", "12", "-3", "99999999999999999999", "per domain"]


def random_question(rng: random.Random) -> str:
    if rng.random() < 0.3:  # word salad from the planner's own vocabulary: deeper code paths
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30)))
    length = 50_000 if rng.random() < 0.01 else rng.randint(0, 300)
    return "".join(rng.choice(ALPHABET) for _ in range(length))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rng = random.Random(0)
    planner = make_planner()
    planner.plan("warm up")
    crashes, with_calls, state = 0, 0, ConversationState()
    start = time.perf_counter()
    for i in range(n):
        text = random_question(rng)
        try:
            plan = planner.plan(text, ConversationState() if i % 2 else state)
            state.remember(plan)
            assert bool(plan.calls) != bool(plan.message), "a plan has calls xor a message"
            with_calls += bool(plan.calls)
        except Exception:  # noqa: BLE001 - counting crashes is the point
            crashes += 1
            if crashes <= 3:
                print(f"CRASH on {text[:80]!r}:\n{traceback.format_exc()}")
    seconds = time.perf_counter() - start
    print(f"{n} random questions: {crashes} crashes; {with_calls / n:.1%} planned calls; "
          f"{seconds * 1000 / n:.2f} ms per question ({seconds:.1f} s in all)")


if __name__ == "__main__":
    main()
