"""Prints the offline planner's exact-plan accuracy and latency.

    python benchmarks/planner_eval.py            # development sets (every set already looked at)
    python benchmarks/planner_eval.py --heldout  # the current held-out sets, v3 (report these; never tune on them)
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
        sets = [("whybox held-out v3 single questions (141)", "single", load_jsonl("heldout_single_v3.jsonl")),
                ("whybox held-out v3 conversations (turns)", "conv", load_jsonl("heldout_conversations_v3.jsonl"))]
    else:  # every set that has been looked at (tests/planner_eval/README.md)
        sets = [("CoXQL development 70%", "single", coxql_items("dev")),
                ("CoXQL 30% (held out until session 6)", "single", coxql_items("heldout")),
                ("whybox v1 single questions", "single", load_jsonl("heldout_single.jsonl")),
                ("whybox v2 single questions", "single", load_jsonl("heldout_single_v2.jsonl")),
                ("whybox development conversations (turns)", "conv", load_jsonl("dev_conversations.jsonl")),
                ("whybox v1 conversations (turns)", "conv", load_jsonl("heldout_conversations.jsonl")),
                ("whybox v2 conversations (turns)", "conv", load_jsonl("heldout_conversations_v2.jsonl"))]
    start = time.perf_counter()
    make().plan("warm up")  # start-up (the intent model's encoder) is not per-question latency
    print(f"planner {VERSION}; start-up {time.perf_counter() - start:.2f} s")
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
