"""v12 failure classes (issue 17), in wordings of my own: each was a silent wrong call or a
needless 'not understood' on the independent v12 sets' first measurement (84.3% / 88.3%)."""
from __future__ import annotations

import pytest

from agent.planner.spelling import shared_speller
from tests.planner_eval.harness import last_calls, make_planner


@pytest.fixture(scope="module")
def planner():
    return make_planner()


@pytest.mark.parametrize("questions, expected", [
    # a quoted phrase after "containing word", and a label after "and are"
    (("how many reviews are containing word 'refund' and are positive",),
     [("count", {"where": {"includes": "refund", "label": "positive"}})]),
    # "show 40 and 41" shows two rows; 40 is no count
    (("show 40 and 41",), [("show", {"where": {"ids": [40, 41]}})]),
    # which of the rows shown is the model surer about: a prediction for each
    (("show 40 and 41", "which of them is it more confident about"),
     [("predict", {"id": 40}), ("predict", {"id": 41})]),
    (("show 40 and 41", "why is 40 negative", "and 41", "which of the two is the model more sure about"),
     [("predict", {"id": 40}), ("predict", {"id": 41})]),
    # asking for the prediction in other words
    (("pls what is model saying about the review 70",), [("predict", {"id": 70})]),
    (("review 70 is a banger tbh, does the model agree",), [("predict", {"id": 70})]),
    # label corrections said as statements
    (("frankly 88 is a positive review, not a negative one",), [("edit_label", {"id": 88, "label": "positive"})]),
    (("row 89 is labelled wrong, it's negative",), [("edit_label", {"id": 89, "label": "negative"})]),
    (("change 12 to negative and 13 too",),
     [("edit_label", {"id": 12, "label": "negative"}), ("edit_label", {"id": 13, "label": "negative"})]),
    # two concepts set against each other
    (("why do people use f1 instead of accuracy",),
     [("explain_concept", {"topic": "f1"}), ("explain_concept", {"topic": "accuracy"})]),
    (("is occlusion just a cheap version of kernel shap?",),
     [("explain_concept", {"topic": "occlusion"}), ("explain_concept", {"topic": "kernel shap"})]),
    (("does precision matter more than recall for a fraud filter",),
     [("explain_concept", {"topic": "precision"}), ("explain_concept", {"topic": "recall"})]),
    # what a method costs, with a size that is no row id
    (("how many forward passes does lime burn for a 30 word review?",), [("explain_concept", {"topic": "lime"})]),
    (("can i trust a self-generated explanation of a model?",), [("explain_concept", {"topic": "rationale"})]),
    # a concept question mid-conversation that points back at what is shown
    (("top neurons for review 9 in layer 4", "what's a polysemantic neuron, is that what this is?"),
     [("explain_concept", {"topic": "polysemanticity and superposition"})]),
    # "wat", and a probe concept said as "which X a review is from"
    (("wat layers know what domain a review is from",), [("probe", {"concept": "domain"})]),
    # rewrites that keep the sentiment are augmentations; a flip that keeps the meaning is an attack
    (("write three rewrites of 'slow but friendly staff' with the same sentiment",),
     [("augment", {"text": "slow but friendly staff", "k": 3})]),
    (("flip review 15 with an edit that does not change the meaning",), [("adversarial", {"id": 15})]),
    (("review 15 is ironic, which words fooled the model",), [("attribute", {"id": 15})]),
    # the label balance of two domains
    (("how do the positives and negatives balance out for film compared with service",),
     [("label_distribution", {"where": {"match": {"domain": "film"}}}),
      ("label_distribution", {"where": {"match": {"domain": "service"}}})]),
    # a label two words before "reviews"; not a label before "across all reviews"
    (("report on the positive customer service reviews",),
     [("report", {"where": {"label": "positive", "match": {"domain": "service"}}})]),
    (("which words push the model towards positive across all reviews",),
     [("global_importance", {"target": "positive"})]),
    (("overall which words does the model rely on to call a review negative",),
     [("global_importance", {"target": "negative"})]),
    # a method whybox lacks; optimising weights is training
    (("explain review 3 with integrated hessians",), []),
    (("do some gradient steps on the product reviews to fix them",), []),
    # two asks, each with its own target
    (("what makes review 20 positive, and what would turn it negative?",),
     [("attribute", {"id": 20}), ("counterfactual", {"id": 20, "target": "negative"})]),
    # unquoted removal of a word the quoted text has; "putting X before Y" inserts
    (("classify 'i won't say it was bad' without the word won't",), [("predict", {"text": "i say it was bad"})]),
    (("does putting 'very' before 'cold' change what it says about 'the tea was cold'",),
     [("predict", {"text": "the tea was very cold"})]),
    # terse selections
    (("accuracy, restaurant",), [("score", {"metric": "accuracy", "where": {"match": {"domain": "restaurant"}}})]),
    # which layer it settles at = logit lens
    (("for review 33, at which layer does the model lock in its answer?",), [("logit_lens", {"id": 33})]),
    # the gap between two rows over the last layers
    (("which layers explain the gap between 5 and 6? just the last two",),
     [("patch", {"id": 5, "contrast_id": 6, "layers": [28, 29]})]),
    (("the five training reviews that mattered most for 'cold fries'",),
     [("influence", {"text": "cold fries", "k": 5})]),
    (("frequent words in positive vs negative reviews, 4 each",),
     [("keywords", {"where": {"label": "positive"}, "k": 4}), ("keywords", {"where": {"label": "negative"}, "k": 4})]),
    # follow-ups: across every layer drops the layer; the same layers as earlier; narrowing with "among"
    (("top neurons for review 7 in layer 3", "what does neuron 5 there do",
      "back to review 7, top 4 across every layer"),
     [("top_neurons", {"id": 7, "k": 4})]),
    (("probe for domain", "layers 2 to 4 only", "what is a control task", "now sentiment, same layers"),
     [("probe", {"layers": [2, 3, 4]})]),
    (("how many reviews are positive?", "and among the film ones?"),
     [("count", {"where": {"label": "positive", "match": {"domain": "film"}}})]),
    (("how many reviews are positive?", "and among the film ones?", "show me two"),
     [("show", {"where": {"label": "positive", "match": {"domain": "film"}}, "k": 2})]),
    (("keywords in the product reviews", "label split on that subset"),
     [("label_distribution", {"where": {"match": {"domain": "product"}}})]),
])
def test_v12_class(planner, questions, expected):
    assert last_calls(planner, *questions) == expected


def test_a_dropped_letter_beats_a_wrong_one():
    """'wich' was corrected to 'with' (v12), which made 'wich words push ...' a steer request."""
    speller = shared_speller()
    if speller is None:
        pytest.skip("no word list")
    assert speller.correct("wich") == "which"


def test_a_lone_domain_word_elsewhere_is_no_selection(planner):
    """'keywords, film' selects the film reviews; 'the service was slow' in a quoted text does not."""
    assert last_calls(planner, "predict 'the service was slow'") == [("predict", {"text": "the service was slow"})]
