"""Prints the offline planner's exact-plan accuracy and latency.

    python benchmarks/planner_eval.py            # development sets (tuning)
    python benchmarks/planner_eval.py --heldout  # the held-out sets (report these; never tune on them)
    python benchmarks/planner_eval.py --failures # also list the wrong plans (development sets only)
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.planner import VERSION, RulePlanner  # noqa: E402
from tests.planner_eval.harness import (  # noqa: E402
    LABELS, coxql_items, load_jsonl, score_conversations, score_single,
)


def make() -> RulePlanner:
    return RulePlanner(LABELS, short_words=8)


def main() -> None:
    heldout = "--heldout" in sys.argv
    show = "--failures" in sys.argv and not heldout
    if heldout:
        sets = [("CoXQL held-out 30% (single questions)", "single", coxql_items("heldout")),
                ("whybox held-out single questions", "single", load_jsonl("heldout_single.jsonl")),
                ("whybox held-out conversations (turns)", "conv", load_jsonl("heldout_conversations.jsonl"))]
    else:
        sets = [("CoXQL development 70%", "single", coxql_items("dev")),
                ("whybox development conversations (turns)", "conv", load_jsonl("dev_conversations.jsonl"))]
    print(f"planner {VERSION}")
    for name, kind, items in sets:
        if not items:
            print(f"{name}: (data absent)")
            continue
        start = time.perf_counter()
        score = (score_single if kind == "single" else score_conversations)(make, items)
        ms = (time.perf_counter() - start) * 1000 / score.total
        print(f"{name}: {score.right}/{score.total} = {score.rate:.1%} exactly right; {ms:.2f} ms per question")
        if show:
            for question, got, gold in score.failures:
                print(f"  x {question!r}\n      got  {got}\n      gold {gold}")


if __name__ == "__main__":
    main()
