"""The failure classes of v15's first measurement (issue 17), in wordings of our own: self-corrections,
dictated numbers, Neuronpedia's layer/neuron pairs, TalkToModel filters, Captum's class names and
targets, id ranges and rows picked by position. 22 of these 23 cases fail on the planner of 937a377."""
from __future__ import annotations

import pytest

from agent.planner.corrections import corrected
from agent.planner.normalise import id_ranges, layer_slash_neuron, spoken_forms
from tests.planner_eval.harness import last_calls, make_planner, plan_turns


@pytest.fixture(scope="module")
def planner():
    return make_planner()


@pytest.mark.parametrize("question, expected", [
    ("predict review 33, sorry, 34", [("predict", {"id": 34})]),
    ("top words for review 9 using occlusion no wait lime", [("attribute", {"id": 9, "method": "lime"})]),
    ("which words push review 8 towards negative, I mean positive", [("attribute", {"id": 8, "target": "positive"})]),
    ("accuracy on product, er, film reviews",
     [("score", {"metric": "accuracy", "where": {"match": {"domain": "film"}}})]),
    ("logit lens for review 4 at layer 12 — make that 13", None),  # checked below: the layer is 13
    ("set 77 to positive... wait no, negative", [("edit_label", {"id": 77, "label": "negative"})]),
    ("probe layers 2 to 4, sorry, 2 to 6", [("probe", {"layers": [2, 3, 4, 5, 6]})]),
    ("explain neuron 2000 of layer 3, oops, neuron 200", [("explain_neuron", {"layer": 3, "neuron": 200})]),
])
def test_the_last_value_said_wins(planner, question, expected):
    calls = last_calls(planner, question)
    if expected is None:
        assert calls and all(args.get("layer", 13) == 13 for _, args in calls), calls
    else:
        assert calls == expected


def test_a_correction_needs_a_value_of_the_same_kind():
    assert corrected("why is review 7 positive and what would make it negative") == \
        "why is review 7 positive and what would make it negative"
    assert corrected("no, show me review 5") == "no, show me review 5"
    assert corrected("predict 'no wait, 12 is great, sorry, 13'") == "predict 'no wait, 12 is great, sorry, 13'"
    assert corrected("count the film, no, restaurant reviews", ["film", "restaurant"]) == \
        "count the restaurant reviews"


def test_dictated_numbers_and_punctuation():
    assert spoken_forms("show review two oh nine") == "show review 209"
    assert spoken_forms("steer it with strength two point five question mark") == "steer it with strength 2.5?"
    assert spoken_forms("a rationale four that one") == "a rationale for that one"
    assert spoken_forms("show me four reviews") == "show me four reviews"  # a count stays
    assert spoken_forms("predict 'one oh five'") == "predict 'one oh five'"  # quoted text is never changed


def test_dictated_questions_plan(planner):
    assert last_calls(planner, "so um what does the model say for review one oh three") == [("predict", {"id": 103})]
    assert last_calls(planner, "what does it predict for review to hundred and one") == [("predict", {"id": 201})]


def test_neuronpedia_pairs():
    assert layer_slash_neuron("dashboard for 7/321") == "dashboard for layer 7 neuron 321"
    assert layer_slash_neuron("features 4/10 and 4/11") == "features layer 4 neuron 10 and neuron 11"
    assert layer_slash_neuron("is about 3/4 of the data positive") == "is about 3/4 of the data positive"


def test_neuronpedia_pairs_plan(planner):
    assert last_calls(planner, "top activating examples of 6/100 please") == [
        ("explain_neuron", {"layer": 6, "neuron": 100})]
    assert last_calls(planner, "5/7 and 5/8") == [("explain_neuron", {"layer": 5, "neuron": 7}),
                                                  ("explain_neuron", {"layer": 5, "neuron": 8})]
    plan = plan_turns(planner, "autointerp for 40/3")
    assert not plan.calls and "layer" in plan.message  # out of range, asked


@pytest.mark.parametrize("question, expected", [
    ("filter label positive and count", [("count", {"where": {"label": "positive"}})]),
    ("show data where domain is service", [("show", {"where": {"match": {"domain": "service"}}})]),
    ("filter prediction negative and label positive and show data",
     [("show", {"where": {"label": "positive", "prediction": "negative"}})]),
    ("list the rows labelled positive and predicted negative",
     [("show", {"where": {"label": "positive", "prediction": "negative"}})]),
    ("show data where the text includes 'delivery'", [("show", {"where": {"includes": "delivery"}})]),
    ("which tokens matter globally", [("global_importance", {})]),
    ("metrics table sliced by label", [("score", {"by": "label"})]),
])
def test_talktomodel_and_lit_wording(planner, question, expected):
    assert last_calls(planner, question) == expected


def test_captum_names_and_targets(planner):
    assert last_calls(planner, "LayerIntegratedGradients for review 5, target=negative") == [
        ("attribute", {"id": 5, "method": "integrated_gradients", "target": "negative"})]
    assert last_calls(planner, "InputXGradient on review 6") == [
        ("attribute", {"id": 6, "method": "gradient_x_input"})]
    plan = plan_turns(planner, "attribute review 30 with target=0")
    assert not plan.calls and "class 0" in plan.message
    assert [c.calls[0].args["target"] for c in plan.choices] == ["negative", "positive"]


