"""v11 failure classes (issue 17), in wordings of my own: each was a silent wrong call or a
needless 'not understood' on the independent v11 sets' first measurement (79.7% / 78.7%)."""
from __future__ import annotations

import pytest

from tests.planner_eval.harness import last_calls, make_planner
from tests.planner_eval.harness import plan_turns as plans


@pytest.fixture(scope="module")
def planner():
    return make_planner()


@pytest.mark.parametrize("questions, expected", [
    # how a method works inside, mid-conversation: "it"/"its" there is the method, not the row
    (("why is review 40 positive", "hang on, how does occlusion choose what to delete"),
     [("explain_concept", {"topic": "occlusion"})]),
    (("steer review 3 towards positive at layer 9", "how does the steering tool get its direction"),
     [("explain_concept", {"topic": "steering"})]),
    (("give me 3 paraphrases of review 8", "what makes a paraphrase keep its label"),
     [("explain_concept", {"topic": "data augmentation"})]),
    (("eli5 precision",), [("explain_concept", {"topic": "precision"})]),
    # an explicit id after "predict for" beats the conversation's row
    (("show review 30", "show review 31", "ok what does it predict for 30 now"), [("predict", {"id": 30})]),
    # label corrections: "it's not X, it's Y", a careless labeller, an order over a list
    (("show me review 60", "that isn't negative, it's positive"), [("edit_label", {"id": 60, "label": "positive"})]),
    (("whoever labelled 61 was asleep, it's positive",), [("edit_label", {"id": 61, "label": "positive"})]),
    (("mark 14, 15 and 16 as positive",),
     [("edit_label", {"id": 14, "label": "positive"}), ("edit_label", {"id": 15, "label": "positive"}),
      ("edit_label", {"id": 16, "label": "positive"})]),
    # of two rows shown, "the other one" is the one the last turn was not about
    (("show reviews 20 and 21", "why is 21 negative", "same for the other one"), [("attribute", {"id": 20})]),
    # what-if edits quoted in the same message
    (("does the verdict flip if 'loved' becomes 'liked' in 'i loved the soup'?",),
     [("predict", {"text": "i liked the soup"})]),
    (("put 'really' in front of 'good' in 'the film was good' and classify it",),
     [("predict", {"text": "the film was really good"})]),
    (("why is 'the pizza was hot' positive, and what if 'hot' were 'cold'?",),
     [("attribute", {"text": "the pizza was hot"}), ("predict", {"text": "the pizza was cold"})]),
    # bias-audit follow-ups with quoted pairs, and several "X with Y" pairs
    (("audit the film reviews for gender bias", "just swap 'actor' and 'actress'"),
     [("bias_audit", {"where": {"match": {"domain": "film"}}, "groups": [["actor", "actress"]]})]),
    (("audit the film reviews for gender bias", "just swap 'actor' and 'actress'", "add 'king' vs 'queen' too"),
     [("bias_audit", {"where": {"match": {"domain": "film"}}, "groups": [["actor", "actress"], ["king", "queen"]]})]),
    (("bias audit swapping Omar with Tom and Leila with Anna",),
     [("bias_audit", {"groups": [["Omar", "Tom"], ["Leila", "Anna"]]})]),
    # counts: a dozen, "gimme N" at the end, one nearest, a count that belongs to one clause
    (("list a dozen product reviews",), [("show", {"where": {"match": {"domain": "product"}}, "k": 12})]),
    (("top neurons of layer 3 for review 9, gimme four",), [("top_neurons", {"id": 9, "layer": 3, "k": 4})]),
    (("closest review to 77",), [("similar", {"id": 77, "k": 1})]),
    (("why is review 10 negative and find 4 similar ones",),
     [("attribute", {"id": 10}), ("similar", {"id": 10, "k": 4})]),
    (("find reviews like 90",), [("similar", {"id": 90})]),
    (("how many film reviews does it get wrong", "show 2"),
     [("mistakes", {"mode": "sample", "k": 2, "where": {"match": {"domain": "film"}}})]),
    # "a report on those" after the mistakes: the misclassified rows of that selection (not for a metric)
    (("how many film reviews does it get wrong", "show 2", "write a report on those"),
     [("report", {"where": {"match": {"domain": "film"}, "correct": False}})]),
    (("how many film reviews does it get wrong", "show 2", "accuracy on those"),
     [("score", {"metric": "accuracy", "where": {"match": {"domain": "film"}}})]),
    # "show me a few" after a selection: a few of it (the learned model's "mistakes" does not win)
    (("label balance of the service reviews", "show me a few"),
     [("show", {"where": {"match": {"domain": "service"}}, "k": 3})]),
    # layer ranges and names
    (("probe layers 2 thru 4",), [("probe", {"layers": [2, 3, 4]})]),
    (("top neurons for review 5 in the second to last layer",), [("top_neurons", {"id": 5, "layer": 28})]),
    (("probe layers 20 to 35", "oh, 20 to 22"), [("probe", {"layers": [20, 21, 22]})]),
    (("probe layers 3 to 4 for domain", "back to sentiment on all layers"), [("probe", {})]),
    # wordings of tools: what it makes of, thinking about, what's pushing N, what in N made it decide
    (("what does the model make of 'cold tea, warm smile'",), [("predict", {"text": "cold tea, warm smile"})]),
    (("what is the model thinking about review 33",), [("predict", {"id": 33})]),
    (("what's pulling 64 towards negative",), [("attribute", {"id": 64, "target": "negative"})]),
    (("what in review 12 made the model decide like that",), [("attribute", {"id": 12})]),
    (("which words sway the model overall",), [("global_importance", {})]),
    (("what do customers keep bringing up in the product reviews",),
     [("keywords", {"where": {"match": {"domain": "product"}}})]),
    (("most frequnt words in the positive reviews",), [("keywords", {"where": {"label": "positive"}})]),
    (("how many service reviews did it mess up",), [("mistakes", {"mode": "count",
                                                                  "where": {"match": {"domain": "service"}}})]),
    (("a subtle tweak to 'what a lovely hotel' that flips it but keeps the meaning",),
     [("adversarial", {"text": "what a lovely hotel"})]),
    (("what reasons does the model give for 'too salty'",), [("rationalize", {"text": "too salty"})]),
    (("couple of product reviews that mention 'battery'",),
     [("show", {"where": {"includes": "battery", "match": {"domain": "product"}}, "k": 2})]),
    # ids after a tool noun: "logit lens on 14", "reports for 5 and 6"
    (("logit lens on 21 without the prompt",), [("logit_lens", {"id": 21, "framing": "raw"})]),
    (("reports for 8 and 9",), [("report", {"id": 8}), ("report", {"id": 9})]),
    # two selections compared by a tool with no `by`: one call each, in the order named
    (("common words in negative vs positive reviews",),
     [("keywords", {"where": {"label": "negative"}}), ("keywords", {"where": {"label": "positive"}})]),
    (("compare the label split of product reviews with service reviews",),
     [("label_distribution", {"where": {"match": {"domain": "product"}}}),
      ("label_distribution", {"where": {"match": {"domain": "service"}}})]),
    (("is it more accurate on the gold negatives or the gold positives",), [("score", {"metric": "accuracy",
                                                                                      "by": "label"})]),
    # a long message of background that ends in a request to check it on this model: a run
    (("I read that sentiment is linearly decodable in most LMs, and I wonder if that holds here. Could you "
      "check that on this model for me?",), [("probe", {})]),
    # concept questions: the card of the specific topic, the compared methods without the criterion
    (("how can you tell a model that explains its own answer isn't making it up",),
     [("explain_concept", {"topic": "rationale"})]),
    (("what does the confusion matrix show that accuracy hides",), [("explain_concept",
                                                                      {"topic": "confusion matrix"})]),
    (("why would a neuron fire for unrelated things, is that polysemanticity",),
     [("explain_concept", {"topic": "polysemanticity and superposition"})]),
    (("kernel shap or lime, which is usually more faithful?",),
     [("explain_concept", {"topic": "kernel shap"}), ("explain_concept", {"topic": "lime"})]),
    # the same tool without its selection drops it; "back to the review" after a neuron
    (("accuracy on the film reviews", "and on everything", "per domain please"), [("score", {"metric": "accuracy",
                                                                                           "by": "domain"})]),
    (("top neurons for review 9 in layer 4", "what does neuron 7 there do", "back to the review, top 2 in all layers"),
     [("top_neurons", {"id": 9, "k": 2})]),
    # "nvm" drops the clarifying question (it read "top 2" as neuron 2)
    (("top neurons for review 9", "what does neuron 7 in layer 4 do", "and neuron 5000 of that layer",
      "nvm, back to the review: top 2"), [("top_neurons", {"id": 9, "k": 2})]),
    # v10 leftovers: a layer range alone continues the last tool; "make it six"; two counts; concept then run
    (("patch review 4 against review 5", "layers 2 to 3 only"), [("patch", {"id": 4, "contrast_id": 5,
                                                                            "layers": [2, 3]})]),
    (("paraphrase review 6 three ways", "make it five"), [("augment", {"id": 6, "k": 5})]),
    (("how many product reviews are there and how many of those are positive",),
     [("count", {"where": {"match": {"domain": "product"}}}),
      ("count", {"where": {"match": {"domain": "product"}, "label": "positive"}})]),
    (("how many mistakes on film reviews", "what's a confusion matrix", "give me one for those"),
     [("mistakes", {"mode": "confusion", "where": {"match": {"domain": "film"}}})]),
    (("are the restaurant reviews balanced",),
     [("label_distribution", {"where": {"match": {"domain": "restaurant"}}})]),
    (("label split and top 3 words for the film reviews",),
     [("label_distribution", {"where": {"match": {"domain": "film"}}}),
      ("keywords", {"where": {"match": {"domain": "film"}}, "k": 3})]),
    (("what's the verdict on 'meh pizza'",), [("predict", {"text": "meh pizza"})]),
    (("does the verdict on 'slow but friendly staff' change if slow becomes quick?",),
     [("predict", {"text": "quick but friendly staff"})]),
    (("why does kernel shap need a baseline",), [("explain_concept", {"topic": "kernel shap"})]),
    (("what exactly goes into a report",), [("explain_concept", {"topic": "report"})]),
    (("lime vs occlusion, they sound similar to me",),
     [("explain_concept", {"topic": "lime"}), ("explain_concept", {"topic": "occlusion"})]),
    # v6/v8 leftovers, in my wordings
    (("is review 40 really positive?",), [("predict", {"id": 40})]),
    (("what's behind the score on review 3",), [("attribute", {"id": 3})]),
    (("which words are most common in the reviews it gets wrong",), [("keywords", {"where": {"correct": False}})]),
    (("pred 12",), [("predict", {"id": 12})]),
    (("which review is nearest to review 8?",), [("similar", {"id": 8, "k": 1})]),
    (("what does the f1 score trade off",), [("explain_concept", {"topic": "f1"})]),
    (('what makes an adversarial example "small"?',), [("explain_concept", {"topic": "adversarial examples"})]),
    (("why would anyone patch activations?",), [("explain_concept", {"topic": "activation patching"})]),
    (("what ends up in a report",), [("explain_concept", {"topic": "report"})]),
    (("conceptually, how does a bias audit work",), [("explain_concept", {"topic": "bias"})]),
    (("label balance plus the 4 most common words for film reviews",),
     [("label_distribution", {"where": {"match": {"domain": "film"}}}),
      ("keywords", {"where": {"match": {"domain": "film"}}, "k": 4})]),
    (("tell me about the model and about the data",), [("describe_model", {}), ("describe_data", {})]),
    (("explain review 30 and also the model's own explanation of it",),
     [("attribute", {"id": 30}), ("rationalize", {"id": 30})]),
    (("what language model is behind this",), [("describe_model", {})]),
    (("where does the data come from",), [("describe_data", {})]),
    (("any example questions?",), [("capabilities", {})]),
    (("gimme review forty",), [("show", {"id": 40})]),
    (("row 9 is labelled negative but it's clearly a positive one",),
     [("edit_label", {"id": 9, "label": "positive"})]),
    (("display the rows labelled positive but predicted negative",),
     [("show", {"where": {"label": "positive", "prediction": "negative"}})]),
    (("what would it take for review 7 to be clasified positive",),
     [("counterfactual", {"id": 7, "target": "positive"})]),
    (("smallest change that makes 'a dull film' positive",), [("counterfactual", {"text": "a dull film",
                                                                                   "target": "positive"})]),
    (("make me a few more like 'cheap and cheerful'",), [("augment", {"text": "cheap and cheerful", "k": 3})]),
    (("rows that look like number 44",), [("similar", {"id": 44})]),
    (("does the model represent sarcasm in its last two layers",),
     [("probe", {"concept": "sarcasm", "layers": [28, 29]})]),
    (("whats it predicting for reveiw sixty",), [("predict", {"id": 60})]),
    (("why is review 20 negative", "Waarom is dat?", "sorry, english: the same for 21 please"),
     [("attribute", {"id": 21})]),
    (("probe layers 1 to 2 for domain", "ok, negation in the last three layers"),
     [("probe", {"concept": "negation", "layers": [27, 28, 29]})]),
    (("precision per domain", "forget the domains: precision on the long ones"),
     [("score", {"metric": "precision", "where": {"min_words": 9}})]),
])
def test_v11_class(planner, questions, expected):
    assert last_calls(planner, *questions) == expected


def test_a_question_after_a_label_edit_edits_nothing(planner):
    """'is review 5 positive?' after 'mark 3 as negative' asked; it used to set review 5 to negative."""
    plan = plans(planner, "mark 3 as negative", "is review 5 positive?")
    assert all(call.tool != "edit_label" for call in plan.calls)


def test_an_attribution_method_whybox_lacks_is_asked_about(planner):
    """'with expected gradients' ran the default method without a word (v11)."""
    plan = plans(planner, "explain review 8 using expected gradients")
    assert not plan.calls and "no expected gradients method" in plan.message
    assert [c.calls[0].args.get("method") for c in plan.choices] == [  # every method the message names (session 17)
        "integrated_gradients", "occlusion", "gradient_x_input", "kernel_shap", "lime", "attention"]


def test_a_label_typo_selects_the_label(planner):
    """'whats the acuracy on the negtive ones' said the data has no 'negtive' rows (newcomer trial)."""
    assert last_calls(planner, "whats the acuracy on the negtive ones") == [
        ("score", {"metric": "accuracy", "where": {"label": "negative"}})]
