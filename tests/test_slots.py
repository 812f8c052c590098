"""Slot extraction (agent/planner/slots.py), function by function: ids, k, layers, neurons, metrics,
`where` filters, quoted texts. Pure functions over the question text; no model, no dataset."""
import pytest

from agent.planner.slots import (
    find_ids,
    find_k,
    find_layers,
    find_metric,
    find_metrics,
    find_neuron,
    find_singular_k,
    find_where,
    quoted_texts,
    strip_quotes,
)

LABELS = ["negative", "positive"]


# --- ids --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, ids", [
    ("explain review 12", [12]),
    ("what about #12?", [12]),
    ("review #7", [7]),
    ("review no. 8", [8]),
    ("item number 9", [9]),
    ("the example with id 4", [4]),
    ("ID 12", [12]),
    ("id = 12", [12]),
    ("ids of 12", [12]),
    ("data point 3", [3]),
    ("review 0", [0]),
])
def test_find_ids_reads_one_id(text, ids):
    assert find_ids(text) == ids


@pytest.mark.parametrize("text, ids", [
    ("show ids 3, 4 and 5", [3, 4, 5]),
    ("rows 3, 4 and 5", [3, 4, 5]),
    ("ids 3, 4 & 5", [3, 4, 5]),
    ("reviews 3,4,5", [3, 4, 5]),
    ("reviews 3 and 4", [3, 4]),
    ("instance 5 or 6", [5, 6]),
    ("review 12 and review 14", [12, 14]),
    ("review 1 and 2 and 3", [1, 2, 3]),
])
def test_find_ids_reads_lists_of_ids(text, ids):
    assert find_ids(text) == ids


@pytest.mark.parametrize("text, ids", [
    ("For 3315, why is it negative?", [3315]),
    ("predict 320", [320]),
    ("320: what does it say?", [320]),
    ("why is it negative for 42", [42]),
])
def test_find_ids_reads_a_bare_number_where_an_instance_is_expected(text, ids):
    assert find_ids(text) == ids


@pytest.mark.parametrize("text", [
    "top 3 words",
    "layer 5",
    "layer 5 neurons",
    "neuron 301 in layer 5",
    "show 5 words",
    "show 5 reviews",
    "explain 3 features",
    "12 words",
    "the 3 most important words",
    "show me the reviews longer than 10 words",
    "review 12%",
])
def test_find_ids_ignores_numbers_that_are_not_ids(text):
    assert find_ids(text) == []


def test_find_ids_ignores_counts_next_to_an_id():
    assert find_ids("top 3 words for review 7") == [7]
    assert find_ids("explain review 12 in 3 words") == [12]
    assert find_ids("review 12 has 30 words") == [12]


@pytest.mark.parametrize("text", ["id: 12", "id=12"])
def test_find_ids_reads_id_colon_and_id_equals_without_a_space(text):
    assert find_ids(text) == [12]


# --- k ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, k", [
    ("top 5 words", 5),
    ("top 5", 5),
    ("the top-3 features", 3),
    ("top5 tokens", 5),
    ("show me 5 words", 5),
    ("list 4 examples", 4),
    ("give me 3 augmented versions", 3),
    ("10 most similar", 10),
    ("k=7", 7),
    ("k = 7", 7),
    ("top 3 neurons in layer 5", 3),
])
def test_find_k_reads_digits(text, k):
    assert find_k(text) == k


@pytest.mark.parametrize("text, k", [
    ("show me a few mistakes", 3),
    ("a few words", 3),
    ("a couple of examples", 2),
    ("two similar reviews", 2),
    ("three most important words", 3),
    ("top three words", 3),
    ("ten reviews", 10),
    ("one review", 1),
])
def test_find_k_reads_number_words(text, k):
    assert find_k(text) == k


