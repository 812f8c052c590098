"""Prints the offline planner's exact-plan accuracy and latency.

    python benchmarks/planner_eval.py            # development sets (every set already looked at)
    python benchmarks/planner_eval.py --heldout  # the current held-out sets, v14 (report these; never tune on them)
    python benchmarks/planner_eval.py --failures # also list the wrong plans (add --heldout only once a set is retired)
    python benchmarks/planner_eval.py --typos    # also: exact plans with one random typo per question
"""
from __future__ import annotations

import random
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.planner import VERSION, RulePlanner  # noqa: E402
from tests.planner_eval.harness import (  # noqa: E402
    LABELS,
    coxql_items,
    load_jsonl,
    make_planner,
    score_conversations,
    score_single,
)


def make() -> RulePlanner:
    return make_planner()


def make_coxql() -> RulePlanner:
    """CoXQL's questions are about its own datasets (other ids, no `domain` column)."""
    return RulePlanner(LABELS, short_words=8)


def main() -> None:
    heldout = "--heldout" in sys.argv
    show = "--failures" in sys.argv
    if heldout:
        sets = [("whybox held-out v15 single questions (177)", "single", load_jsonl("heldout_single_v15.jsonl")),
                ("whybox held-out v15 conversations (turns)", "conv", load_jsonl("heldout_conversations_v15.jsonl"))]
    else:  # every set that has been looked at (tests/planner_eval/README.md)
        sets = [("CoXQL development 70%", "coxql", coxql_items("dev")),
                ("CoXQL 30% (held out until session 6)", "coxql", coxql_items("heldout")),
                ("whybox v1 single questions", "single", load_jsonl("heldout_single.jsonl")),
                ("whybox v2 single questions", "single", load_jsonl("heldout_single_v2.jsonl")),
                ("whybox v3 single questions", "single", load_jsonl("heldout_single_v3.jsonl")),
                ("whybox v4 single questions", "single", load_jsonl("heldout_single_v4.jsonl")),
                ("whybox v5 single questions", "single", load_jsonl("heldout_single_v5.jsonl")),
                ("whybox v6 single questions", "single", load_jsonl("heldout_single_v6.jsonl")),
                ("whybox v7 single questions", "single", load_jsonl("heldout_single_v7.jsonl")),
                ("whybox v8 single questions", "single", load_jsonl("heldout_single_v8.jsonl")),
                ("whybox v9 single questions", "single", load_jsonl("heldout_single_v9.jsonl")),
                ("whybox v10 single questions", "single", load_jsonl("heldout_single_v10.jsonl")),
                ("whybox v11 single questions", "single", load_jsonl("heldout_single_v11.jsonl")),
                ("whybox v12 single questions", "single", load_jsonl("heldout_single_v12.jsonl")),
                ("whybox v13 single questions", "single", load_jsonl("heldout_single_v13.jsonl")),
                ("whybox v14 single questions", "single", load_jsonl("heldout_single_v14.jsonl")),
                ("whybox development conversations (turns)", "conv", load_jsonl("dev_conversations.jsonl")),
                ("whybox v1 conversations (turns)", "conv", load_jsonl("heldout_conversations.jsonl")),
                ("whybox v2 conversations (turns)", "conv", load_jsonl("heldout_conversations_v2.jsonl")),
                ("whybox v3 conversations (turns)", "conv", load_jsonl("heldout_conversations_v3.jsonl")),
                ("whybox v4 conversations (turns)", "conv", load_jsonl("heldout_conversations_v4.jsonl")),
                ("whybox v5 conversations (turns)", "conv", load_jsonl("heldout_conversations_v5.jsonl")),
                ("whybox v6 conversations (turns)", "conv", load_jsonl("heldout_conversations_v6.jsonl")),
                ("whybox v7 conversations (turns)", "conv", load_jsonl("heldout_conversations_v7.jsonl")),
                ("whybox v8 conversations (turns)", "conv", load_jsonl("heldout_conversations_v8.jsonl")),
                ("whybox v9 conversations (turns)", "conv", load_jsonl("heldout_conversations_v9.jsonl")),
                ("whybox v10 conversations (turns)", "conv", load_jsonl("heldout_conversations_v10.jsonl")),
                ("whybox v11 conversations (turns)", "conv", load_jsonl("heldout_conversations_v11.jsonl")),
                ("whybox v12 conversations (turns)", "conv", load_jsonl("heldout_conversations_v12.jsonl")),
                ("whybox v13 conversations (turns)", "conv", load_jsonl("heldout_conversations_v13.jsonl")),
                ("whybox v14 conversations (turns)", "conv", load_jsonl("heldout_conversations_v14.jsonl"))]
    start = time.perf_counter()
    make().plan("warm up")  # start-up (the intent model's encoder) is not per-question latency
    print(f"planner {VERSION}; start-up {time.perf_counter() - start:.2f} s")
    for name, kind, items in sets:
        if not items:
            print(f"{name}: (data absent)")
            continue
        start = time.perf_counter()
        score = (score_conversations(make, items) if kind == "conv"
                 else score_single(make_coxql if kind == "coxql" else make, items))
        ms = (time.perf_counter() - start) * 1000 / score.total
        print(f"{name}: {score.right}/{score.total} = {score.rate:.1%} exactly right; "
              f"{score.wrong_calls} ran other calls ({score.wrong_calls / score.total:.1%}); {ms:.2f} ms per question")
        if show:
            for question, got, gold in score.failures:
                print(f"  x {question!r}\n      got  {got}\n      gold {gold}")
    fuzz_latency()


