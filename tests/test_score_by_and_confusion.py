"""score.by (one figure per value of a column, with intervals) and mistakes mode=confusion."""
from __future__ import annotations

import json

import pytest
from sklearn import metrics as skm

from tools.errors import InputError

ROWS = [  # (text, label, domain): words the tiny tokenizer knows
    ("the food was good", "positive", "food"), ("terrible food", "negative", "food"),
    ("good service and good price", "positive", "shop"), ("bad service", "negative", "shop"),
    ("the movie was great", "positive", "film"), ("a great movie", "positive", "film"),
    ("the battery was bad", "negative", "shop"), ("the price was not good", "negative", "shop"),
    ("it was very good", "positive", "food"), ("it was very bad", "negative", "film"),
]


@pytest.fixture
def domain_assistant(tiny_models, tmp_path, isolated_home):
    from agent import Assistant
    from tools.settings import Settings

    path = tmp_path / "domains.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t, "label": label, "domain": d}) + "\n"
                            for i, (t, label, d) in enumerate(ROWS)))
    return Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(path)), quiet=True)


def _predicted(assistant) -> dict[int, str]:
    return assistant.context.predictions().predicted


def test_score_by_domain_agrees_with_scikit_learn_per_group(domain_assistant):
    result = domain_assistant.run_tool("score", {"metric": "accuracy", "by": "domain"})
    out, predicted = result.output, _predicted(domain_assistant)
    assert out["by"] == "domain" and {g["value"] for g in out["groups"]} == {"food", "shop", "film"}
    for group in out["groups"]:
        rows = [(i, label) for i, (_, label, d) in enumerate(ROWS) if d == group["value"]]
        expected = skm.accuracy_score([label for _, label in rows], [predicted[i] for i, _ in rows])
        assert group["score"] == pytest.approx(expected, abs=1e-4)
        assert group["rows"] == len(rows) and group["correct"] == round(expected * len(rows))
        low, high = group["ci95"]
        assert 0.0 <= low <= group["score"] <= high <= 1.0
    scores = [g["score"] for g in out["groups"]]
    assert scores == sorted(scores, reverse=True)  # best first
    again = domain_assistant.run_tool("score", {"metric": "accuracy", "by": "domain"}).output
    assert again["groups"] == out["groups"]  # a seeded bootstrap: the same answer twice


def test_score_by_narrates_groups_and_draws_a_figure(domain_assistant, tmp_path):
    from agent.figures import figure_for_step
    from agent.narrator import narrate_step
    from agent.records import done_step

    result = domain_assistant.run_tool("score", {"by": "domain"})
    step = done_step("score", {"by": "domain"}, result, 0.1)
    text = narrate_step(step)
    assert "By domain: " in text
    assert ("intervals overlap" in text) or ("intervals do not overlap" in text)
    path = figure_for_step(step, tmp_path)
    assert path is not None and path.name.startswith("score-by-") and path.stat().st_size > 5000
    plain = done_step("score", {}, domain_assistant.run_tool("score", {}), 0.1)
    assert figure_for_step(plain, tmp_path) is None  # no groups, no figure


def test_score_by_refuses_unknown_and_free_text_columns(domain_assistant):
    with pytest.raises(InputError, match="no column 'domian'"):
        domain_assistant.run_tool("score", {"by": "domian"})
    with pytest.raises(InputError, match="no column 'text'"):  # text is not a grouping column
        domain_assistant.run_tool("score", {"by": "text"})


def test_mistakes_confusion_counts_gold_by_predicted(domain_assistant):
    out = domain_assistant.run_tool("mistakes", {"mode": "confusion"}).output
    predicted = _predicted(domain_assistant)
    labels = out["labels"]
    for i, gold in enumerate(labels):
        for j, guess in enumerate(labels):
            expected = sum(1 for n, (_, label, _) in enumerate(ROWS) if label == gold and predicted[n] == guess)
            assert out["confusion"][i][j] == expected
    off = [(c["gold"], c["predicted"], c["count"]) for c in out["confusions"]]
    assert sum(n for _, _, n in off) == out["mistakes"]
    assert [n for _, _, n in off] == sorted((n for _, _, n in off), reverse=True)
    assert all(g != p for g, p, _ in off)


def test_score_by_label_groups_the_gold_labels(domain_assistant):
    out, predicted = domain_assistant.run_tool("score", {"metric": "accuracy", "by": "label"}).output, None
    predicted = _predicted(domain_assistant)
    assert {g["value"] for g in out["groups"]} == {"positive", "negative"}
    for group in out["groups"]:
        rows = [i for i, (_, label, _) in enumerate(ROWS) if label == group["value"]]
        expected = sum(predicted[i] == group["value"] for i in rows) / len(rows)  # the recall of that label
        assert group["score"] == pytest.approx(expected, abs=1e-4) and group["rows"] == len(rows)