@pytest.mark.parametrize("text", [
    "reviews longer than 10 words",
    "reviews between 5 and 10 words",
    "5 or more words",
    "show reviews with at most 6 words",
    "what does review 12 say",
    "explain review 3",
    "a few",
    "layer 5",
    "top neurons in layer 5",
])
def test_find_k_is_none_for_length_filters_ids_and_layers(text):
    assert find_k(text) is None


def test_find_k_reads_k_beside_a_length_filter():
    assert find_k("3 reviews longer than 10 words") == 3
    assert find_k("show 4 reviews with at least 5 words") == 4


def test_find_k_does_not_read_a_layer_number_as_k():
    assert find_k("layer 5 top neurons") is None


def test_find_singular_k():
    assert find_singular_k("the most important feature") == 1
    assert find_singular_k("find an example similar to review 3") == 1
    assert find_singular_k("which word is the most important") == 1
    assert find_singular_k("the most important features") is None
    assert find_singular_k("top 5 words") is None


# --- layers and neurons -----------------------------------------------------------------------
@pytest.mark.parametrize("text, layers", [
    ("layer 2", [2]),
    ("Layer 7", [7]),
    ("in layer 0", [0]),
    ("layers 3 to 6", [3, 4, 5, 6]),
    ("layer 4 through 7", [4, 5, 6, 7]),
    ("layers 2–4", [2, 3, 4]),
    ("layers 6-3", [3, 4, 5, 6]),
    ("layers 1, 3 and 5", [1, 3, 5]),
    ("layers 3 & 9", [3, 9]),
    ("no layer here", []),
    ("player 5", []),
])
def test_find_layers(text, layers):
    assert find_layers(text) == layers


@pytest.mark.parametrize("text, neuron", [
    ("neuron 301", 301),
    ("unit #12", 12),
    ("Neuron #7 in layer 3", 7),
    ("neurons 3", None),
    ("the 5 neurons", None),
    ("neuron", None),
])
def test_find_neuron(text, neuron):
    assert find_neuron(text) == neuron


# --- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, metric", [
    ("what's the accuracy?", "accuracy"),
    ("how often is it right", "accuracy"),
    ("how good is it", None),  # no metric named: the tool default applies (tools.md)
    ("roc auc please", "roc_auc"),
    ("the AUC", "roc_auc"),
    ("area under the curve", "roc_auc"),
    ("f1 score", "f1"),
    ("F-score", "f1"),
    ("sensitivity", "recall"),
    ("the recall", "recall"),
    ("precision and recall", "precision"),
    ("nothing here", None),
    ("precise", None),
])
def test_find_metric(text, metric):
    assert find_metric(text) == metric


@pytest.mark.parametrize("text, metrics", [
    ("the recall and the f1", ["recall", "f1"]),
    ("accuracy, precision and f1", ["accuracy", "precision", "f1"]),
    ("f1, roc auc, accuracy", ["f1", "roc_auc", "accuracy"]),
    ("how often is it right", []),  # a metric in other words, not named outright
    ("nothing here", []),
])
def test_find_metrics_in_the_order_named(text, metrics):
    assert find_metrics(text) == metrics


def test_find_metric_picks_by_priority_not_position():
    assert find_metric("the recall and the f1") == "f1"


# --- where ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, where", [
    ("reviews labelled negative", {"label": "negative"}),
    ("rows with the gold label positive", {"label": "positive"}),
    ("reviews that are truly negative", {"label": "negative"}),
    ("negative reviews", {"label": "negative"}),
    ("items which are positive", {"label": "positive"}),
    ("positive ones", {"label": "positive"}),
    ("reviews predicted positive", {"prediction": "positive"}),
    ("reviews the model classified as negative", {"prediction": "negative"}),
    ("reviews where the prediction is negative", {"prediction": "negative"}),
    ("reviews predicted as negative and labelled positive", {"label": "positive", "prediction": "negative"}),
])
def test_find_where_labels_and_predictions(text, where):
    assert find_where(text, LABELS) == where


