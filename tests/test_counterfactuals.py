"""Counterfactual search: minimal verified flips on a scorer with a known answer, edits that
compose, MiCE minimality and diversity, and the tool on a tiny model (every returned flip is
re-verified by predict), with clear errors for bad targets."""
import numpy as np
import pytest

from tools.counterfactuals.edits import Edit, apply, diversity, lexical_edits, minimality, word_edit_distance
from tools.counterfactuals.search import search
from tools.errors import InputError
from tools.registry import run_tool


def _keyword_model(texts):
    """positive iff 'good' or 'great' appears and no negator does: a classifier with a known answer."""
    out = []
    for t in texts:
        words = t.lower().split()
        positive = any(w.strip(".,!") in {"good", "great"} for w in words) and not any(w in {"not", "never"} for w in words)
        out.append([0.2, 0.8] if positive else [0.7, 0.3])
    return np.array(out)


def test_search_finds_the_minimal_verified_flips():
    words = "the food was good and the staff great".split()
    result = search(words, _keyword_model, is_flip=lambda p: p.argmax() == 0, goal=lambda p: p[0], k=3)
    assert result.flips, "a flip exists"
    best = result.flips[0]
    assert _keyword_model([best.text])[0].argmax() == 0  # verified
    assert len(best.edits) == 1 and best.edits[0].kind == "negation"  # 'was' -> 'was not' flips with one edit
    assert all(minimality(words, f.words) >= minimality(words, best.words) for f in result.flips)
    # without negation edits, both 'good' and 'great' must go: the search composes two edits
    two = search("good and great".split(), _keyword_model, is_flip=lambda p: p.argmax() == 0, goal=lambda p: p[0], k=1)
    assert min(len(f.edits) for f in two.flips) == 2 and two.rounds >= 2


def test_edits_compose_and_measures_are_exact():
    words = "It was not good .".split()
    kinds = {e.kind for e in lexical_edits(words)}
    assert {"delete", "antonym", "negation"} <= kinds
    edits = [Edit(2, (), "negation", "remove 'not'"), Edit(3, ("bad",), "antonym", "'good' → 'bad'")]
    assert apply(words, edits) == ["It", "was", "bad", "."]
    assert word_edit_distance(words, ["It", "was", "bad", "."]) == 2
    assert minimality(words, ["It", "was", "bad", "."]) == pytest.approx(2 / 5)
    assert diversity([["a", "b"], ["a", "c"], ["a", "b"]]) == pytest.approx((0.5 + 0 + 0.5) / 3)
    assert diversity([["a"]]) is None
    assert any(e.description == "'Good' → 'Bad'" or e.replacement == ("Bad!",) for e in lexical_edits(["Good!"]))


def test_counterfactual_tool_returns_only_verified_flips(tiny_assistant):
    ctx = tiny_assistant.context
    result = run_tool(ctx, "counterfactual", {"text": "the food was good", "k": 2})
    out = result.output
    assert out["prediction"] in ctx.task.labels and out["candidates_scored"] > 0
    assert out["counterfactuals"], "the tiny model sits near 0.5, so some edit flips it"
    for cf in out["counterfactuals"]:
        again = run_tool(ctx, "predict", {"text": cf["text"]}).output
        assert again["label"] == cf["prediction"] != out["prediction"]
        assert cf["minimality"] == pytest.approx(cf["words_changed"] / 4, abs=1e-4)
        assert cf["perplexity_ratio"] is not None and cf["perplexity_ratio"] > 0
    other = next(l for l in ctx.task.labels if l != out["prediction"])
    with pytest.raises(InputError, match="already predicts"):
        run_tool(ctx, "counterfactual", {"text": "the food was good", "target": out["prediction"]})
    with pytest.raises(InputError, match="Unknown target label 'meh'"):
        run_tool(ctx, "counterfactual", {"text": "the food was good", "target": "meh"})
    targeted = run_tool(ctx, "counterfactual", {"text": "the food was good", "target": other}).output
    assert all(cf["prediction"] == other for cf in targeted["counterfactuals"])
    with pytest.raises(InputError, match="up to 120 words"):
        run_tool(ctx, "counterfactual", {"text": "good " * 200})


