"""Attribution: agreement with Captum, known-answer properties, faithfulness logic, cleanup, tool."""
from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest
import torch

from tests import attribution_reference as ref
from tools.attribution import methods as M
from tools.attribution.engine import Request, build_input, explain, run_method
from tools.attribution.faithfulness import aopc, bin_sizes, faithfulness
from tools.attribution.inputs import split_words
from tools.attribution.scorers import Scorer, make_scorer
from tools.errors import InputError
from tools.registry import run_tool


def _setup(workspace, text, request=None, task=None):
    handle, task = workspace.model, task or workspace.task
    inp, _ = build_input(handle, task, text, request or Request())
    return handle, task, inp, make_scorer(handle, task, inp)


def _captum_agreement(handle, task, inp, scorer,
                      methods=("gradient_x_input", "integrated_gradients", "occlusion", "kernel_shap")):
    from captum.attr import FeatureAblation, InputXGradient, IntegratedGradients, KernelShap

    forward = ref.label_forward(handle, task, inp) if inp.target.kind == "label" else ref.answer_forward(handle, inp)
    x = ref.full_embeds(handle, inp)
    content_index = {p: i for i, p in enumerate(inp.content_positions)}
    results = {}
    with torch.enable_grad():
        if "gradient_x_input" in methods:
            ours = M.gradient_x_input(scorer).values[0]
            theirs = ref.variable_part(InputXGradient(forward).attribute(x.clone().requires_grad_(True)), inp)
            results["gradient_x_input"] = (ours, theirs)
        if "integrated_gradients" in methods:
            ours_ig = M.integrated_gradients(scorer, 32, adaptive=False)
            theirs = IntegratedGradients(forward).attribute(
                x, baselines=ref.ig_baseline(handle, inp), n_steps=32, method="gausslegendre", internal_batch_size=16)
            results["integrated_gradients"] = (ours_ig.values[0], ref.variable_part(theirs, inp))
    ids_forward = ref.content_splice_forward(forward, handle, inp)
    content = torch.tensor([[inp.ids[p] for p in inp.content_positions]])
    mask = ref.word_mask(inp)
    features = inp.word_positions()
    if "occlusion" in methods:
        theirs = FeatureAblation(ids_forward).attribute(content, baselines=inp.baseline_id, feature_mask=mask)
        picked = [float(theirs[0, content_index[w.tokens[0]]]) for w in inp.words]
        results["occlusion"] = (M.occlusion(scorer, features, baseline="token").values[0], picked)
    if "kernel_shap" in methods:
        ours = M.kernel_shap(scorer, features, n_samples=48, seed=3, baseline="token").values[0]
        torch.manual_seed(3)
        theirs = KernelShap(ids_forward).attribute(content, baselines=inp.baseline_id, feature_mask=mask, n_samples=48)
        picked = [float(theirs[0, content_index[w.tokens[0]]]) for w in inp.words]
        results["kernel_shap"] = (ours, picked)
    return results


def test_agrees_with_captum_on_a_tiny_llama(tiny_assistant):
    handle, task, inp, scorer = _setup(tiny_assistant.workspace, "the food was not good but the service was great")
    assert inp.prefix_len > 0  # the prompt's fixed start is cached, never perturbed
    for method, (ours, theirs) in _captum_agreement(handle, task, inp, scorer).items():
        assert ref.pearson(ours, theirs) >= 0.999, method
        np.testing.assert_allclose(ours, theirs, atol=1e-4, err_msg=method)


