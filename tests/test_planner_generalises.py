"""Planner behaviour added from the v6 held-out set's failure classes (issue 17): counts in words,
label corrections said as orders or statements, two selections compared, a filter dropped without
unlearning anything, a rationale that includes its faithfulness check, and the learned concept head
for questions about how a method or metric works."""
from __future__ import annotations

import pytest

from agent.plan import ConversationState
from tests.planner_eval.harness import make_planner


@pytest.fixture(scope="module")
def planner():
    return make_planner()


def planned(planner, question):
    plan = planner.plan(question, ConversationState())
    return [(c.tool, c.args) for c in plan.calls]


@pytest.mark.parametrize("question, expected", [
    ("show me five film reviews", [("show", {"where": {"match": {"domain": "film"}}, "k": 5})]),
    ("shap values for review 64, top five", [("attribute", {"id": 64, "method": "kernel_shap", "k": 5})]),
    ("rephrase review 99 in two other ways", [("augment", {"id": 99, "k": 2})]),
    ("paraphrase review 4 twice", [("augment", {"id": 4, "k": 2})]),
    ('steer the text "I love this place" to negative, strength two',
     [("steer", {"text": "I love this place", "target": "negative", "strength": 2})]),
])
def test_counts_in_words_are_read(planner, question, expected):
    assert planned(planner, question) == expected


def test_a_quoted_text_keeps_its_number_words(planner):
    assert planned(planner, "what does it predict for 'two stars at most'") == [
        ("predict", {"text": "two stars at most"})]


@pytest.mark.parametrize("question, expected", [
    ("the gold label for review 140 is wrong", [("edit_label", {"id": 140})]),
    ("set review one hundred to negative please", [("edit_label", {"id": 100, "label": "negative"})]),
    ("i think 61 should be labelled negative, fix it", [("edit_label", {"id": 61, "label": "negative"})]),
    ("mark 12 as positive", [("edit_label", {"id": 12, "label": "positive"})]),
])
def test_label_corrections_said_as_orders_or_statements(planner, question, expected):
    assert planned(planner, question) == expected


def test_a_metric_order_is_not_a_label_edit(planner):
    assert planned(planner, "set the metric to f1") == [("score", {"metric": "f1"})]


def test_two_selections_compared_are_two_calls_in_the_order_named(planner):
    assert planned(planner, "how accurate is it on the short reviews vs the long ones") == [
        ("score", {"metric": "accuracy", "where": {"max_words": 8}}),
        ("score", {"metric": "accuracy", "where": {"min_words": 9}})]
    assert planned(planner, "f1 on long vs short reviews") == [
        ("score", {"metric": "f1", "where": {"min_words": 9}}), ("score", {"metric": "f1", "where": {"max_words": 8}})]
    # two concepts contrasted are still two cards
    assert planned(planner, "precision vs recall") == [
        ("explain_concept", {"topic": "precision"}), ("explain_concept", {"topic": "recall"})]


def test_forgetting_a_filter_is_not_unlearning(planner):
    assert planned(planner, "forget the domains now: f1 on the short reviews vs the long ones")[0][0] == "score"
    assert planned(planner, "forget review 12") == []
    assert planned(planner, "please forget what you learned from review 3") == []


def test_a_rationale_includes_its_faithfulness_check(planner):
    assert planned(planner, "Ask the model to explain its own decision on review 81, and please tell me whether "
                            "that explanation is faithful.") == [("rationalize", {"id": 81})]
    assert planned(planner, 'self explanation for "not bad at all"') == [("rationalize", {"text": "not bad at all"})]


@pytest.mark.parametrize("question", [
    "does occlusion need gradients from the model",
    "does kernel shap sample coalitions at random?",
    "hm, what baseline does integrated gradients start from?",
])
def test_questions_about_how_a_method_works_get_a_card(planner, question):
    assert [tool for tool, _ in planned(planner, question)] == ["explain_concept"]


@pytest.mark.parametrize("question, tool", [
    ("what's the f1?", "score"), ("What is the precision?", "score"), ("run lime on review 3", "attribute"),
    ("occlusion for review 8", "attribute"),
])
def test_requests_to_run_a_method_still_run_it(planner, question, tool):
    assert [t for t, _ in planned(planner, question)] == [tool]


def test_the_concept_head_ships_with_the_weights():
    from agent.planner.intent_model import shared_model

    model = shared_model()
    assert model is not None and model.concept_coef is not None
    assert model.guess("does kernel shap sample coalitions at random?").concept > 0.7
    assert model.guess("kernel shap for review 12 please").concept < 0.3
