"""Counterfactual search: minimal verified flips on a scorer with a known answer, edits that
compose, MiCE minimality and diversity, and the tool on a tiny model (every returned flip is
re-verified by predict), with clear errors for bad targets."""
import os

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
        negated = any(w in {"not", "never"} for w in words)
        positive = any(w.strip(".,!") in {"good", "great"} for w in words) and not negated
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
    other = next(label for label in ctx.task.labels if label != out["prediction"])
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
    by_sentence = out["by_sentence_embedding"][0]
    assert by_sentence["id"] == 101 and by_sentence["similarity"] == pytest.approx(1.0, abs=1e-4)
    sims = [r["similarity"] for r in out["by_model"]]
    assert sims == sorted(sims, reverse=True) and len(sims) == 3
    by_id = run_tool(ctx, "similar", {"id": 101, "k": 3}).output
    neighbours = by_id["by_model"] + by_id["by_sentence_embedding"]
    assert 101 not in {r["id"] for r in neighbours}  # the row itself is left out
    assert by_id["by_model_same_label"] is not None and by_id["by_sentence_embedding_same_label"] is not None
    n_layers = ctx.model.n_layers
    with pytest.raises(InputError, match="out of range"):
        run_tool(ctx, "similar", {"id": 101, "layer": n_layers})
    assert run_tool(ctx, "similar", {"id": 101, "layer": -1}).output["layer"] == -1


def test_adversarial_keeps_meaning_and_flips_or_says_why(tiny_assistant):
    from tools.counterfactuals.edits import perturbation_edits
    from tools.counterfactuals.meaning import MEANING_THRESHOLD

    kinds = {e.kind for e in perturbation_edits("The food was good".split())}
    assert {"synonym", "typo", "insert"} <= kinds
    ctx = tiny_assistant.context
    # the tiny model sits near 0.5 on this text: a neutral phrase in front flips it (a known non-empty result)
    out = run_tool(ctx, "adversarial", {"text": "the food was good", "k": 2}).output
    assert out["success"] is True and len(out["perturbations"]) == 2
    assert out["candidates_scored"] > 0 and out["flips"] >= out["flips_meaning_preserved"] >= 2
    assert out["threshold"] == MEANING_THRESHOLD
    for p in out["perturbations"]:
        assert p["meaning_similarity"] >= MEANING_THRESHOLD
        assert p["text"] != out["text"] and p["edits"] and set(p["kinds"]) <= {"synonym", "typo", "insert"}
        assert p["words_changed"] >= 1
        assert run_tool(ctx, "predict", {"text": p["text"]}).output["label"] == p["prediction"] != out["prediction"]
    similarities = [p["meaning_similarity"] for p in out["perturbations"]]
    assert similarities == sorted(similarities, reverse=True)  # among equally small edits, the closest first
    robust = run_tool(ctx, "adversarial", {"text": "the battery was bad", "k": 2}).output
    assert robust["success"] is False and robust["perturbations"] == [] and robust["candidates_scored"] > 0


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

    words = "The food was good , great".split()
    assert cited_words("Because of 'good' and the great service.", words, ["positive"]) == ["good", "great"]
    assert without("The food was good".split(), {"good"}) == "The food was"
    ctx = tiny_assistant.context
    # row 106 "a great movie": the tiny model's (greedy) explanation mentions "movie", so the deletion test runs
    out = run_tool(ctx, "rationalize", {"id": 106}).output
    checks = out["checks"]
    assert out["cited_words"] == ["movie"] and checks["attribution_method"] == "occlusion"
    assert checks["agreement"] == pytest.approx(len({"movie"} & set(checks["attribution_top_words"])) / 1)
    assert checks["drop"] is not None and checks["random_drop"] is not None
    assert checks["probability_after_removing_cited"] == pytest.approx(out["probability"] - checks["drop"], abs=2e-4)
    assert checks["prediction_after_removing_cited"] in ctx.task.labels
    faithful = checks["agreement"] >= 0.5 and checks["drop"] > checks["random_drop"]
    assert out["verdict"].startswith("faithful") == faithful and not out["verdict"].startswith("not checkable")
    # row 100: its explanation cites no word of the input, so nothing can be checked
    silent = run_tool(ctx, "rationalize", {"id": 100}).output
    assert silent["cited_words"] == [] and silent["verdict"].startswith("not checkable")
    assert silent["checks"]["drop"] is None and silent["checks"]["agreement"] is None


