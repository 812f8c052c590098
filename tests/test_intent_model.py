"""The planner's learned intent model: its numpy MiniLM against transformers, its weights against
the catalogue and against a retrain, and how the planner arbitrates between it and the rules."""
import numpy as np
import pytest

from agent.plan import ConversationState
from agent.planner import RulePlanner
from agent.planner.intent_encoder import MAX_TOKENS
from agent.planner.intent_model import WEIGHTS, IntentModel, encoder
from tests.planner_eval.harness import COXQL, LABELS
from tests.planner_eval.train_intent_model import fit, training_examples
from tools.registry import all_tools

TEXTS = ["why did it call review 12 negative?", "", "é漢字🙂 what?", "x" * 10_000 + " how many reviews?",
         "Show me 3 mistakes", "What does neuron 811 in layer 14 do?"]


def test_numpy_minilm_matches_transformers():
    from tools.embeddings import SentenceEncoder

    ours = encoder().encode(TEXTS)
    reference = SentenceEncoder(max_length=MAX_TOKENS).encode(TEXTS)
    assert ours.shape == reference.shape == (len(TEXTS), 384)
    assert np.abs(ours - reference).max() < 1e-4
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_weights_know_every_catalogue_tool_and_decline():
    classes = set(str(c) for c in np.load(WEIGHTS)["classes"])
    assert classes == set(all_tools()) | {"decline"}


@pytest.mark.skipif(not COXQL.exists(), reason="shared CoXQL data not beside the checkout")
def test_shipped_weights_are_what_the_sources_train():
    """Editing intent_examples.tsv or a development set without `python -m agent.planner.intent_model`
    leaves stale weights: this fails then."""
    pairs = training_examples()
    retrained = fit(pairs)
    shipped = np.load(WEIGHTS)
    assert list(retrained["classes"]) == list(shipped["classes"])
    x = encoder().encode([q for q, _ in pairs[:300]])
    ours = (x @ retrained["coef"].T + retrained["intercept"]).argmax(1)
    same = ours == (x @ shipped["coef"].T + shipped["intercept"]).argmax(1)
    assert same.mean() >= 0.99


def plan(question, state=None, model="shared"):
    result = RulePlanner(LABELS, intent_model=model).plan(question, state or ConversationState())
    return [(c.tool, c.args) for c in result.calls], result.message


def test_the_model_rescues_wordings_the_rules_miss():
    assert plan("What does data consist of?") == ([("describe_data", {})], None)
    calls, message = plan("What does data consist of?", model=None)
    assert calls == [] and "did not understand" in message  # the rules alone


def test_precise_rules_are_never_overridden():
    assert plan("what does neuron 5 in layer 2 do?")[0] == [("explain_neuron", {"layer": 2, "neuron": 5})]
    assert plan("relabel review 4 as negative")[0] == [("edit_label", {"id": 4, "label": "negative"})]


def test_a_concept_guess_never_replaces_an_instance_in_the_conversation():
    state = ConversationState()
    planner = RulePlanner(LABELS)
    state.remember(planner.plan("classify 'I would recommend this hotel'", state))
    follow = planner.plan("explain that with occlusion", state)
    expected = [("attribute", {"text": "I would recommend this hotel", "method": "occlusion"})]
    assert [(c.tool, c.args) for c in follow.calls] == expected
    calls, message = plan("Explain it")  # no instance in the conversation: ask for one, guess nothing
    assert calls == [] and message.startswith("Which review or text do you mean?") and "`attribute`" in message


def test_guesses_are_cached_and_batched():
    model = IntentModel()
    first = model.guess_many(["show me review 5", "how many reviews are there?"])
    assert [g.tool for g in first] == ["show", "count"]
    assert model.guess("show me review 7") is model.guess("show me review 5")  # numbers carry no intent