def test_id_ranges():
    assert id_ranges("predict reviews 10-12") == "predict reviews 10, 11 and 12"
    assert id_ranges("#5-#7") == "show reviews 5, 6 and 7"
    assert id_ranges("probe layers 3-5") == "probe layers 3-5"
    assert id_ranges("accuracy on reviews with 5-9 words") == "accuracy on reviews with between 5 and 9 words"
    assert id_ranges("predict reviews 0-500") == "predict reviews 0-500"  # long ranges stay as typed


def test_rows_picked_by_position(planner):
    assert last_calls(planner, "the first three rows") == [("show", {"where": {"ids": [0, 1, 2]}})]
    turns = ("show reviews 20-23", "predict the first two of them")
    assert last_calls(planner, *turns) == [("predict", {"id": 20}), ("predict", {"id": 21})]
    assert last_calls(planner, *turns, "and explain the last of the four rows") == [("attribute", {"id": 23})]


@pytest.mark.parametrize("question, expected", [
    # e-mail small talk names no length
    ("Sorry for the short notice! How many film reviews are there?",
     [("count", {"where": {"match": {"domain": "film"}}})]),
    ("long story short: accuracy on service reviews please",
     [("score", {"metric": "accuracy", "where": {"match": {"domain": "service"}}})]),
    ("f1 for short reviews", [("score", {"metric": "f1", "where": {"max_words": 8}})]),  # a real selection stays
    ("thanks for explaining! now the label split", [("label_distribution", {})]),
    # polite orders and doubts about a gold label
    ("could you please correct the label of 77? it's really a positive one",
     [("edit_label", {"id": 77, "label": "positive"})]),
    ("not sure the gold label of review 31 is right, it seems off", [("edit_label", {"id": 31})]),
    # tool words from other workbenches
    ("project the residual stream of review 9 through W_U at each layer", [("logit_lens", {"id": 9})]),
    ("an adversarial attack on review 14 please", [("adversarial", {"id": 14})]),
    ("what can this tool do for me", [("capabilities", {})]),
    ("which words matter globally for predicting positive", [("global_importance", {"target": "positive"})]),
    ("mistakes, a sample of 3", [("mistakes", {"mode": "sample", "k": 3})]),
])
def test_other_v15_classes(planner, question, expected):
    assert last_calls(planner, question) == expected


@pytest.mark.parametrize("question", ["knock out neuron 12 in layer 5 and predict review 2",
                                      "fit a LoRA on the film rows"])
def test_ablations_and_adapters_are_declined(planner, question):
    plan = plan_turns(planner, question)
    assert not plan.calls and plan.message


def test_ablation_is_said_as_such(planner):
    assert "no ablation tool" in plan_turns(planner, "zero-ablate neuron 3 of layer 1").message


def test_follow_ups_of_v15(planner):
    assert last_calls(planner, "relabel 50 as positive", "51 as well, same label") == [
        ("edit_label", {"label": "positive", "id": 51})]
    assert last_calls(planner, "accuracy per domain", "now just the film reviews, no breakdown") == [
        ("score", {"metric": "accuracy", "where": {"match": {"domain": "film"}}})]
    assert last_calls(planner, "most important words overall", "switch to occlusion") == [
        ("global_importance", {"method": "occlusion"})]


def test_a_target_said_once_applies_to_each_method(planner):
    assert last_calls(planner, "occlusion and lime on review 20, both towards positive") == [
        ("attribute", {"id": 20, "target": "positive", "method": "occlusion"}),
        ("attribute", {"id": 20, "target": "positive", "method": "lime"})]


def test_names_swapped_across_rows_are_an_audit(planner):
    assert last_calls(planner, "does it care about gender? just swap Tom and Anna and see") == [
        ("bias_audit", {"groups": [["Tom", "Anna"]]})]
    assert last_calls(planner, "is it sensitive to names? swap 'Ali' and 'Eva' in all the reviews") == [
        ("bias_audit", {"groups": [["Ali", "Eva"]]})]


def test_swap_two_words_in_a_quoted_text(planner):
    assert last_calls(planner, "swap 'slow' and 'fast' in 'slow kitchen, fast waiters'") == [
        ("predict", {"text": "fast kitchen, slow waiters"})]
    plan = plan_turns(planner, "predict 'the soup was cold'", "replace 'hot' with 'warm' in 'the tea was cold'")
    assert not plan.calls and "does not contain 'hot'" in plan.message  # never the earlier text, silently


def test_the_row_someone_forwarded_is_no_k(planner):
    question = "my boss sent one review she can't read, 'meh, fine i guess'. which words drove it?"
    assert last_calls(planner, question) == [
        ("attribute", {"text": "meh, fine i guess"})]


def test_the_domain_concept_is_the_column(planner):
    assert last_calls(planner, "probe layers 3 to 5", "and for the domain column") == [
        ("probe", {"layers": [3, 4, 5], "concept": "domain"})]


def test_words_that_drive_the_model_there_aggregate_over_the_selection(planner):
    assert last_calls(planner, "how many service reviews are there", "which words drive it there, using lime") == [
        ("global_importance", {"where": {"match": {"domain": "service"}}, "method": "lime"})]