def test_influence_ranks_a_planted_duplicate_first(tiny_models, tiny_data, isolated_home, tmp_path):
    import json

    from agent import Assistant
    from tools.settings import Settings

    rows = [json.loads(line) for line in tiny_data.read_text().splitlines()]
    probe = Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data)), quiet=True)
    query = rows[3]
    predicted = probe.run_tool("predict", {"id": query["id"]}).output["label"]
    other = next(label for label in ("negative", "positive") if label != predicted)
    planted = rows + [{"id": 900, "text": query["text"], "label": other},
                      {"id": 901, "text": query["text"], "label": predicted}]
    data = tmp_path / "planted.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in planted))
    assistant = Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(data)), quiet=True)
    out = assistant.run_tool("influence", {"id": query["id"], "k": 3}).output
    assert out["opponents"][0]["id"] == 900  # the duplicate with the flipped label hurts most
    assert out["proponents"][0]["id"] == 901  # the duplicate with the predicted label helps most
    assert query["id"] not in {r["id"] for r in out["proponents"] + out["opponents"]}
    assert out["training_rows"] == len(planted) - 1
    assert out["opponents"][0]["influence"] < 0 < out["proponents"][0]["influence"]


@pytest.fixture(scope="module")
def default_model_context():
    """The default SmolLM2 model in the shared test home, without predicting the dataset (these
    tests run a few texts only)."""
    from tests.conftest import REAL_HOME
    from tools.context import ToolContext, Workspace
    from tools.settings import Settings

    REAL_HOME.mkdir(parents=True, exist_ok=True)
    return ToolContext(Workspace(Settings.from_env(home=str(REAL_HOME)), quiet=True))


TEXTS = ("The soup was cold but the staff were lovely.", "the battery died after a day")
ROUNDED = 1e-4 + 1e-9  # outputs are rounded to 4 decimals: a 1e-6 difference may move the last one


@pytest.mark.slow
def test_edit_scorer_equals_each_edit_scored_alone_on_the_default_model(default_model_context):
    """Issue 20: edits scored from the KV cache of the original, or of an edit scored in an earlier
    round that they extend (a beam), many per forward, give each edit's probabilities as
    `predict_proba` of that edited text alone (one forward per text)."""
    from tools.attribution.pooled import EditScorer, edits_eligible

    ctx = default_model_context
    handle, task = ctx.model, ctx.task
    assert edits_eligible(handle, task)
    for text in TEXTS:
        words = text.split()
        singles = lexical_edits(words)
        first = list(dict.fromkeys(" ".join(apply(words, [e])) for e in singles))[:10]
        second = [" ".join(apply(words, [e, f])) for e, f in zip(singles, singles[2:6]) if e.position < f.position]
        second.append("Totally different words here")  # shares nothing with the text but the template
        fell_back: list[str] = []

        def fallback(texts):
            fell_back.extend(texts)
            return task.predict_proba(list(texts))[0]

        scorer = EditScorer(handle, task, text, fallback=fallback)
        pool = scorer.pool
        fast_first = scorer([text] + first)
        before = pool.stats["tokens"]
        fast = np.concatenate([fast_first, scorer(second)])
        alone = np.array([task.predict_proba([t], shared_prefix=False)[0][0] for t in [text] + first + second])
        np.testing.assert_allclose(fast, alone, atol=1e-5)
        assert fell_back == [] and pool.stats["rows"] == len(first) + len(second) + 1  # all served by the pool
        assert len(pool.kept[0]) == len(first) + len(second)  # each kept as a source for later rounds
        # the pairs ran from the single edit they extend, not just from the original's cache
        original, template = tuple(pool.inputs[0].variable_ids), pool.inputs[0].prefix_len
        rows = [tuple(task.encode(t).input_ids[template:]) for t in second]
        from_original = sum(len(r) - min(len(r) - 1, len(os.path.commonprefix([r, original]))) for r in rows)
        assert pool.stats["tokens"] - before < from_original
        np.testing.assert_allclose(scorer(first[:3]), fast[1:4], atol=0)  # asked again: from its memo