def test_similar_ranks_an_exact_duplicate_first_in_both_spaces(tiny_assistant):
    ctx = tiny_assistant.context
    row = ctx.dataset.get(101)
    out = run_tool(ctx, "similar", {"text": row.text, "k": 3}).output
    assert out["by_model"][0]["id"] == 101 and out["by_model"][0]["similarity"] == pytest.approx(1.0, abs=1e-4)
    assert out["by_sentence_embedding"][0]["id"] == 101 and out["by_sentence_embedding"][0]["similarity"] == pytest.approx(1.0, abs=1e-4)
    sims = [r["similarity"] for r in out["by_model"]]
    assert sims == sorted(sims, reverse=True) and len(sims) == 3
    by_id = run_tool(ctx, "similar", {"id": 101, "k": 3}).output
    assert 101 not in {r["id"] for r in by_id["by_model"] + by_id["by_sentence_embedding"]}  # the row itself is left out
    assert "by_model_same_label" in by_id
    n_layers = ctx.model.n_layers
    with pytest.raises(InputError, match="out of range"):
        run_tool(ctx, "similar", {"id": 101, "layer": n_layers})
    assert run_tool(ctx, "similar", {"id": 101, "layer": -1}).output["layer"] == -1


def test_adversarial_keeps_meaning_and_flips_or_says_why(tiny_assistant):
    from tools.builtin.perturb import MEANING_THRESHOLD
    from tools.counterfactuals.edits import perturbation_edits

    kinds = {e.kind for e in perturbation_edits("The food was good".split())}
    assert {"synonym", "typo", "insert"} <= kinds
    ctx = tiny_assistant.context
    out = run_tool(ctx, "adversarial", {"text": "the food was good and the movie was great", "k": 2}).output
    assert out["candidates_scored"] > 0 and out["success"] == bool(out["perturbations"])
    for p in out["perturbations"]:
        assert p["meaning_similarity"] >= MEANING_THRESHOLD
        assert run_tool(ctx, "predict", {"text": p["text"]}).output["label"] == p["prediction"] != out["prediction"]


def test_augment_variants_keep_the_label_and_the_meaning(tiny_assistant):
    ctx = tiny_assistant.context
    out = run_tool(ctx, "augment", {"text": "the food was good and the service was great", "k": 3}).output
    assert out["variants"], out
    assert len({v["text"] for v in out["variants"]}) == len(out["variants"]) <= 3
    for v in out["variants"]:
        assert run_tool(ctx, "predict", {"text": v["text"]}).output["label"] == out["prediction"]
        assert v["meaning_similarity"] >= 0.85 and v["text"] != out["text"]
    edits = [set(v["edits"]) for v in out["variants"]]
    assert all(not (a & b) for i, a in enumerate(edits) for b in edits[i + 1:])  # no edit reused: diverse


def test_rationalize_checks_the_cited_words(tiny_assistant):
    from tools.builtin.rationalize import cited_words, without

    assert cited_words("Because of 'good' and the great service.", "The food was good , great".split(), ["positive"]) == ["good", "great"]
    assert without("The food was good".split(), {"good"}) == "The food was"
    out = run_tool(tiny_assistant.context, "rationalize", {"id": 100}).output
    assert isinstance(out["explanation"], str) and out["verdict"]
    assert out["checks"]["attribution_method"] == "occlusion"
    if out["cited_words"]:
        assert {"drop", "random_drop"} <= set(out["checks"])
    else:
        assert out["verdict"].startswith("not checkable")


def test_influence_ranks_a_planted_duplicate_first(tiny_models, tiny_data, isolated_home, tmp_path):
    import json

    from agent import Assistant
    from tools.settings import Settings

    rows = [json.loads(line) for line in tiny_data.read_text().splitlines()]
    probe = Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data)), quiet=True)
    query = rows[3]
    predicted = probe.run_tool("predict", {"id": query["id"]}).output["label"]
    other = next(l for l in ("negative", "positive") if l != predicted)
    planted = rows + [{"id": 900, "text": query["text"], "label": other}, {"id": 901, "text": query["text"], "label": predicted}]
    data = tmp_path / "planted.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in planted))
    assistant = Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(data)), quiet=True)
    out = assistant.run_tool("influence", {"id": query["id"], "k": 3}).output
    assert out["opponents"][0]["id"] == 900  # the duplicate with the flipped label hurts most
    assert out["proponents"][0]["id"] == 901  # the duplicate with the predicted label helps most
    assert query["id"] not in {r["id"] for r in out["proponents"] + out["opponents"]}
    assert out["training_rows"] == len(planted) - 1
    assert out["opponents"][0]["influence"] < 0 < out["proponents"][0]["influence"]
