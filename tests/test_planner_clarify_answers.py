"""The answer to the planner's own clarifying question completes the request it was about
(issue 17: "oops, layer 25" after "there is no layer 45"), and a layer, label or method the plan
cannot honour is asked about instead of being dropped."""
from __future__ import annotations

import pytest

from agent.plan import ConversationState
from tests.planner_eval.harness import make_planner


@pytest.fixture(scope="module")
def planner():
    return make_planner()


def conversation(planner, *questions):
    state, plans = ConversationState(), []
    for q in questions:
        plan = planner.plan(q, state)
        state.remember(plan)
        plans.append(plan)
    return plans


def calls(plan):
    return [(c.tool, c.args) for c in plan.calls]


@pytest.mark.parametrize("questions, expected", [
    (("logit lens on review 12 at layer 45", "oops, layer 25"), [("logit_lens", {"id": 12})]),
    (("what does neuron 900 do", "in layer 14"), [("explain_neuron", {"neuron": 900, "layer": 14})]),
    (("explain neuron 2000 in layer 3", "i meant neuron 200"), [("explain_neuron", {"layer": 3, "neuron": 200})]),
    (("explain review 3 with deeplift", "ok use lime then"), [("attribute", {"id": 3, "method": "lime"})]),
    (("explain review 3 with deeplift", "the second one"), [("attribute", {"id": 3, "method": "occlusion"})]),
    (("probe the middle layer", "15"), [("probe", {"layers": [15]})]),
    (("make review 20 neutral", "sorry, positive"), [("counterfactual", {"id": 20, "target": "positive"})]),
    (("set review 20 to neutral", "ok negative"), [("edit_label", {"id": 20, "label": "negative"})]),
    (("steer review 5 towards neutral", "2"), [("steer", {"id": 5, "target": "positive"})]),
    (("explain", "review 12"), [("attribute", {"id": 12})]),
])
def test_an_answer_completes_the_question_it_answers(planner, questions, expected):
    first, answer = conversation(planner, *questions)
    assert not first.calls and first.message
    assert calls(answer) == expected


def test_a_new_request_after_a_clarifying_question_is_planned_on_its_own(planner):
    _, moved_on = conversation(planner, "logit lens on review 12 at layer 45", "what's the accuracy on film reviews?")
    assert calls(moved_on) == [("score", {"metric": "accuracy", "where": {"match": {"domain": "film"}}})]
    _, number = conversation(planner, "how many reviews are there?", "25")  # no question was asked: no completion
    assert not any(c.tool == "logit_lens" for c in number.calls)


def test_a_layer_no_call_takes_is_said_not_dropped(planner):
    plan = planner.plan("predict review 3 at layer 400", ConversationState())
    assert plan.calls == [] and "no layer 400" in plan.message


def test_a_german_question_is_answered_with_a_word_about_language(planner):
    plan = planner.plan("was sagt das modell zu review 4", ConversationState())
    assert plan.calls == [] and "English" in plan.message


def test_the_printed_plan_keeps_the_contract(planner):
    plan = planner.plan("what does neuron 900 do", ConversationState())
    assert set(plan.model_dump(mode="json")) == {"question", "calls", "message", "choices"}


@pytest.mark.parametrize("questions, expected", [  # v8 failure classes, in wordings of my own
    (("predict 'the soup was cold and bland'", "what if it said 'hot' instead of 'cold'"),
     [("predict", {"text": "the soup was hot and bland"})]),
    (("how confident is it about 71",), [("predict", {"id": 71})]),
    (("ask the model why it thinks 9 is positive",), [("rationalize", {"id": 9})]),
    (("probe layers 3 to 5 for domain", "and for sentiment"), [("probe", {"layers": [3, 4, 5]})]),
    (("probe layers 3 to 5 for domain", "and all layers"), [("probe", {"concept": "domain"})]),
])
def test_v8_classes(planner, questions, expected):
    assert calls(conversation(planner, *questions)[-1]) == expected


@pytest.mark.parametrize("question, keyword", [  # what a figure means / a method with no row named
    ("a roc auc of 0.5 means what exactly", "auc"),
    ("if a probe gets 90% at layer 5, does that mean the layer encodes it?", "probe"),
    ("does kernel shap give the same answer if you run it twice on the same review?", "shap"),
])
def test_a_question_about_a_method_with_no_row_is_a_concept_question(planner, question, keyword):
    plan = planner.plan(question, ConversationState())
    assert [c.tool for c in plan.calls] == ["explain_concept"]
    assert keyword in plan.calls[0].args["topic"].lower()


def test_a_method_question_with_a_row_in_the_conversation_still_runs_on_it(planner):
    plan = conversation(planner, "why is review 4 negative", "does kernel shap agree on it?")[-1]
    assert [c.tool for c in plan.calls] == ["attribute"] and plan.calls[0].args["id"] == 4