def test_agrees_with_captum_on_a_tiny_sequence_classifier(tiny_models, tiny_data):
    from agent import Assistant
    from tools.settings import Settings

    ws = Assistant(Settings.from_env(model=str(tiny_models["classifier"]), data=str(tiny_data)), quiet=True).workspace
    handle, task, inp, scorer = _setup(ws, "the movie was very bad")
    assert inp.prefix_len == 0
    with torch.enable_grad():
        ours = M.gradient_x_input(scorer).values[0]
    from captum.attr import InputXGradient

    def forward(embeds):
        logits = handle.model(inputs_embeds=embeds).logits.float()
        return torch.log_softmax(logits, -1)[:, task.labels.index(inp.target.label)]

    embeds = ref.full_embeds(handle, inp).requires_grad_(True)
    theirs = ref.variable_part(InputXGradient(forward).attribute(embeds), inp)
    assert ref.pearson(ours, theirs) >= 0.999
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_answer_attribution_is_linear_in_the_answer_tokens(tiny_assistant):
    from tools.models.tasks import GenerationTask

    ws = tiny_assistant.workspace
    gen = GenerationTask(ws.model, 4)
    handle, task, inp, scorer = _setup(ws, "the battery was bad", Request(answer="good price and service"), gen)
    assert inp.target.kind == "tokens" and inp.target.n_outputs == 4
    with torch.enable_grad():
        whole = M.gradient_x_input(scorer).values
        rows = M.gradient_x_input(scorer, per_output=True).values
        ig = M.integrated_gradients(scorer, 16, per_output=True, adaptive=False).values
    np.testing.assert_allclose(whole[0], rows[1:].sum(0), atol=1e-5)
    np.testing.assert_allclose(rows[0], rows[1:].sum(0), atol=1e-5)
    np.testing.assert_allclose(ig[0], ig[1:].sum(0), atol=1e-5)
    occ = M.occlusion(scorer, inp.word_positions(), per_output=True).values
    np.testing.assert_allclose(occ[0], occ[1:].sum(0), atol=1e-5)
    # and the whole-answer gradient agrees with Captum on the full forward
    (ours, theirs), = _captum_agreement(handle, task, inp, scorer, ("gradient_x_input",)).values()
    assert ref.pearson(ours, theirs) >= 0.999


def test_integrated_gradients_completeness_and_adaptive_steps(tiny_assistant):
    handle, task, inp, scorer = _setup(tiny_assistant.workspace, "it was very good")
    with torch.enable_grad():
        result = M.integrated_gradients(scorer, 8, tolerance=1e-4, max_steps=64)
    info = result.info
    # completeness: the attributions sum to f(x) - f(baseline) up to the reported delta
    assert result.values[0].sum() == pytest.approx(info["output_gap"] + info["convergence_delta"], abs=1e-5)
    steps = [h["steps"] for h in info["history"]]
    assert steps[0] == 8 and all(b == 2 * a for a, b in zip(steps, steps[1:]))
    assert info["converged"] == (info["relative_delta"] <= 1e-4)
    assert info["converged"] or steps[-1] == 64


class _PlantedScorer(Scorer):
    """p(target) = 0.9 when the word 'great' is present, else 0.2: only 'great' matters."""

    def __init__(self, inp, great_id):
        self.inp, self.target, self.great_id, self.forwards, self.batch_size = inp, inp.target, great_id, 0, 16
        self.handle = type("H", (), {"pad_token_id": -1, "exclusive": staticmethod(nullcontext)})()  # no model
        self.embedding = lambda ids: ids

    def _score_padded(self, ids, lengths):
        present = torch.tensor([bool((row[:n] == self.great_id).any()) for row, n in zip(ids, lengths)])
        return torch.log(torch.where(present, 0.9, 0.2))[:, None]


def test_faithfulness_rewards_the_planted_word_and_punishes_its_reverse(tiny_assistant):
    ws = tiny_assistant.workspace
    _, _, inp, _ = _setup(ws, "the food and the service and the price was great")
    great = [i for i, w in enumerate(inp.words) if w.text == "great"][0]
    scorer = _PlantedScorer(inp, ws.model.tokenizer.convert_tokens_to_ids("great"))
    right = np.zeros(len(inp.words))
    right[great] = 1.0
    good = faithfulness(scorer, right)
    bad = faithfulness(scorer, -right)
    assert good["comprehensiveness"] == pytest.approx(0.7) and good["sufficiency"] == pytest.approx(0.0)
    assert good["beats_random"] and good["verdict"].startswith("beats random on both")
    assert not bad["beats_random"] and bad["comprehensiveness"] < good["random_comprehensiveness"]
    assert bin_sizes(10) == [1, 1, 1, 2, 5] and bin_sizes(1) == [1, 1, 1, 1, 1]
    (comp, suff), = aopc(scorer, [[great]])
    assert (comp, suff) == (pytest.approx(0.7), pytest.approx(0.0))


