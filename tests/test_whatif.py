"""What-if edits in words (agent/planner/whatif.py): reading the edits from a question and
applying them to a text, with the phrases that are not in the text reported."""
import pytest

from agent.planner.whatif import Edit, apply_edits, find_edits

TEXT = "The soup was not good, and cold."


# --- find_edits -------------------------------------------------------------------------------
@pytest.mark.parametrize("question, edits", [
    ("replace 'cold' with 'hot'", [Edit("replace", "cold", "hot")]),
    ("change 'bad' to 'good'", [Edit("replace", "bad", "good")]),
    ("substitute 'a' by 'the'", [Edit("replace", "a", "the")]),
    ("what if we swap “cold” for “warm”?", [Edit("replace", "cold", "warm")]),
    ("use 'hot' instead of 'cold'", [Edit("replace", "cold", "hot")]),
])
def test_find_edits_replace(question, edits):
    assert find_edits(question) == edits


@pytest.mark.parametrize("question, edits", [
    ("without 'not'", [Edit("remove", "not")]),
    ("and without the word 'very'", [Edit("remove", "very")]),
    ("drop the words 'so so'", [Edit("remove", "so so")]),
    ("take out 'the'", [Edit("remove", "the")]),
    ("omit 'really'", [Edit("remove", "really")]),
])
def test_find_edits_remove(question, edits):
    assert find_edits(question) == edits


@pytest.mark.parametrize("question, edits", [
    ("add 'very' before 'good'", [Edit("insert", "good", "very", "before")]),
    ("insert 'really' after 'was'", [Edit("insert", "was", "really", "after")]),
    ("Add 'VERY' BEFORE 'good'", [Edit("insert", "good", "VERY", "before")]),
])
def test_find_edits_insert(question, edits):
    assert find_edits(question) == edits


def test_find_edits_reads_several_edits_replacements_first():
    assert find_edits("remove 'not' and replace 'bad' with 'good'") == [
        Edit("replace", "bad", "good"), Edit("remove", "not")]


@pytest.mark.parametrize("question", ["what about review 3", "replace cold with hot", "add more examples"])
def test_find_edits_needs_quoted_phrases(question):
    assert find_edits(question) == []


def test_find_edits_with_an_apostrophe_inside_the_phrase():
    assert find_edits("replace 'didn't' with 'did'") == [Edit("replace", "didn't", "did")]


# --- apply_edits ------------------------------------------------------------------------------
@pytest.mark.parametrize("question, edited", [
    ("replace 'cold' with 'hot'", "The soup was not good, and hot."),
    ("replace 'Cold' with 'hot'", "The soup was not good, and hot."),  # matching ignores case
    ("replace 'the soup' with 'it'", "it was not good, and cold."),
    ("without 'not'", "The soup was good, and cold."),
    ("without 'cold'", "The soup was not good, and."),  # no space is left before the full stop
    ("without ','", "The soup was not good and cold."),
    ("add 'very' before 'good'", "The soup was not very good, and cold."),
    ("insert 'really' after 'was'", "The soup was really not good, and cold."),
    ("remove 'not' and replace 'cold' with 'warm'", "The soup was good, and warm."),
])
def test_apply_edits(question, edited):
    assert apply_edits(TEXT, find_edits(question)) == (edited, [])


def test_apply_edits_reports_the_missing_words_and_leaves_the_text():
    assert apply_edits(TEXT, find_edits("replace 'warm' with 'hot'")) == (TEXT, ["warm"])
    assert apply_edits(TEXT, find_edits("without 'warm' and without 'hot'")) == (TEXT, ["warm", "hot"])
    # whole words only: 'so' is not in "soup"
    assert apply_edits(TEXT, find_edits("replace 'so' with 'too'")) == (TEXT, ["so"])


def test_apply_edits_changes_the_first_occurrence_only():
    assert apply_edits("a good good day", [Edit("replace", "good", "bad")]) == ("a bad good day", [])
    assert apply_edits("cold cold", [Edit("replace", "cold", "hot"), Edit("replace", "cold", "warm")]) == (
        "hot warm", [])


def test_apply_edits_takes_phrases_literally():
    assert apply_edits("a $5 meal", [Edit("replace", "$5", "$10")]) == ("a $10 meal", [])
    assert apply_edits("it was good", [Edit("replace", "good", r"\1 great")]) == (r"it was \1 great", [])


def test_apply_edits_can_leave_no_text():
    assert apply_edits("good", [Edit("remove", "good")]) == ("", [])