@pytest.mark.slow
def test_counterfactual_is_the_same_with_pooled_edit_scoring_on_the_default_model(default_model_context, monkeypatch):
    """Issue 20: the counterfactual tool finds the same edits with the same probabilities whether
    its candidates are scored whole (batched `predict_proba`) or from the original's KV cache."""
    import tools.common
    from tools.builtin.counterfactual import Counterfactual, CounterfactualParams

    ctx = default_model_context
    for text in TEXTS:
        outputs = []
        for pooled in (False, True):
            monkeypatch.setattr(tools.common, "POOLED_EDITS", pooled)
            out = Counterfactual().run(ctx, CounterfactualParams(text=text)).model_dump()
            out.pop("search_seconds")
            outputs.append(out)
        whole, fast = outputs
        assert fast["rounds"] == whole["rounds"] >= 2 and fast["counterfactuals"]
        for key in ("prediction", "found", "candidates_scored"):
            assert fast[key] == whole[key], key
        assert [w["word"] for w in fast["important_words"]] == [w["word"] for w in whole["important_words"]]
        assert [c["text"] for c in fast["counterfactuals"]] == [c["text"] for c in whole["counterfactuals"]]
        assert [c["edits"] for c in fast["counterfactuals"]] == [c["edits"] for c in whole["counterfactuals"]]
        for a, b in zip(fast["counterfactuals"], whole["counterfactuals"]):
            assert a["prediction"] == b["prediction"]
            for label, p in a["probabilities"].items():
                assert p == pytest.approx(b["probabilities"][label], abs=ROUNDED)
        assert fast["probability"] == pytest.approx(whole["probability"], abs=ROUNDED)


@pytest.mark.parametrize("model_type", ["llama", "qwen2", "gemma2", "gemma3_text", "phi3", "gpt2", "gpt_neox", "opt"])
def test_edit_scorer_equals_each_edit_scored_alone_on_other_architectures(model_type, tiny_data, tmp_path):
    """Issue 20: holes in the attention mask, explicit positions and kept KV rows mean the same on
    every causal family: pooled edit scores equal each edited text scored alone."""
    from tests.test_architectures import _save_tiny
    from tools.attribution.pooled import EditScorer
    from tools.context import ToolContext, Workspace
    from tools.settings import Settings

    folder = _save_tiny(model_type, tmp_path / "model")
    ctx = ToolContext(Workspace(Settings.from_env(model=str(folder), data=str(tiny_data), home=str(tmp_path)),
                                quiet=True))
    handle, task = ctx.model, ctx.task
    text = "the food was good but the service was slow"
    words = text.split()
    singles = lexical_edits(words)[:8]
    first = list(dict.fromkeys(" ".join(apply(words, [e])) for e in singles))
    second = [" ".join(apply(words, [e, f])) for e, f in zip(singles, singles[3:]) if e.position < f.position]
    scorer = EditScorer(handle, task, text, fallback=lambda texts: pytest.fail(f"fell back on {texts}"))
    assert scorer.pool is not None
    fast = np.concatenate([scorer([text] + first), scorer(second)])
    alone = np.array([task.predict_proba([t], shared_prefix=False)[0][0] for t in [text] + first + second])
    np.testing.assert_allclose(fast, alone, atol=2e-6)
    assert scorer.pool.kept[0]
