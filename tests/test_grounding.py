"""The grounding check (agent/grounding.py): an LLM narration passes only when every number and
quoted token it mentions is in the tool results or the question."""
import pytest

from agent.grounding import check

# The shape agent/assistant.py hands to `check`: one entry per step.
SCORE = [{"tool": "score", "args": {}, "error": None,
          "output": {"metric": "accuracy", "accuracy": 0.716, "n": 250,
                     "per_label": {"negative": 120, "positive": 130}}}]
ATTRIBUTE = [{"tool": "attribute", "args": {"id": 12, "method": "occlusion"}, "error": None,
              "output": {"text": "the soup was cold", "label": "negative",
                         "tokens": [{"token": "cold", "score": 0.61}, {"token": "soup", "score": -0.12}]}}]


@pytest.mark.parametrize("narration", [
    "The accuracy is 71.6% on 250 rows.",
    "The accuracy is 0.716 (n=250).",
    "The accuracy is 0.72.",  # rounded at the precision written
    "Accuracy 72% over 250 rows.",
    "accuracy 71.60%",
    "negative 120, positive 130",
    "The model gets most rows right.",  # nothing to check
])
def test_numbers_from_the_results_pass(narration):
    grounding = check(narration, SCORE)
    assert grounding.ok, grounding
    assert grounding.unsupported_numbers == [] and grounding.unsupported_quotes == []
    assert grounding.describe() == ""


@pytest.mark.parametrize("narration, bad", [
    ("The accuracy is 85%.", ["85%"]),
    ("There are 300 rows.", ["300"]),
    ("There are 1,250 rows.", ["1,250"]),
    ("In 2024 the accuracy was 71.6%.", ["2024"]),
    ("The accuracy is 0.73.", ["0.73"]),
])
def test_an_invented_number_fails(narration, bad):
    grounding = check(narration, SCORE)
    assert not grounding.ok
    assert grounding.unsupported_numbers == bad and grounding.unsupported_quotes == []


@pytest.mark.parametrize("narration", [
    "The word 'cold' pushes review 12 towards negative (0.61).",
    "“soup” lowers it by -0.12.",
    '"Cold" weighs 0.61 with occlusion.',  # quotes are compared without case
    "The review 'the soup was cold' is negative.",
    "It's negative, isn't it.",  # apostrophes in words are not quotes
])
def test_tokens_and_numbers_from_the_results_pass(narration):
    grounding = check(narration, ATTRIBUTE)
    assert grounding.ok, grounding


@pytest.mark.parametrize("narration, numbers, quotes", [
    ("The word 'hot' matters most.", [], ["hot"]),
    ('The text "the soup was warm" is negative.', [], ["the soup was warm"]),
    ("'cold' weighs 0.62.", ["0.62"], []),
    ("'soup' raises it by 0.12.", ["0.12"], []),  # the sign counts
    ("'warm' weighs 0.9.", ["0.9"], ["warm"]),
])
def test_an_invented_token_or_number_fails(narration, numbers, quotes):
    grounding = check(narration, ATTRIBUTE)
    assert not grounding.ok
    assert grounding.unsupported_numbers == numbers and grounding.unsupported_quotes == quotes


def test_describe_names_what_is_unsupported():
    assert check("'warm' weighs 0.9.", ATTRIBUTE).describe() == "number 0.9, quote 'warm'"


def test_the_question_counts_as_a_source():
    results = [{"tool": "predict", "output": {"label": "negative"}}]
    assert not check("Review 12 is negative.", results).ok
    assert check("Review 12 is negative.", results, question="why is review 12 negative?").ok
    assert check("It says 'the soup was cold'.", results, question="predict 'The soup was cold'").ok


def test_booleans_are_not_numbers():
    grounding = check("1 row is flagged.", [{"flag": True}])
    assert not grounding.ok and grounding.unsupported_numbers == ["1"]


def test_numbers_inside_words_are_not_checked():
    assert check("The f1 of layer-3 is 0.8.", [{"f1": 0.8, "layer": 3}]).ok
    assert check("The f1 is 0.8.", [{"f1": 0.8}]).ok
    assert not check("The f1 is 0.8.", [{"f1": 0.9}]).ok


def test_an_invented_token_with_an_apostrophe_fails():
    assert not check("The word 'won't' matters most.", ATTRIBUTE).ok
