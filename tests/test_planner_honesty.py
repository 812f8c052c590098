"""The planner on the defaults `whybox plan` uses (demo data with its `domain` column, the default
model's 30 layers and 1536 neurons): category selections and comparisons, and what it cannot
honour said instead of run (issue 17: "never substitute silently")."""
from __future__ import annotations

import pytest

from agent.plan import ConversationState
from agent.premises import premise_note
from agent.records import Step
from tests.planner_eval.harness import make_planner


@pytest.fixture(scope="module")
def planner():
    return make_planner()


def calls(planner, question, state=None):
    plan = planner.plan(question, state or ConversationState())
    return [(c.tool, c.args) for c in plan.calls], plan


@pytest.mark.parametrize("question, expected", [
    ("show me 5 film reviews", [("show", {"where": {"match": {"domain": "film"}}, "k": 5})]),
    ("how many restaurant reviews do we have?", [("count", {"where": {"match": {"domain": "restaurant"}}})]),
    ("label distribution of the movie reviews", [("label_distribution", {"where": {"match": {"domain": "film"}}})]),
    ("acuracy on flim reviews", [("score", {"metric": "accuracy", "where": {"match": {"domain": "film"}}})]),
    ("f1 per domain", [("score", {"metric": "f1", "by": "domain"})]),
    ("is it better on film reviews or restaurant reviews?", [("score", {"by": "domain"})]),
    ("which domain does the model struggle with the most", [("score", {"by": "domain"})]),
])
def test_category_values_select_rows_and_comparisons_group_them(planner, question, expected):
    assert calls(planner, question)[0] == expected


def test_a_category_word_that_is_not_a_selection_is_left_alone(planner):
    # "service" names no rows here, and a quoted text is never read for categories
    assert calls(planner, "what does it predict for 'the service reviews were slow'")[0] == [
        ("predict", {"text": "the service reviews were slow"})]


def test_follow_ups_narrow_the_selection_with_only_and_there(planner):
    state = ConversationState()
    for question in ("label balance of the product reviews", "the long ones only"):
        plan = planner.plan(question, state)
        state.remember(plan)
    assert plan.calls[0].args == {"where": {"match": {"domain": "product"}, "min_words": 9}}


@pytest.mark.parametrize("question, said", [
    ("what does layer 30 encode", "The model has 30 layers, numbered 0 to 29; there is no layer 30"),
    ("top neurons of review 4 in layer 31", "there is no layer 31"),
    ("explain neuron 1600 in layer 3", "there is no neuron 1600"),
    ("attribute review 5 with deeplift", "whybox has no deeplift method"),
    ("counterfactual for review 8 to neutral", "there is no label 'neutral'"),
    ("change the label of review 9 to mixed", "there is no label 'mixed'"),
    ("show me that one again", "Which row do you mean?"),
])
def test_what_cannot_be_honoured_is_asked_not_run(planner, question, said):
    found, plan = calls(planner, question)
    assert found == [] and said in plan.message


def test_an_unknown_label_offers_the_real_labels_as_choices(planner):
    _, plan = calls(planner, "counterfactual for review 8 to neutral")
    assert [c.calls[0].args for c in plan.choices] == [{"id": 8, "target": "negative"},
                                                       {"id": 8, "target": "positive"}]


def test_last_and_first_layer_are_the_model_s(planner):
    assert calls(planner, "most responsible mlp neurons for 'worst purchase ever' in the last layer")[0] == [
        ("top_neurons", {"text": "worst purchase ever", "layer": 29})]
    assert calls(planner, "explain neuron 0 of the first layer")[0] == [("explain_neuron", {"layer": 0, "neuron": 0})]


@pytest.mark.parametrize("question, expected", [
    ("actually review 7 is positive", [("edit_label", {"id": 7, "label": "positive"})]),
    ("review 19 is mislabelled, it should be negative", [("edit_label", {"id": 19, "label": "negative"})]),
    ("set the label of 88 to positive", [("edit_label", {"id": 88, "label": "positive"})]),
    ("the gold label of review 102 is wrong", [("edit_label", {"id": 102})]),
])
def test_label_corrections_said_as_statements(planner, question, expected):
    assert calls(planner, question)[0] == expected


def test_a_question_about_a_label_edits_nothing(planner):
    assert all(tool != "edit_label" for tool, _ in calls(planner, "is review 7 actually positive?")[0])


def test_a_false_premise_gets_the_prediction_first(planner):
    assert calls(planner, "why did it get review 12 wrong?")[0] == [("predict", {"id": 12}), ("attribute", {"id": 12})]


def test_premise_note_says_when_the_row_is_no_mistake():
    step = Step(tool="predict", args={"id": 12}, status="done",
                output={"id": 12, "label": "positive", "gold_label": "positive", "correct": True, "probability": 0.61})
    assert premise_note("why did it get review 12 wrong?", [step]) == (
        "Review 12 is not a mistake: gold positive, predicted positive (0.61). "
        "What follows explains that correct prediction.")
    wrong = step.model_copy(update={"output": {**step.output, "label": "negative", "correct": False}})
    assert premise_note("why did it misclassify row 12", [wrong]).startswith("Row 12 is indeed a mistake")
    assert premise_note("why is review 12 positive?", [step]) is None


def test_compare_two_methods_runs_both(planner):
    assert calls(planner, "compare integrated gradients and LIME on review 3")[0] == [
        ("attribute", {"id": 3, "method": "integrated_gradients"}), ("attribute", {"id": 3, "method": "lime"})]


def test_an_apostrophe_inside_a_quoted_text_is_kept(planner):
    assert calls(planner, "what does it predict for 'I didn't like the food'")[0] == [
        ("predict", {"text": "I didn't like the food"})]


