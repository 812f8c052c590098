"""Model internals: activation capture (signed MLP neurons, hooks removed), the logit lens
against the model's own logits, top-neuron contributions against a finite difference, and
probes with their controls on a planted representation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tools.errors import InputError
from tools.internals.capture import captured_neurons, captured_residual, hook_count


@pytest.fixture
def causal(tiny_assistant):
    return tiny_assistant.workspace.model


def test_neurons_are_the_signed_gated_values_and_hooks_go_away(causal):
    model = causal.model
    mlp = model.model.layers[1].mlp
    seen = {}
    handle = mlp.register_forward_pre_hook(lambda m, args: seen.setdefault("h", args[0].detach()))
    ids = torch.tensor([[5, 6, 7, 8]])
    try:
        with torch.no_grad(), captured_neurons(model) as neurons, captured_residual(model) as residual:
            model(input_ids=ids)
    finally:
        handle.remove()
    expected = mlp.act_fn(mlp.gate_proj(seen["h"])) * mlp.up_proj(seen["h"])
    assert len(neurons) == 2 and len(residual) == 3
    torch.testing.assert_close(neurons[1], expected)
    assert (neurons[1] < 0).any()  # signed, not ReLU-clipped
    assert hook_count(model) == 0


def test_hooks_are_removed_after_an_error(causal):
    with pytest.raises(RuntimeError, match="boom"):
        with captured_neurons(causal.model, keep_grad=True), captured_residual(causal.model):
            raise RuntimeError("boom")
    assert hook_count(causal.model) == 0


def test_logit_lens_final_layer_is_the_model(causal):
    from tools.internals.lens import logit_lens

    ids = [2, 5, 9, 11, 6]
    out = logit_lens(causal, ids, watch={"w": [5, 6]})
    with torch.no_grad():
        logits = causal.model(input_ids=torch.tensor([ids])).logits[0, -1]
    assert out["answer_id"] == int(logits.argmax()) == out["layers"][-1]["top"][0]["id"]
    assert out["final_matches_model"] and out["layers"][-1]["kl_to_final"] == pytest.approx(0, abs=1e-4)
    assert [r["layer"] for r in out["layers"]] == [-1, 0, 1]
    p = torch.softmax(logits, -1)
    assert out["layers"][-1]["watched"]["w"] == pytest.approx(float(p[5] + p[6]), abs=1e-4)
    assert logit_lens(causal, ids, position=1)["position"] == 1
    with pytest.raises(InputError, match="out of range: the input has 5 tokens"):
        logit_lens(causal, ids, position=5)
    assert hook_count(causal.model) == 0


def test_top_neuron_contribution_matches_a_finite_difference(tiny_assistant, causal):
    from tools.internals.neurons import neuron_scores

    task = tiny_assistant.workspace.task
    text = "the food was good"
    active, contribution, meta = neuron_scores(causal, task, text)
    layer, neuron = divmod(int(contribution.abs().flatten().argmax()), contribution.shape[1])
    eps = 1e-2
    projection = causal.model.model.layers[layer].mlp.down_proj

    def scale(module, args):
        x = args[0].clone()
        x[..., neuron] *= 1 - eps
        return (x,)

    from dataclasses import replace

    from tools.attribution.engine import Request, build_input
    from tools.attribution.scorers import make_scorer

    inp, _ = build_input(causal, task, text, Request())
    scorer = make_scorer(causal, task, replace(inp, prefix_len=0))
    with torch.no_grad():
        base = float(scorer.score_embeds(scorer.variable_embeds()[None])[0, 0])
        handle = projection.register_forward_pre_hook(scale)
        try:
            moved = float(scorer.score_embeds(scorer.variable_embeds()[None])[0, 0])
        finally:
            handle.remove()
    assert base == pytest.approx(meta["score"], abs=1e-5)
    assert (base - moved) / eps == pytest.approx(float(contribution[layer, neuron]), rel=0.03)


def test_top_neurons_tool_and_range_errors(tiny_assistant):
    out = tiny_assistant.run_tool("top_neurons", {"text": "the food was good", "k": 3, "layer": 1}).output
    assert len(out["most_active"]) == 3 and {n["layer"] for n in out["most_responsible"]} == {1}
    assert out["most_active"][0]["activation"] >= out["most_active"][1]["activation"]
    with pytest.raises(InputError, match="Layer 7 is out of range: the model has 2 layers"):
        tiny_assistant.run_tool("top_neurons", {"id": 100, "layer": 7})


def _planted_states(n=200, layers=4, dim=16, planted=2, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b"] * (n // 2))
    states = rng.normal(size=(n, layers + 1, dim))
    states[:, planted + 1, 0] += np.where(labels == "a", 2.5, -2.5)  # block `planted` encodes the label
    return states, labels


def test_probe_finds_the_planted_layer_and_the_control_stays_at_chance():
    from tools.internals.probing import run_probes, split

    states, labels = _planted_states()
    out = run_probes(states, labels)
    rows = {r["layer"]: r for r in out["layers"]}
    assert out["best_layer"] == 2
    assert rows[2]["accuracy"] >= 0.9 and rows[2]["control_accuracy"] <= 0.7 and rows[2]["selectivity"] >= 0.25
    assert all(rows[layer]["accuracy"] <= 0.75 for layer in (0, 1, 3))
    assert rows[2]["compression"] > 1.5 > max(rows[layer]["compression"] for layer in (0, 1, 3))
    assert out["embeddings"]["layer"] == -1 and out["majority_baseline"] == pytest.approx(0.5, abs=0.05)
    train, val, test = split(labels)
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))
    assert len(train) + len(val) + len(test) == len(labels)
    with pytest.raises(InputError, match="Layer 4 is out of range"):
        run_probes(states, labels, layers=[4])


def test_probe_tool_on_labels_and_on_a_word(tiny_assistant, isolated_home):
    with pytest.raises(InputError, match="Too few rows"):  # 10 tiny rows: 5 per label is the minimum
        tiny_assistant.run_tool("probe", {"concept": "good"})
    out = tiny_assistant.run_tool("probe", {"layers": [1]}).output
    assert [r["layer"] for r in out["layers"]] == [1] and out["labels_mean"] == "the dataset's gold labels"
    assert list((isolated_home / "cache" / "activations").glob("*.npy"))  # cached for the next question
    with pytest.raises(InputError, match="No row mentions 'zebra'"):
        tiny_assistant.run_tool("probe", {"concept": "zebra"})


@pytest.mark.slow
def test_logit_lens_on_the_default_model(real_workspace):
    from tools.internals.lens import logit_lens

    handle = real_workspace.model
    out = logit_lens(handle, handle.tokenizer("The capital of France is")["input_ids"])
    assert out["answer"] == " Paris" and out["final_matches_model"]
    assert len(out["layers"]) == handle.n_layers + 1
