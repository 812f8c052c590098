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
    # wordings of tools: what tipped / keying on / words pull; label split; rewrite in N ways; influenced
    (("what tipped review 31 over",), [("attribute", {"id": 31})]),
    (("which tokens pull review 6 towards positive",), [("attribute", {"id": 6, "target": "positive"})]),
    (("sentiment split for the film reviews",), [("label_distribution", {"where": {"match": {"domain": "film"}}})]),
    (("rewrite review 12 in three ways",), [("augment", {"id": 12, "k": 3})]),
    (("top 2 training rows behind review 40",), [("influence", {"id": 40, "k": 2})]),
    (("which words show up most in the reviews it gets wrong",), [("keywords", {"where": {"correct": False}})]),
    # two asks joined by a bare "and" before "top"
    (("label split and top 3 keywords for film reviews",),
     [("label_distribution", {"where": {"match": {"domain": "film"}}}),
      ("keywords", {"where": {"match": {"domain": "film"}}, "k": 3})]),
    # a count and a label before the noun: k and a selection, not row 2
    (("show 3 positive restaurant reviews",),
     [("show", {"where": {"label": "positive", "match": {"domain": "restaurant"}}, "k": 3})]),
    # "short presentation" is no length filter
    (("for a short presentation: the accuracy on film reviews",),
     [("score", {"metric": "accuracy", "where": {"match": {"domain": "film"}}})]),
    # several neurons of one layer; several rows with their own labels
    (("explain neurons 7 and 8 in layer 2",),
     [("explain_neuron", {"layer": 2, "neuron": 7}), ("explain_neuron", {"layer": 2, "neuron": 8})]),
    (("set row 1 to positive and row 2 to negative",),
     [("edit_label", {"id": 1, "label": "positive"}), ("edit_label", {"id": 2, "label": "negative"})]),
    # k at the end of a long request; a layer range ending in words; a concept named before "concept"
    (("which training rows influenced review 20 most, give me three",), [("influence", {"id": 20, "k": 3})]),
    (("probe layers two to four",), [("probe", {"layers": [2, 3, 4]})]),
    (("steer review 8 with an irony concept",), [("steer", {"id": 8, "concept": "irony"})]),
    # pairs for an audit are no concept contrast; gold labels compared are score by label
    (("bias audit with Maria vs Omar",), [("bias_audit", {"groups": [["Maria", "Omar"]]})]),
    (("is f1 different for gold negative vs gold positive reviews",), [("score", {"metric": "f1", "by": "label"})]),
    # what a figure means is a concept question
    (("what does an f1 of 0.7 tell me",), [("explain_concept", {"topic": "f1"})]),
    # v10 classes: a report per row; "and 181 too" after a label edit; "one sixty five" is 165
    (("reports on reviews 7 and 8",), [("report", {"id": 7}), ("report", {"id": 8})]),
    (("set review 30 to positive", "and 31 too"), [("edit_label", {"id": 31, "label": "positive"})]),
    (("explain review one twenty",), [("attribute", {"id": 120})]),
    (("row 12 is negative, the label's wrong",), [("edit_label", {"id": 12, "label": "negative"})]),
    (("the gold for 70 should say positive",), [("edit_label", {"id": 70, "label": "positive"})]),
    (("rows 5 and 6 are both actually positive",),
     [("edit_label", {"id": 5, "label": "positive"}), ("edit_label", {"id": 6, "label": "positive"})]),
    (("how must review 9 change to come out negative",), [("counterfactual", {"id": 9, "target": "negative"})]),
    (("find rows like 40",), [("similar", {"id": 40})]),
])
def test_v9_classes(planner, questions, expected):
    assert last_calls(planner, *questions) == expected


def test_a_method_clause_that_points_at_the_row_is_still_a_run(planner):
    calls = last_calls(planner, "predict review 61 and explain it with lime")
    assert [c[0] for c in calls] == ["predict", "attribute"]


@pytest.mark.parametrize("question", ["how many neutral reviews are there", "accuracy on the sarcastic ones"])
def test_a_selection_by_a_label_the_data_lacks_is_asked_about(planner, question):
    plan = planner.plan(question, ConversationState())
    assert plan.calls == [] and "no " in plan.message and "positive" in plan.message
    assert [c.calls[0].args["where"]["label"] for c in plan.choices] == ["negative", "positive"]


def test_saving_edited_weights_is_declined(planner):
    plan = planner.plan("zero neuron 9 of layer 2 and save the model", ConversationState())
    assert plan.calls == [] and "fine-tune" in plan.message


@pytest.mark.parametrize("questions, expected", [  # follow-up classes of the v9 conversations
    (("show reviews 30 and 31", "explain it", "the second one"), [("attribute", {"id": 31})]),
    (("keywords of the restaurant reviews", "and on everything"), [("keywords", {})]),
    (("f1 on long film reviews", "drop the length filter"),
     [("score", {"metric": "f1", "where": {"match": {"domain": "film"}}})]),
    (("how many reviews mention staff", "and of those how many are positive"),
     [("count", {"where": {"includes": "staff", "label": "positive"}})]),
    (("how many rows does the model think are positive",), [("count", {"where": {"prediction": "positive"}})]),
    (("patch review 5 with 6 in layers 2 to 3", "now against 9"),
     [("patch", {"id": 5, "contrast_id": 9, "layers": [2, 3]})]),
    (("bias audit swapping John and Maria", "add Ahmed vs Emily to that"),
     [("bias_audit", {"groups": [["John", "Maria"], ["Ahmed", "Emily"]]})]),
    (("what is occlusion, conceptually?", "ok use that on 150"), [("attribute", {"id": 150, "method": "occlusion"})]),
    (("why is review 7 negative", "paraphrase 8 twice"), [("augment", {"id": 8, "k": 2})]),
])
def test_v9_follow_up_classes(planner, questions, expected):
    assert last_calls(planner, *questions) == expected


def test_asking_which_of_the_rows_shown_offers_each(planner):
    state = ConversationState()
    for q in ("show reviews 30 and 31", "predict it"):
        plan = planner.plan(q, state)
        state.remember(plan)
    assert plan.calls == [] and "30, 31" in plan.message
    assert [c.calls[0].args for c in plan.choices] == [{"id": 30}, {"id": 31}]
