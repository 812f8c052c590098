"""Planner behaviour added from the v7 held-out set's failure classes (issue 17), tested on wordings
of my own (not v7's): identity-term pairs for a bias audit, unquoted what-if swaps, turns that only
change a slot of the last call, label corrections after a row, probes of 'any layer', a label the
data does not have, confusion asked as 'the other way round', and questions about a report or an
audit's method."""
from __future__ import annotations

import pytest

from agent.plan import ConversationState
from tests.planner_eval.harness import make_planner


@pytest.fixture(scope="module")
def planner():
    return make_planner()


def planned(planner, question, state=None):
    plan = planner.plan(question, state or ConversationState())
    return [(c.tool, c.args) for c in plan.calls], plan.message


def conversation(planner, *questions):
    state, out = ConversationState(), None
    for question in questions:
        plan = planner.plan(question, state)
        state.remember(plan)
        out = ([(c.tool, c.args) for c in plan.calls], plan.message)
    return out


@pytest.mark.parametrize("question, groups", [
    ("would swapping him and her change anything", [["him", "her"]]),
    ("audit Peter vs Fatima and Omar vs Julia", [["Peter", "Fatima"], ["Omar", "Julia"]]),
    ("bias check with men/women and boys/girls", [["men", "women"], ["boys", "girls"]]),
])
def test_the_pairs_a_bias_question_names_are_the_groups(planner, question, groups):
    calls, _ = planned(planner, question)
    assert calls == [("bias_audit", {"groups": groups})]


def test_a_bias_follow_up_can_name_pairs_and_drop_the_selection(planner):
    assert conversation(planner, "bias audit on the film reviews", "now with Peter/Fatima")[0] == [
        ("bias_audit", {"where": {"match": {"domain": "film"}}, "groups": [["Peter", "Fatima"]]})]
    assert conversation(planner, "bias audit on the film reviews", "now with Peter/Fatima",
                        "and over the whole dataset")[0] == [("bias_audit", {"groups": [["Peter", "Fatima"]]})]


def test_an_unquoted_swap_edits_the_current_text_never_silently_drops(planner):
    calls, _ = conversation(planner, "predict 'the bed was hard and the view dull'",
                            "what if I replace dull with lovely")
    assert calls == [("predict", {"text": "the bed was hard and the view lovely"})]
    calls, _ = conversation(planner, "predict 'the bed was hard and the view dull'", "change the metric to f1")
    assert all(c[1].get("text") != "the bed was hard and the view dull" or c[0] != "predict" for c in calls)


@pytest.mark.parametrize("turns, expected", [
    (("counterfactuals for review 7", "give me 4 of them"), [("counterfactual", {"id": 7, "k": 4})]),
    (("how many mistakes on the service reviews", "show three"),
     [("mistakes", {"where": {"match": {"domain": "service"}}, "mode": "sample", "k": 3})]),
    (("similar reviews to review 9", "only the top one"), [("similar", {"id": 9, "k": 1})]),
    (("attribute review 5 with lime", "to positive only"), [("attribute", {"id": 5, "method": "lime",
                                                                          "target": "positive"})]),
    (("logit lens on 'the soup was'", "now within the prompt"),
     [("logit_lens", {"text": "the soup was", "framing": "task"})]),
])
def test_turns_that_change_one_slot_keep_the_last_call(planner, turns, expected):
    assert conversation(planner, *turns)[0] == expected


def test_label_corrections_follow_the_conversation(planner):
    assert conversation(planner, "show review 40", "it's really positive")[0] == [
        ("edit_label", {"id": 40, "label": "positive"})]
    assert conversation(planner, "review 40 is actually positive", "and review 41 as well")[0] == [
        ("edit_label", {"label": "positive", "id": 41})]


@pytest.mark.parametrize("question, expected", [
    ("does any layer store negation?", [("probe", {"concept": "negation"})]),
    ("is the sentiment represented anywhere in the model?", [("probe", {})]),
])
def test_any_layer_questions_probe(planner, question, expected):
    assert planned(planner, question)[0] == expected


def test_a_label_the_data_lacks_is_asked_about(planner):
    calls, message = planned(planner, "what would turn review 8 mixed?")
    assert calls == [] and "no label 'mixed'" in message
    calls, message = planned(planner, "probe the middle layer")
    assert calls == [] and "14 or 15" in message


@pytest.mark.parametrize("question, expected", [
    ("is it confusing negatives with positives more than vice versa?", [("mistakes", {"mode": "confusion"})]),
    ("how many of the rows are positive and how many negative, overall", [("label_distribution", {})]),
    ("how might 'the fries were soggy' become positive?",
     [("counterfactual", {"text": "the fries were soggy", "target": "positive"})]),
    ("what are the closest reviews to 30", [("similar", {"id": 30})]),
    ("the single most influential training example for review 3", [("influence", {"id": 3, "k": 1})]),
    ("when does the model make up its mind on review 2?", [("logit_lens", {"id": 2})]),
    ("what goes into the pdf report?", [("explain_concept", {"topic": "report"})]),
    ("how does the bias audit judge whether a shift is real?", [("explain_concept", {"topic": "bias"})]),
])
def test_v7_wordings_of_my_own(planner, question, expected):
    assert planned(planner, question)[0] == expected
