"""Floors on the planner's exact-plan accuracy (figures: `python benchmarks/planner_eval.py`).

The floors sit a little under the measured figures so a regression fails. The v3 sets are the
current held-out sets (tests/planner_eval/README.md): the issue's targets (95% single questions,
90% conversation turns) are checked on them; nobody tunes on their failures.
"""
import pytest

from agent.planner import RulePlanner
from tests.planner_eval.harness import LABELS, coxql_items, load_jsonl, make_planner, score_conversations, score_single


def make():
    return make_planner()


def test_heldout_v3_meets_the_issue_targets():
    single = score_single(make, load_jsonl("heldout_single_v3.jsonl"))
    turns = score_conversations(make, load_jsonl("heldout_conversations_v3.jsonl"))
    assert single.rate >= 0.95, single.failures
    assert turns.rate >= 0.90, turns.failures


@pytest.mark.parametrize("name, floor", [("heldout_single.jsonl", 0.97), ("heldout_single_v2.jsonl", 0.97)])
def test_development_single_questions(name, floor):
    score = score_single(make, load_jsonl(name))
    assert score.rate >= floor, score.failures


@pytest.mark.parametrize("name", ["dev_conversations.jsonl", "heldout_conversations.jsonl",
                                  "heldout_conversations_v2.jsonl"])
def test_development_conversations(name):
    score = score_conversations(make, load_jsonl(name))
    assert score.rate >= 0.95, score.failures


def test_rules_alone_still_plan_without_the_intent_model():
    """The learned model is a second opinion: without it (weights or encoder missing) the rules
    still plan, at their session-5 level."""
    score = score_single(lambda: make_planner(intent_model=None),
                         load_jsonl("heldout_single.jsonl"))
    assert score.rate >= 0.90, score.failures


@pytest.mark.parametrize("part, floor", [("dev", 0.97), ("heldout", 0.97)])
def test_coxql(part, floor):
    items = coxql_items(part)
    if not items:
        pytest.skip("shared CoXQL data not beside the checkout")
    assert score_single(lambda: RulePlanner(LABELS, short_words=8), items).rate >= floor  # CoXQL's own ids


@pytest.mark.parametrize("name, floor", [("heldout_single_v4.jsonl", 0.95), ("heldout_single_v5.jsonl", 0.92),
                                         ("heldout_single_v6.jsonl", 0.91), ("heldout_single_v7.jsonl", 0.96),
                                         ("heldout_conversations_v4.jsonl", 0.84),
                                         ("heldout_conversations_v5.jsonl", 0.96),
                                         ("heldout_conversations_v6.jsonl", 0.83),
                                         ("heldout_conversations_v7.jsonl", 0.92)])
def test_retired_sets_after_their_first_measurement(name, floor):
    """Retired held-out sets (first measured at 59.3% / 39.5% for v4, 77.5% / 78.8% for v5, 75.0% /
    80.0% for v6, 87.6% / 74.5% for v7; tests/planner_eval/README.md): floors under today's figures,
    so a regression fails."""
    items = load_jsonl(name)
    score = (score_conversations if "conversations" in name else score_single)(make, items)
    assert score.rate >= floor, score.failures
