import pytest
from sklearn import metrics as skm

from tools.errors import InputError

LABELS = ["negative", "positive"]


def _gold_pred_probs(assistant, ids=None):
    table = assistant.context.predictions()
    rows = [r for r in assistant.context.dataset if ids is None or r.id in ids]
    index = {i: n for n, i in enumerate(table.ids)}
    probs = table.probs[[index[r.id] for r in rows]]
    return [r.label for r in rows], [table.labels[i] for i in probs.argmax(1)], probs


@pytest.mark.parametrize("metric", ["accuracy", "f1", "precision", "recall", "roc_auc"])
def test_score_agrees_with_scikit_learn(tiny_assistant, metric):
    out = tiny_assistant.run_tool("score", {"metric": metric}).output
    gold, pred, probs = _gold_pred_probs(tiny_assistant)
    expected = {
        "accuracy": lambda: skm.accuracy_score(gold, pred),
        "f1": lambda: skm.f1_score(gold, pred, average="macro", labels=LABELS, zero_division=0),
        "precision": lambda: skm.precision_score(gold, pred, average="macro", labels=LABELS, zero_division=0),
        "recall": lambda: skm.recall_score(gold, pred, average="macro", labels=LABELS, zero_division=0),
        "roc_auc": lambda: skm.roc_auc_score([g == "positive" for g in gold], probs[:, 1]),
    }[metric]()
    assert out["value"] == pytest.approx(expected, abs=1e-4)
    assert out["rows"] == 10


def test_score_on_a_selection_and_single_class_auc(tiny_assistant):
    out = tiny_assistant.run_tool("score", {"where": {"includes": "good"}}).output
    good_ids = {r.id for r in tiny_assistant.context.dataset if "good" in r.text.split()}
    gold, pred, _ = _gold_pred_probs(tiny_assistant, good_ids)
    assert out["rows"] == len(good_ids) == 4
    assert out["correct"] == sum(g == p for g, p in zip(gold, pred))
    with pytest.raises(InputError, match="at least two gold labels"):
        tiny_assistant.run_tool("score", {"metric": "roc_auc", "where": {"label": "positive"}})


def test_mistakes_count_and_sample(tiny_assistant):
    gold, pred, probs = _gold_pred_probs(tiny_assistant)
    wrong = sum(g != p for g, p in zip(gold, pred))
    count = tiny_assistant.run_tool("mistakes", {"mode": "count"}).output
    assert count["mistakes"] == wrong and count["examples"] is None
    sample = tiny_assistant.run_tool("mistakes", {"mode": "sample", "k": 2}).output
    assert len(sample["examples"]) == min(2, wrong)
    confidences = [e["confidence"] for e in sample["examples"]]
    assert confidences == sorted(confidences, reverse=True)
    assert all(e["prediction"] != e["label"] for e in sample["examples"])


def test_edit_label_changes_scores_for_this_conversation_only(tiny_assistant, tiny_models, tiny_data):
    from agent import Assistant

    before = tiny_assistant.run_tool("label_distribution", {}).output
    row = tiny_assistant.run_tool("show", {"id": 100}).output["rows"][0]
    new = "negative" if row["label"] == "positive" else "positive"
    edit = tiny_assistant.run_tool("edit_label", {"id": 100, "label": new.upper()}).output
    assert edit["new_label"] == new and edit["old_label"] == row["label"]
    after = tiny_assistant.run_tool("label_distribution", {}).output
    counts = lambda o: {d["label"]: d["count"] for d in o["labels"]}  # noqa: E731
    assert counts(after)[new] == counts(before)[new] + 1
    other = Assistant(workspace=tiny_assistant.workspace)
    assert counts(other.run_tool("label_distribution", {}).output) == counts(before)
    with pytest.raises(InputError, match="Unknown label 'neutral'"):
        tiny_assistant.run_tool("edit_label", {"id": 100, "label": "neutral"})


def test_keywords_count_content_words(tiny_assistant):
    out = tiny_assistant.run_tool("keywords", {"k": 3}).output
    assert out["keywords"][0] == {"word": "good", "count": 5}
    words = [k["word"] for k in out["keywords"]]
    assert "the" not in words and "was" not in words


def test_count_show_and_describe(tiny_assistant):
    assert tiny_assistant.run_tool("count", {}).output["count"] == 10
    assert tiny_assistant.run_tool("count", {"where": {"max_words": 2}}).output["count"] == 2
    shown = tiny_assistant.run_tool("show", {"where": {"label": "negative"}, "k": 2}).output
    assert shown["total"] == 5 and len(shown["rows"]) == 2
    data = tiny_assistant.run_tool("describe_data", {}).output
    assert data["rows"] == 10 and data["labels"] == {"negative": 5, "positive": 5}
    model = tiny_assistant.run_tool("describe_model", {}).output
    assert model["layers"] == 2 and model["hidden_size"] == 32 and model["task"] == "label_words"


def test_predict_text_and_id(tiny_assistant):
    out = tiny_assistant.run_tool("predict", {"text": "the food was good"}).output
    assert set(out["probabilities"]) == {"negative", "positive"}
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert out["label"] == max(out["probabilities"], key=out["probabilities"].get)
    by_id = tiny_assistant.run_tool("predict", {"id": 100}).output
    assert by_id["gold_label"] == "positive" and by_id["text"] == "the food was good"
    assert by_id["probabilities"] == out["probabilities"]
    with pytest.raises(InputError, match="text is empty"):
        tiny_assistant.run_tool("predict", {"text": "   "})
    with pytest.raises(InputError, match="no row with id 5"):
        tiny_assistant.run_tool("predict", {"id": 5})
    with pytest.raises(InputError, match="tokens long"):
        tiny_assistant.run_tool("predict", {"text": "good " * 200})
