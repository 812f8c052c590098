"""Typo repair before planning: exact distances, the deletion index against brute force, what is
never touched, and plans that survive a typo."""
import random

import pytest

from agent.plan import ConversationState
from agent.planner import RulePlanner
from agent.planner.spelling import Speller, damerau_levenshtein, max_distance, shared_speller
from tests.planner_eval.harness import LABELS


@pytest.mark.parametrize("a, b, d", [("labels", "labels", 0), ("lbels", "labels", 1), ("moedl", "model", 1),
                                     ("kitten", "sitting", 3), ("ca", "abc", 3), ("", "abc", 3),
                                     ("abcdef", "badcfe", 3)])
def test_damerau_levenshtein_exact_values(a, b, d):
    assert damerau_levenshtein(a, b) == d


def _subsequence(typed: str, word: str) -> bool:
    """Written out here, not imported: the reference the index is checked against."""
    at = 0
    for ch in word:
        if at < len(typed) and typed[at] == ch:
            at += 1
    return at == len(typed)


def test_deletion_index_finds_what_brute_force_finds():
    speller = shared_speller()
    assert speller is not None
    rng = random.Random(0)
    words = sorted(speller.counts)
    for _ in range(200):
        word = list(rng.choice(words))
        i = rng.randrange(len(word))
        word[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        typo = "".join(word)
        if typo in speller.known:
            continue
        limit = max_distance(typo)
        brute = sorted(((damerau_levenshtein(typo, w), not _subsequence(typo, w), -speller.counts[w], w)
                        for w in words), key=lambda t: t[:3])
        brute = [b for b in brute if b[0] <= limit]
        expected = None if not brute or (len(brute) > 1 and brute[1][:3] == brute[0][:3]) else brute[0][3]
        assert speller.correct(typo) == expected, typo


def test_only_unknown_words_outside_quotes_change():
    speller = Speller({"labels": 10, "model": 5, "display": 3}, {"the", "what", "are", "cold"})
    assert speller.fix("What are the lbels?") == "What are the labels?"
    assert speller.fix("Moedl please") == "Model please"
    assert speller.fix("predict 'the moedl lbels'") == "predict 'the moedl lbels'"  # the user's text
    assert speller.fix("classify: dispay lbels") == "classify: dispay lbels"  # text after a colon
    assert speller.fix("labels cold zzzzzz") == "labels cold zzzzzz"


@pytest.mark.parametrize("question, expected", [
    ("What are the lbels in the dataset?", [("label_distribution", {})]),
    ("Can you dispay the instance with id 2451?", [("show", {"id": 2451})]),
    ("What's the model's accracy?", [("score", {"metric": "accuracy"})]),
    ("how many reviews mention 'srvice'?", [("count", {"where": {"includes": "srvice"}})]),  # quoted: as typed
])
def test_plans_survive_a_typo(question, expected):
    plan = RulePlanner(LABELS).plan(question, ConversationState())
    assert [(c.tool, c.args) for c in plan.calls] == expected
    assert plan.question == question
