"""Issue 18: perturbation baselines. Occlusion deletes words (the ERASER check's operation), a token
baseline's shared offset is reported, and an answer whose words all score one sign says what that
means instead of "none pushed towards it"."""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest
import torch

from tools.attribution import methods as M
from tools.attribution.engine import Request, build_input, explain, sign_check
from tools.attribution.inputs import AttributionInput
from tools.attribution.scorers import Scorer, make_scorer
from tools.builtin.attribute import Attribute, AttributeOutput
from tools.registry import run_tool

TEXT = "the food and the service and the price was great"


class _OffsetScorer(Scorer):
    """log p(target) = log 0.9 with 'great' present, else log 0.2; and the baseline token anywhere in
    the text adds +2 by itself (what `<|im_end|>` inside a review does to SmolLM2, exaggerated)."""

    def __init__(self, inp: AttributionInput, great_id: int) -> None:
        self.inp, self.target, self.great_id, self.forwards, self.batch_size = inp, inp.target, great_id, 0, 16
        self.handle = type("H", (), {"pad_token_id": -1, "exclusive": staticmethod(nullcontext)})()  # no model
        self.embedding = lambda ids: ids

    def _score_padded(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out = []
        for row, n in zip(ids, lengths):
            row = row[:n]
            value = np.log(0.9 if bool((row == self.great_id).any()) else 0.2)
            value += 2.0 * bool((row == self.inp.baseline_id).any())
            out.append(value)
        return torch.tensor(out, dtype=torch.float32)[:, None]


def _planted(ws) -> tuple[AttributionInput, _OffsetScorer, int]:
    inp, _ = build_input(ws.model, ws.task, TEXT, Request(method="occlusion"))
    assert inp.baseline_id not in inp.variable_ids  # the offset only appears when a method inserts the token
    great = [i for i, w in enumerate(inp.words) if w.text == "great"][0]
    return inp, _OffsetScorer(inp, ws.model.tokenizer.convert_tokens_to_ids("great")), great


def test_deletion_occlusion_ranks_the_planted_word_first_and_a_token_baseline_reports_its_offset(tiny_assistant):
    inp, scorer, great = _planted(tiny_assistant.workspace)
    features = inp.word_positions()
    deleted = M.occlusion(scorer, features)
    values = deleted.values[0]
    assert deleted.info["baseline"] == "delete"
    assert int(np.argmax(np.abs(values))) == great and values[great] == pytest.approx(np.log(0.9 / 0.2))
    assert np.allclose(np.delete(values, great), 0.0)
    assert not sign_check(values)["all_same_sign"]

    replaced = M.occlusion(scorer, features, baseline="token")
    values = replaced.values[0]
    check = sign_check(values)
    assert check["all_same_sign"] and check["sign"] == "negative"  # the offset flips every word
    assert int(np.argmax(np.abs(values))) != great  # ranked by size, the planted word is no longer first
    assert replaced.info["mean_baseline_offset"] == pytest.approx(-2.0)
    np.testing.assert_allclose(replaced.info["deletion_effect"], deleted.values[0], atol=1e-5)
    np.testing.assert_allclose(replaced.info["baseline_offset"], -2.0, atol=1e-5)


def test_sampling_methods_delete_absent_words_by_default(tiny_assistant):
    inp, scorer, great = _planted(tiny_assistant.workspace)
    features = inp.word_positions()
    for method in (M.kernel_shap, M.lime):
        scores = method(scorer, features, 64, 0)
        assert scores.info["baseline"] == "delete"
        assert int(np.argmax(np.abs(scores.values[0]))) == great, method.__name__


def test_default_occlusion_is_the_faithfulness_checks_deletion_on_a_model(tiny_assistant):
    ws = tiny_assistant.workspace
    result = explain(ws.model, ws.task, "the food was not good", Request(method="occlusion"))
    inp, _ = build_input(ws.model, ws.task, "the food was not good", Request(method="occlusion"))
    scorer = make_scorer(ws.model, ws.task, inp)
    full = scorer.score_ids([inp.variable_ids])[0, 0]
    without = scorer.score_ids([inp.without([i]) for i in range(len(inp.words))])[:, 0]
    np.testing.assert_allclose([w["score"] for w in result["words"]], (full - without).numpy(), atol=1e-5)
    assert result["method_info"]["baseline"] == "delete"
    assert "deleted" in result["method_info"]["baseline_description"]
    check = sign_check(np.array([w["score"] for w in result["words"]]))
    assert {k: v for k, v in result["sanity"].items() if k != "mean_score"} == {
        k: v for k, v in check.items() if k != "mean_score"}


def _narrate(out: dict, scores: list[float]) -> str:
    out = dict(out)
    out["words"] = [{**w, "score": s} for w, s in zip(out["words"], scores)]
    order = np.argsort(-np.abs(scores), kind="stable")
    out["top"] = [{"word": out["words"][i]["word"], "score": scores[i], "index": int(i)} for i in order]
    out["sanity"] = sign_check(np.array(scores))
    return Attribute().narrate(AttributeOutput(**out), {})


def test_the_answer_states_the_baseline_and_explains_a_single_sign(tiny_assistant):
    out = run_tool(tiny_assistant.context, "attribute", {"id": 100, "method": "occlusion"}).output
    assert "Baseline: each switched-off word deleted" in Attribute().narrate(AttributeOutput(**out), {})
    n = len(out["words"])
    negative = _narrate(out, [-0.1 * (i + 1) for i in range(n)])
    assert "none pushed towards it" not in negative
    assert f"Sanity check: all {n} words score negative" in negative
    assert "more likely" in negative and "not with zero" in negative
    positive = _narrate(out, [0.1 * (i + 1) for i in range(n)])
    assert f"Sanity check: all {n} words score positive" in positive and "less likely" in positive
    mixed = _narrate(out, [(-1) ** i * 0.1 for i in range(n)])
    assert "Sanity check" not in mixed and "pushed away" in mixed


def test_integrated_gradients_and_token_occlusion_state_their_baselines(tiny_assistant):
    ws = tiny_assistant.workspace
    ig = explain(ws.model, ws.task, "the food was good", Request(method="integrated_gradients", steps=8,
                                                                  adaptive=False, with_faithfulness=False))
    assert "embedding of" in ig["method_info"]["baseline_description"]
    token = explain(ws.model, ws.task, "the food was good", Request(method="occlusion", baseline="token"))
    info = token["method_info"]
    assert info["baseline"] == "token" and "replaced by the token" in info["baseline_description"]
    assert len(info["baseline_offset"]) == len(token["words"]) == len(info["deletion_effect"])
    text = Attribute().narrate(AttributeOutput(text="the food was good", **token), {})
    assert "offset of" in text and "deleting each word instead" in text
