"""v8/v9 failure classes (issue 17), in wordings of my own: each was a silent wrong call or a
needless 'not understood' on the independent sets' first measurement."""
from __future__ import annotations

import pytest

from agent.plan import ConversationState
from tests.planner_eval.harness import make_planner


@pytest.fixture(scope="module")
def planner():
    return make_planner()


def last_calls(planner, *questions):
    state, plan = ConversationState(), None
    for q in questions:
        plan = planner.plan(q, state)
        state.remember(plan)
    return [(c.tool, c.args) for c in plan.calls]


@pytest.mark.parametrize("questions, expected", [
    # a bare list of ids after the verb: one call per id
    (("classify 21 and 22",), [("predict", {"id": 21}), ("predict", {"id": 22})]),
    # a number alone continues the last call: its neuron, or its row
    (("what does neuron 300 in layer 4 do", "and 301?"), [("explain_neuron", {"layer": 4, "neuron": 301})]),
    (("why is review 8 positive", "what about 9?"), [("attribute", {"id": 9})]),
    # edits of a text quoted in the same message, quoted or not
    (("replace 'slow' with 'fast' in 'the service was slow'",), [("predict", {"text": "the service was fast"})]),
    (("cut 'really' out of 'i really hated it' and classify it",), [("predict", {"text": "i hated it"})]),
    (("what does it make of 'the room was dirty' if dirty were spotless",),
     [("predict", {"text": "the room was spotless"})]),
    (("predict 'the train was late'", "and suppose late was early?"), [("predict", {"text": "the train was early"})]),
    # label corrections said as opinions
    (("review 50 reads as positive to me, fix the gold",), [("edit_label", {"id": 50, "label": "positive"})]),
    (("the gold on review 11 seems wrong",), [("edit_label", {"id": 11})]),
    (("two hundred and one should be marked negative",), [("edit_label", {"id": 201, "label": "negative"})]),
    (("show review 70", "that's obviously a negative one, the gold is wrong", "same for 71"),
     [("edit_label", {"id": 71, "label": "negative"})]),
    (("relabel 5 as positive", "and 6 is negative actually"), [("edit_label", {"id": 6, "label": "negative"})]),
    # "what model think", "does the model think": a prediction
    (("does it think review 12 is good or bad",), [("predict", {"id": 12})]),
    # a concept and a run of it in one message
    (("what's kernel shap, and could you run it on review 9?",),
     [("explain_concept", {"topic": "kernel shap"}), ("attribute", {"id": 9, "method": "kernel_shap"})]),
    # numbers in words before a unit
    (("accuracy on reviews under twelve words",), [("score", {"metric": "accuracy", "where": {"max_words": 11}})]),
    # "twice as strong" doubles the strength
    (("steer review 3 towards positive at layer 9 with strength 3", "twice as strong"),
     [("steer", {"id": 3, "layer": 9, "strength": 6, "target": "positive"})]),
])
def test_v9_classes(planner, questions, expected):
    assert last_calls(planner, *questions) == expected


def test_a_method_clause_that_points_at_the_row_is_still_a_run(planner):
    calls = last_calls(planner, "predict review 61 and explain it with lime")
    assert [c[0] for c in calls] == ["predict", "attribute"]
