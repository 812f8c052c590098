"""global_importance: the aggregation on synthetic attributions with known answers (means, counts,
bootstrap coverage, the frequency baseline), a planted word in a hand-set tiny classifier found end
to end, the per-row cache on the suite's tiny model, errors, narration, figure and planning."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tools.builtin.global_importance import (
    GlobalImportance,
    GlobalImportanceOutput,
    WordStats,
    aggregate,
    frequency_fit,
    normalize,
)
from tools.errors import InputError
from tools.registry import run_tool


# -- aggregation on synthetic per-row attributions ---------------------------------------------------
def test_aggregate_sums_within_a_row_and_averages_over_the_rows_that_contain_the_word():
    rows = [
        [("Great!", 0.5), ("food", -0.1), ("great", 0.25), ("--", 9.0)],  # 'Great!' + 'great' = 0.75 in this row
        [("the", 0.2), ("FOOD", -0.3)],
        [("“great”", -0.15), ("the", 0.0)],
    ]
    stats = {s.word: s for s in aggregate(rows, resamples=200, seed=1)}
    assert set(stats) == {"great", "food", "the"}  # '--' is punctuation only
    assert stats["great"].rows == 2 and stats["great"].occurrences == 3
    assert stats["great"].mean_score == pytest.approx((0.75 - 0.15) / 2)
    assert stats["great"].mean_abs == pytest.approx((0.75 + 0.15) / 2)
    assert stats["food"].mean_score == pytest.approx(-0.2) and stats["food"].mean_abs == pytest.approx(0.2)
    assert stats["the"].mean_score == pytest.approx(0.1) and stats["the"].rows == 2
    assert stats["great"].ci_low >= -0.15 - 1e-12 and stats["great"].ci_high <= 0.75 + 1e-12
    assert normalize("(Film),") == "film" and normalize("don't") == "don't" and normalize("...") == ""


def test_bootstrap_intervals_are_seeded_exact_for_constants_and_cover_the_mean():
    constant = aggregate([[("same", 0.3)]] * 5, resamples=100)[0]
    assert (constant.ci_low, constant.ci_high) == (pytest.approx(0.3), pytest.approx(0.3))
    rng = np.random.default_rng(7)
    covered = 0
    trials = 200
    for trial in range(trials):
        values = rng.normal(0.5, 1.0, size=40)
        rows = [[("w", float(v)), ("other", 1.0)] for v in values]
        s = next(s for s in aggregate(rows, resamples=1000, seed=trial) if s.word == "w")
        assert s.mean_score == pytest.approx(values.mean())
        covered += s.ci_low <= 0.5 <= s.ci_high
    assert 0.88 <= covered / trials <= 0.99  # a nominal 95% percentile interval, n = 40
    once = aggregate([[("w", float(v))] for v in values], seed=3)[0]
    again = aggregate([[("w", float(v)), ("x", 1.0)] for v in values], seed=3)
    assert next(s for s in again if s.word == "w").ci_low == once.ci_low  # other words do not move an interval


def test_frequency_baseline_recovers_a_known_line_and_is_flat_with_too_few_words():
    stats = [WordStats(f"w{n}", 0.0, 0.0, 0.0, 1.0 + 0.5 * math.log(n), n, n) for n in (3, 5, 8, 13)]
    intercept, slope, rho = frequency_fit(stats)
    assert (intercept, slope, rho) == (pytest.approx(1.0), pytest.approx(0.5), pytest.approx(1.0))
    assert frequency_fit(stats[:2]) == (pytest.approx((stats[0].mean_abs + stats[1].mean_abs) / 2), 0.0, None)
    assert frequency_fit([]) == (0.0, 0.0, None)


# -- a planted word, end to end ----------------------------------------------------------------
PLANTED_ROWS = [
    ("the food was great", "positive"), ("the movie was good", "positive"), ("a great movie", "positive"),
    ("the service was bad", "negative"), ("great price and great service", "positive"),
    ("the battery was terrible", "negative"), ("it was great", "positive"), ("the price was not good", "negative"),
    ("bad food", "negative"), ("the movie was very good", "positive"),
]


@pytest.fixture(scope="module")
def planted_classifier(tiny_models, tmp_path_factory):
    """The suite's tiny LLaMA classifier with hand-set weights: attention is uniform (zero queries and
    keys) and copies the normalised embeddings, every other block writes nothing, and the head reads
    one hidden dimension that only the word 'great' carries. So 'great' raises p(positive) wherever
    it appears, and the other words barely matter."""
    import torch
    from transformers import AutoTokenizer, LlamaForSequenceClassification

    source = tiny_models["classifier"]
    model = LlamaForSequenceClassification.from_pretrained(source)
    tok = AutoTokenizer.from_pretrained(source)
    hidden = model.config.hidden_size
    head_dim = hidden // model.config.num_attention_heads
    with torch.no_grad():
        emb = model.get_input_embeddings().weight
        emb[:, 0] = 0.0
        emb[tok.convert_tokens_to_ids("great"), 0] = 3.0
        for i, layer in enumerate(model.model.layers):
            attn = layer.self_attn
            for proj in (attn.q_proj, attn.k_proj, attn.o_proj, layer.mlp.down_proj):
                proj.weight.zero_()
            if i == 0:  # heads 0 and 2 (one per key-value group) copy their group's value dimensions
                kv = attn.v_proj.weight.shape[0]
                attn.v_proj.weight.copy_(torch.eye(kv, hidden))
                for head, group in ((0, 0), (2, 1)):
                    rows = slice(group * head_dim, (group + 1) * head_dim)
                    attn.o_proj.weight[rows, head * head_dim:(head + 1) * head_dim] = torch.eye(head_dim)
        model.score.weight.zero_()
        model.score.weight[0, 0], model.score.weight[1, 0] = -0.5, 0.5
    folder = tmp_path_factory.mktemp("planted") / "classifier"
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
    data = folder.parent / "planted.jsonl"
    lines = [json.dumps({"id": i, "text": text, "label": label, "domain": "film" if "movie" in text else "other"})
             for i, (text, label) in enumerate(PLANTED_ROWS)]
    data.write_text("\n".join(lines) + "\n")
    return folder, data


def _context(model, data):
    from agent import Assistant
    from tools.settings import Settings

    return Assistant(Settings.from_env(model=str(model), data=str(data)), quiet=True).context


def test_the_planted_word_tops_the_ranking_with_a_stable_interval(planted_classifier, isolated_home):
    ctx = _context(*planted_classifier)
    out = run_tool(ctx, "global_importance", {"target": "positive", "k": 3}).output
    assert out["target"] == "positive" and out["explained"] == {"positive": 10} and out["method"] == "occlusion"
    top = out["towards"][0]
    assert top["word"] == "great" and top["rows"] == 4 and top["occurrences"] == 5 and top["stable"]
    assert top["ci_low"] > 0 and top["doc_freq"] == 0.4
    others = out["towards"][1:] + out["against"]
    assert others and all(abs(w["mean_score"]) < top["mean_score"] / 100 for w in others)
    assert out["words_ranked"] == 5 and out["words_seen"] == 16  # the, was, great, good, movie in 3+ rows
    assert out["beyond_frequency"][0]["word"] == "great"  # also far above what its frequency predicts
    flipped = run_tool(ctx, "global_importance", {"target": "negative", "k": 3}).output
    assert flipped["against"][0]["word"] == "great" and flipped["against"][0]["ci_high"] < 0
    assert flipped["cached_rows"] == 0  # another target is another attribution per row
    films = run_tool(ctx, "global_importance", {"target": "positive", "where": {"match": {"domain": "film"}},
                                                "min_rows": 1}).output
    assert films["rows_used"] == [1, 2, 9] and films["selection"] == "rows with domain film"
    assert films["cached_rows"] == 3 and films["forwards"] == 0  # the same rows' attributions, from the cache
    assert films["towards"][0]["word"] == "great" and films["towards"][0]["rows"] == 1


# -- the suite's tiny model: rows, cap, cache, errors ------------------------------------------------
def test_rows_are_capped_by_id_explained_towards_the_prediction_and_cached(tiny_assistant):
    ctx = tiny_assistant.context
    first = run_tool(ctx, "global_importance", {"max_rows": 6, "min_rows": 2, "resamples": 200})
    out = first.output
    assert out["rows_used"] == [100, 101, 102, 103, 104, 105] and out["truncated"] and out["rows_selected"] == 10
    assert out["target"] is None and out["max_rows"] == 6 and out["min_rows"] == 2
    predicted = ctx.predicted_labels()
    expected: dict[str, int] = {}
    for row_id in out["rows_used"]:
        expected[predicted[row_id]] = expected.get(predicted[row_id], 0) + 1
    assert out["explained"] == dict(sorted(expected.items()))
    assert out["cached_rows"] == 0 and out["forwards"] > 0
    # the aggregate is exactly the mean of the rows' own attributions, over the rows that contain the word
    rows = [run_tool(ctx, "attribute", {"id": i}) for i in out["rows_used"]]
    assert all(r.provenance.cached for r in rows)  # the tool went through the registry's cache
    listed = out["towards"] + out["against"]
    assert listed
    for word in listed:
        per_row = [sum(w["score"] for w in r.output["words"] if w["word"].lower() == word["word"]) for r in rows
                   if any(w["word"].lower() == word["word"] for w in r.output["words"])]
        assert word["rows"] == len(per_row) >= 2
        assert word["mean_score"] == pytest.approx(np.mean(per_row), abs=1e-6)
        assert word["mean_abs"] == pytest.approx(np.mean(np.abs(per_row)), abs=1e-6)
    if any(w["word"] == "the" for w in listed):
        assert next(w for w in listed if w["word"] == "the")["rows"] == 4  # rows 100, 101, 103, 105
    assert out["words_seen"] >= out["words_ranked"] > 0
    again = run_tool(ctx, "global_importance", {"max_rows": 6, "min_rows": 2, "resamples": 200, "k": 3}).output
    assert again["cached_rows"] == 6 and again["forwards"] == 0  # a second question runs no model
    assert again["towards"] == out["towards"][:3]
    assert first.caveats[0].startswith("Averaged local attributions describe what the model relies on")
    assert any(c.startswith("Only 6 rows: the intervals are wide") for c in first.caveats)
    assert any("mixes rows explained towards different labels" in c for c in first.caveats) == (len(expected) > 1)


def test_a_target_an_empty_selection_and_bad_arguments(tiny_assistant):
    ctx = tiny_assistant.context
    out = run_tool(ctx, "global_importance", {"target": "Negative", "where": {"ids": [100, 104]}, "min_rows": 1,
                                              "method": "gradient_x_input"}).output
    assert out["target"] == "negative" and out["explained"] == {"negative": 2} and out["method"] == "gradient_x_input"
    assert out["rows_used"] == [100, 104] and not out["truncated"]
    assert {w["word"] for w in out["towards"] + out["against"]} <= {"the", "food", "was", "good", "terrible"}
    with pytest.raises(InputError, match=r"Unknown target label 'neutral'.*Labels: negative, positive"):
        run_tool(ctx, "global_importance", {"target": "neutral"})
    with pytest.raises(InputError, match="No rows match"):
        run_tool(ctx, "global_importance", {"where": {"includes": "zebra"}})
    with pytest.raises(InputError, match="method"):
        run_tool(ctx, "global_importance", {"method": "deeplift"})
    with pytest.raises(InputError, match="max_rows"):
        run_tool(ctx, "global_importance", {"max_rows": 0})


# -- narration, figure ------------------------------------------------------------------------------
def _word(word, mean, low, high, rows, excess=0.0):
    return {"word": word, "mean_score": mean, "ci_low": low, "ci_high": high, "stable": low > 0 or high < 0,
            "mean_abs": abs(mean), "rows": rows, "doc_freq": rows / 40, "occurrences": rows,
            "expected_abs": abs(mean) - excess, "excess": excess}


def _output(**changes) -> GlobalImportanceOutput:
    data = {
        "selection": "rows predicted positive", "method": "occlusion", "diagnostic_only": False, "target": None,
        "explained": {"positive": 40}, "rows_selected": 52, "rows_used": list(range(3, 43)), "max_rows": 40,
        "truncated": True, "min_rows": 3, "words_seen": 210, "words_ranked": 35,
        "towards": [_word("great", 0.412, 0.301, 0.52, 12, 0.2), _word("the", 0.01, -0.02, 0.04, 30)],
        "against": [_word("not", -0.25, -0.4, -0.1, 7)],
        "beyond_frequency": [_word("great", 0.412, 0.301, 0.52, 12, 0.2)],
        "baseline": "line", "frequency_fit": {"intercept": 0.2, "slope": -0.01, "words": 35, "correlation": 0.2134},
        "faithful_rows": 31, "resamples": 1000, "confidence": 0.95, "seed": 0, "cached_rows": 0, "forwards": 812,
    }
    data.update(changes)
    return GlobalImportanceOutput.model_validate(data)


def test_narration_leads_with_the_answer_and_flags_unstable_words():
    text = GlobalImportance().narrate(_output(), {})
    assert text == (
        "Across 40 rows predicted positive, the words that push towards positive most are 'great' (+0.412, CI "
        "+0.301 to +0.520, in 12 rows), 'the' (+0.010, CI -0.020 to +0.040, in 30 rows, unstable). The words that "
        "push against it most are 'not' (-0.250, CI -0.400 to -0.100, in 7 rows). Unstable (the 95% interval "
        "crosses 0, so these rows do not settle the direction): 'the'.\n"
        "How: occlusion attributions of each row towards its predicted label (40 positive), a word's score averaged "
        "over the rows that contain it, 95% bootstrap intervals over those rows (1000 resamples, seed 0); a word "
        "needs at least 3 rows (35 of 210 distinct words do). The selection has 52 rows; I explained the first 40 "
        "by id (ids 3 to 42); raise max_rows for more.\n"
        "Frequency baseline (the mean |score| a word's row count alone predicts, a line fitted over the 35 ranked "
        "words): beyond it, 'great' (+0.200 above, in 12 rows). Row count and mean |score| correlate at +0.21 "
        "(Spearman) over those words.\n"
        "Faithfulness: 31 of 40 row attributions beat random rankings on both comprehensiveness and sufficiency."
    )
    from agent.grounding import check

    assert check(text, [_output().model_dump(mode="json")]).ok


def test_narration_with_a_target_mixed_predictions_and_nothing_ranked():
    mixed = GlobalImportance().narrate(_output(selection="all rows", explained={"negative": 12, "positive": 28}), {})
    assert mixed.startswith("Across 40 rows, the words that push towards the model's prediction most are 'great'")
    assert "towards its predicted label (12 negative, 28 positive)" in mixed
    empty = GlobalImportance().narrate(_output(target="negative", explained={"negative": 40}, towards=[], against=[],
                                               beyond_frequency=[], truncated=False), {})
    assert empty.startswith("Across 40 rows predicted positive, no word that appears in at least 3 rows pushes "
                            "towards negative on average.")
    assert "towards negative (for every row)" in empty and "Unstable" not in empty
    small = GlobalImportance().narrate(_output(towards=[], against=[_word("movie", -0.000226, -0.000679, 0.0, 3)]), {})
    assert "'movie' (-0.00023, CI -0.00068 to +0.00000, in 3 rows, unstable)" in small  # never '-0.000'


def test_figure_draws_bars_and_skips_an_empty_ranking(tmp_path):
    path = GlobalImportance().figure(_output(), tmp_path / "gi.png")
    assert path.exists() and path.read_bytes()[:4] == b"\x89PNG"
    assert GlobalImportance().figure(_output(towards=[], against=[]), tmp_path / "none.png") is None


# -- planning --------------------------------------------------------------------------------------
@pytest.mark.parametrize("question, args", [
    ("which words make it say negative overall?", {"target": "negative"}),
    ("what does the model rely on overall?", {}),
    ("global feature importance", {}),
    ("most important words across the dataset", {}),
    ("which words matter most for the negative reviews?", {"where": {"label": "negative"}}),
    ("top 5 influential words over the whole dataset with integrated gradients",
     {"k": 5, "method": "integrated_gradients"}),
    ("which words push the model towards positive in the short reviews?",
     {"where": {"max_words": 8}, "target": "positive"}),
    ("which words drive the model's mistakes overall?", {"where": {"correct": False}}),
    ("aggregate the attributions over reviews predicted positive with lime",
     {"where": {"prediction": "positive"}, "method": "lime"}),
    ("what makes the model predict negative overall?", {"target": "negative"}),
    ("which words push the model towards positive across all reviews?", {"target": "positive"}),
])
def test_planner_wordings(question, args):
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan(question)
    assert [(c.tool, c.args) for c in plan.calls] == [("global_importance", args)]


@pytest.mark.parametrize("question, tool", [
    ("which words mattered for review 5?", "attribute"),
    ("why did the model predict review 8 like that?", "attribute"),
    ("what are the most common words across the dataset?", "keywords"),
    ("what's the overall accuracy?", "score"),
    ("what is feature importance?", "explain_concept"),
    ("Which feature is most influential for data point 55 using attention?", "attribute"),
    ("can you push review 5 towards positive?", "steer"),
])
def test_instance_and_frequency_questions_stay_with_their_tools(question, tool):
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan(question)
    assert [c.tool for c in plan.calls] == [tool]