@pytest.mark.parametrize("question, topic", [
    ("how many forward passes does LIME need?", "lime"),
    ("can a probe find structure that is not there?", "prob"),
    ("what does activation patching actually tell you about a model", "patching"),
    ("whats f1", "f1"),
    ("how do i read a confusion matrix", "confusion"),
    ("what is polysemanticity in neurons", "polysemantic"),
])
def test_concept_questions_that_name_a_tool_word(planner, question, topic):
    """(Two concepts contrasted, "is precision or recall more important?", get a card each.)"""
    found, _ = calls(planner, question)
    assert len(found) == 1 and found[0][0] == "explain_concept" and topic in found[0][1]["topic"]


@pytest.mark.parametrize("question, expected", [
    ("show me review forty two", [("show", {"id": 42})]),
    ("neuron three hundred in layer ten, describe it", [("explain_neuron", {"layer": 10, "neuron": 300})]),
    ("why is review one hundred and three predicted that way", [("attribute", {"id": 103})]),
    ("acc?", [("score", {"metric": "accuracy"})]),
    ("top 10 words driving negative predictions", [("global_importance", {"k": 10, "target": "negative"})]),
    ("what pushes review 54 towards negative", [("attribute", {"id": 54, "target": "negative"})]),
    ("precision vs recall whats the diff", [("explain_concept", {"topic": "precision"}),
                                            ("explain_concept", {"topic": "recall"})]),
])
def test_how_people_type(planner, question, expected):
    assert calls(planner, question)[0] == expected


@pytest.mark.parametrize("question", ["Warum ist review 12 negativ?", "qu'est-ce que ça veut dire ?",
                                      "Zeig mir die Fehler bitte"])
def test_another_language_is_said_not_guessed(planner, question):
    found, plan = calls(planner, question)
    assert found == [] and "English" in plan.message


def test_an_unknown_category_value_is_said_not_dropped(planner):
    found, plan = calls(planner, "what's the accuracy on the sports reviews?")
    assert found == [] and "no 'sports' rows" in plan.message and "film, product, restaurant, service" in plan.message
    assert calls(planner, "how many of the reviews are negative")[1].message is None


def test_context_survives_a_concept_question_and_a_clarification(planner):
    state = ConversationState()
    for question in ("ask the model to explain review 70's answer", "how faithful are such self-explanations usually?",
                     "ok same for review 71"):
        plan = planner.plan(question, state)
        state.remember(plan)
    assert [(c.tool, c.args) for c in plan.calls] == [("rationalize", {"id": 71})]
    state = ConversationState()
    for question in ("top neurons for review 12 at layer 20", "describe neuron 1200 there", "and neuron 1600?",
                     "ok what about review 13"):
        plan = planner.plan(question, state)
        state.remember(plan)
    assert [(c.tool, c.args) for c in plan.calls] == [("top_neurons", {"layer": 20, "id": 13})]


def test_layer_spans_in_words_and_the_middle_layer(planner):
    assert calls(planner, "probe the first five layers for negation")[0] == [
        ("probe", {"layers": [0, 1, 2, 3, 4], "concept": "negation"})]
    assert calls(planner, "probe the last 3 layers for domain")[0] == [
        ("probe", {"layers": [27, 28, 29], "concept": "domain"})]
    found, plan = calls(planner, "top neurons for review 3 in the middle layer")
    assert found == [] and [c.calls[0].args["layer"] for c in plan.choices] == [14, 15]


def test_editing_weights_is_declined(planner):
    found, plan = calls(planner, "set the weights of neuron 100 in layer 5 to zero permanently")
    assert found == [] and "does not train" in plan.message


def _conversation(planner, questions):
    state, plans = ConversationState(), []
    for question in questions:
        plan = planner.plan(question, state)
        state.remember(plan)
        plans.append(plan)
    return plans


def test_stronger_and_weaker_rescale_the_last_steer(planner):
    plans = _conversation(planner, ["can you push review 5 towards positive?", "stronger", "even stronger", "weaker"])
    assert [(c.tool, c.args) for c in plans[0].calls] == [("steer", {"id": 5, "target": "positive"})]
    # after the default sweep (0..8) "stronger" is twice its largest strength, then it doubles and halves
    assert [p.calls[0].args.get("strength") for p in plans[1:]] == [16, 32, 16]
    assert all(p.calls[0].args["id"] == 5 and p.calls[0].args["target"] == "positive" for p in plans[1:])


def test_several_layers_for_a_one_layer_tool_are_asked_not_cut_to_the_first(planner):
    plans = _conversation(planner, ["steer review 5 towards positive", "only layers 10 to 12", "at layer 11"])
    ask = plans[1]
    assert not ask.calls and "one layer at a time" in ask.message
    assert [c.calls[0].args["layer"] for c in ask.choices] == [10, 11, 12]
    assert plans[2].calls[0].args == {"id": 5, "target": "positive", "layer": 11}
    # patch takes several layers: the same words narrow it
    plans = _conversation(planner, ["which layer carries the difference between review 3 and review 7?",
                                    "only layers 10 to 12"])
    assert plans[1].calls[0].args == {"id": 3, "contrast_id": 7, "layers": [10, 11, 12]}


@pytest.mark.parametrize("question", ["probe layers 0 to 100000000", "probe layers 99999999999999999999 to 2"])
def test_an_enormous_layer_span_is_refused_in_bounded_memory(planner, question):
    # issue 22: this was a MemoryError / OverflowError inside the planner
    found, plan = calls(planner, question)
    assert found == [] and "The model has 30 layers, numbered 0 to 29" in plan.message