FUZZ_ALPHABET = "abcdefghijklmnopqrstuvwxyz 0123456789'\"?!.,;:-éü中文🙂\n\t"


def fuzz_latency(n: int = 300) -> None:
    """Planning time per question after start-up on random text (what tests/test_planner.py fuzzes
    for crashes), and on one 10,000-character question (planning reads its first 2,000)."""
    rng = random.Random(0)
    texts = ["".join(rng.choice(FUZZ_ALPHABET) for _ in range(rng.randint(0, 200))) for _ in range(n)]
    planner = make()
    planner.plan("warm up")
    start = time.perf_counter()
    for text in texts:
        planner.plan(text)
    per_question = (time.perf_counter() - start) * 1000 / n
    start = time.perf_counter()
    planner.plan("x" * 10_000 + " how many reviews?")
    huge = (time.perf_counter() - start) * 1000
    print(f"random text ({n} questions): {per_question:.2f} ms per question; "
          f"a 10,000-character question: {huge:.1f} ms")
    times = []
    if planner.intent_model is not None:
        planner.intent_model._cache.clear()  # the sets above were planned in this process: no cached guesses
    for item in load_jsonl("heldout_single_v4.jsonl"):  # real questions, one at a time, a fresh conversation each
        start = time.perf_counter()
        planner.plan(item["q"])
        times.append((time.perf_counter() - start) * 1000)
    print(f"median planning time over {len(times)} real questions: {statistics.median(times):.2f} ms "
          f"(90th percentile {sorted(times)[int(len(times) * 0.9)]:.2f} ms)")


def with_typo(question: str, rng: random.Random) -> str:
    """One random typo (swap, drop or double a letter) in one word of five letters or more."""
    words = question.split(" ")
    spots = [i for i, w in enumerate(words) if re.fullmatch(r"[A-Za-z]{5,}[?.!,]?", w)]
    if not spots:
        return question
    i = rng.choice(spots)
    word, j = words[i], rng.randrange(1, len(re.sub(r"\W", "", words[i])) - 1)
    edit = rng.choice(["swap", "drop", "double"])
    words[i] = (word[:j] + word[j + 1] + word[j] + word[j + 2:] if edit == "swap"
                else word[:j] + word[j + 1:] if edit == "drop" else word[:j] + word[j] + word[j:])
    return " ".join(words)


def typo_robustness() -> None:
    """Exact plans with one typo per question (3 seeds), clean figure alongside."""
    sets = [("CoXQL development 70%", coxql_items("dev"), make_coxql),
            ("whybox v3 single questions", load_jsonl("heldout_single_v3.jsonl"), make)]
    for name, items, maker in sets:
        if not items:
            continue
        clean = score_single(maker, items).rate
        noisy = [score_single(maker, [{**it, "q": with_typo(it["q"], random.Random(seed * 7919 + n))}
                                     for n, it in enumerate(items)]).rate
                 for seed in (1, 2, 3)]
        seeds = ", ".join(f"{r:.1%}" for r in noisy)
        print(f"{name}: clean {clean:.1%}; one typo per question {sum(noisy) / 3:.1%} (seeds: {seeds})")


if __name__ == "__main__":
    main()
    if "--typos" in sys.argv:
        typo_robustness()