@pytest.mark.parametrize("text, where", [
    ("reviews mentioning battery", {"includes": "battery"}),
    ("rows including battery life", {"includes": "battery life"}),
    ("reviews that contain the word price and are short", {"includes": "price"}),
    ("reviews containing great food that are negative", {"includes": "great food", "label": "negative"}),
    ("reviews containing didn't", {"includes": "didn't"}),
])
def test_find_where_includes(text, where):
    assert find_where(text, LABELS) == where


def test_find_where_includes_a_quoted_text_through_its_placeholder():
    question = strip_quotes('reviews that mention "cold soup"')
    assert find_where(question, LABELS, quoted_texts('reviews that mention "cold soup"')) == {"includes": "cold soup"}
    assert find_where("reviews that mention QUOTED", LABELS, []) == {}


@pytest.mark.parametrize("text, where", [
    ("reviews longer than 10 words", {"min_words": 11}),
    ("reviews over 20 words", {"min_words": 21}),
    ("reviews with at least 5 words", {"min_words": 5}),
    ("reviews with 5 or more words", {"min_words": 5}),
    ("reviews shorter than 8 words", {"max_words": 7}),
    ("reviews with fewer than 4 words", {"max_words": 3}),
    ("reviews with at most 6 words", {"max_words": 6}),
    ("reviews up to 12 words", {"max_words": 12}),
    ("reviews between 5 and 10 words", {"min_words": 5, "max_words": 10}),
])
def test_find_where_word_counts(text, where):
    assert find_where(text, LABELS) == where


@pytest.mark.parametrize("text, correct", [
    ("correctly classified reviews", True),
    ("reviews that the model gets right", True),
    ("misclassified reviews", False),
    ("reviews the model gets wrong", False),
    ("reviews it got wrong", False),
])
def test_find_where_correct_and_incorrect(text, correct):
    assert find_where(text, LABELS) == {"correct": correct}


def test_find_where_combines_filters_and_finds_none_in_plain_text():
    assert find_where("negative reviews longer than 10 words that the model gets wrong", LABELS) == {
        "label": "negative", "min_words": 11, "correct": False}
    assert find_where("no filter at all", LABELS) == {}
    assert find_where("reviews labelled negative", []) == {}


# --- quoted texts -----------------------------------------------------------------------------
@pytest.mark.parametrize("question, texts, stripped", [
    ('what about "the soup was cold"?', ["the soup was cold"], "what about  QUOTED ?"),
    ("predict 'the food was great'", ["the food was great"], "predict  QUOTED "),
    ("what does it say for “great value”", ["great value"], "what does it say for  QUOTED "),
    ("and ‘so so’?", ["so so"], "and  QUOTED ?"),
    ('two: "a" and "b"', ["a", "b"], "two:  QUOTED  and  QUOTED "),
    ('predict "I didn\'t like the food"', ["I didn't like the food"], "predict  QUOTED "),
])
def test_quoted_texts_and_strip_quotes(question, texts, stripped):
    assert quoted_texts(question) == texts
    assert strip_quotes(question) == stripped


@pytest.mark.parametrize("question, texts, stripped", [
    ("don't show 'good' or 'bad'", ["good", "bad"], "don't show  QUOTED  or  QUOTED "),
    ("it's 'fine', isn't it", ["fine"], "it's  QUOTED , isn't it"),
    ("rock'n'roll 'x'", ["x"], "rock'n'roll  QUOTED "),
])
def test_apostrophes_inside_words_outside_quotes_are_not_quotes(question, texts, stripped):
    assert quoted_texts(question) == texts
    assert strip_quotes(question) == stripped


@pytest.mark.parametrize("question, text", [
    ("predict 'I didn't like the food'", "I didn't like the food"),
    ("predict 'the movie wasn't good'", "the movie wasn't good"),
])
def test_single_quoted_text_with_an_apostrophe_inside_a_word(question, text):
    assert quoted_texts(question) == [text]
    assert strip_quotes(question) == "predict  QUOTED "
