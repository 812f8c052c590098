"""Floors on the planner's exact-plan accuracy (figures: `python benchmarks/planner_eval.py --heldout`).

The floors sit a little under the measured figures so a regression fails; the issue's targets
(95% single, 90% conversations) are reported in the closing note with the measured numbers.
"""
import pytest

from agent.planner import RulePlanner
from tests.planner_eval.harness import LABELS, coxql_items, load_jsonl, score_conversations, score_single


def make():
    return RulePlanner(LABELS, short_words=8)


def test_heldout_single_questions():
    score = score_single(make, load_jsonl("heldout_single.jsonl"))
    assert score.rate >= 0.90, score.failures


def test_heldout_conversations():
    score = score_conversations(make, load_jsonl("heldout_conversations.jsonl"))
    assert score.rate >= 0.90, score.failures


def test_development_conversations():
    score = score_conversations(make, load_jsonl("dev_conversations.jsonl"))
    assert score.rate >= 0.95, score.failures


@pytest.mark.parametrize("part, floor", [("dev", 0.97), ("heldout", 0.88)])
def test_coxql(part, floor):
    items = coxql_items(part)
    if not items:
        pytest.skip("shared CoXQL data not beside the checkout")
    assert score_single(make, items).rate >= floor