def test_words_merge_subwords_and_skip_the_template(real_workspace):
    task = real_workspace.task
    text = "The soup was lukewarm, honestly."
    encoded = task.encode(text)
    words = split_words(text, encoded)
    assert [w.text for w in words] == ["The", "soup", "was", "lukewarm,", "honestly."]
    assert len(words[3].tokens) > 1  # sub-words merged into one word
    assert all(encoded.content_mask[t] for w in words for t in w.tokens)


def _hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())


def test_hooks_gradients_and_attention_mode_are_restored_after_success_and_error(tiny_assistant, monkeypatch):
    ws = tiny_assistant.workspace
    model = ws.model.model
    before = (_hooks(model), model.config._attn_implementation, torch.is_grad_enabled())
    for method in ("attention", "integrated_gradients", "kernel_shap"):
        explain(ws.model, ws.task, "the food was good", Request(method=method, steps=8, adaptive=False))
    assert (_hooks(model), model.config._attn_implementation, torch.is_grad_enabled()) == before
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure")

    monkeypatch.setattr(torch.Tensor, "mean", boom)  # fails inside the eager-attention block
    with pytest.raises(RuntimeError, match="injected"):
        explain(ws.model, ws.task, "the food was good", Request(method="attention"))
    monkeypatch.undo()
    monkeypatch.setattr(torch.autograd, "grad", boom)  # fails in the middle of integrated gradients
    with pytest.raises(RuntimeError, match="injected"):
        explain(ws.model, ws.task, "the food was good", Request(method="integrated_gradients"))
    monkeypatch.undo()
    assert (_hooks(model), model.config._attn_implementation, torch.is_grad_enabled()) == before
    assert all(not p.requires_grad and p.grad is None for p in model.parameters())


def test_attribute_tool_results_errors_and_cache(tiny_assistant):
    ctx = tiny_assistant.context
    result = run_tool(ctx, "attribute", {"id": 100, "method": "occlusion", "k": 2})
    out = result.output
    assert [w["word"] for w in out["words"]] == ["the", "food", "was", "good"]
    assert len(out["top"]) == 2 and out["target"]["label"] == out["target"]["predicted"]
    assert {"comprehensiveness", "sufficiency", "random_comprehensiveness", "verdict"} <= set(out["faithfulness"])
    assert "wb-heatmap" in out["heatmap_html"] and result.caveats
    again = run_tool(ctx, "attribute", {"id": 100, "method": "occlusion", "k": 2})
    assert again.provenance.cached and again.output == out
    contrast = run_tool(ctx, "attribute", {"text": "bad service", "target": "positive", "contrast": "negative",
                                           "method": "gradient_x_input"})
    assert contrast.output["target"]["contrast"] == "negative"
    with pytest.raises(InputError, match="Unknown label 'neutral'"):
        run_tool(ctx, "attribute", {"id": 100, "target": "neutral"})
    with pytest.raises(InputError, match="method"):
        run_tool(ctx, "attribute", {"id": 100, "method": "saliency"})
    with pytest.raises(InputError, match="contrast label is the explained label"):
        run_tool(ctx, "attribute", {"id": 100, "target": "positive", "contrast": "positive"})
    with pytest.raises(InputError, match="Unknown id|unknown id|no row"):
        run_tool(ctx, "attribute", {"id": 99999})


def test_unknown_method_in_the_engine_lists_the_methods(tiny_assistant):
    ws = tiny_assistant.workspace
    _, _, inp, scorer = _setup(ws, "good food")
    with pytest.raises(InputError, match="integrated_gradients, gradient_x_input"):
        run_method(scorer, Request(method="deeplift"))


@pytest.mark.slow
def test_agrees_with_captum_on_smollm2(real_workspace):
    handle, task, inp, scorer = _setup(real_workspace, "The soup was cold but the staff were lovely.")
    for method, (ours, theirs) in _captum_agreement(handle, task, inp, scorer).items():
        assert ref.pearson(ours, theirs) >= 0.999, method


@pytest.mark.slow
def test_ig_converges_on_smollm2_with_the_template_kept_in_the_baseline(real_workspace):
    handle, task, inp, scorer = _setup(real_workspace, "Terrible service, the waiter ignored us.")
    with torch.enable_grad():
        info = M.integrated_gradients(scorer, 32).info
    assert info["converged"] and info["relative_delta"] < 0.05
    assert info["steps"] <= 256
