"""patch: activation patching on the tiny LLaMA with answers known by construction (patching every
position, or the prediction position at the final block, reproduces the contrast; patching an input
into itself, or positions before the first difference, changes nothing), an independent hand-written
patch that agrees, hooks and the lock released after errors, argument errors, narration, figure and
the planner's wordings."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from tools.builtin import patch as patch_module
from tools.builtin.patch import Patch, PatchOutput, patch_prediction, patched_residual, reference_runs, run_patches
from tools.errors import InputError
from tools.internals.capture import captured_residual, hook_count

SAME_A, SAME_B = "the food was good", "the food was bad"  # same number of tokens, one word apart


@pytest.fixture
def tiny(tiny_assistant):
    workspace = tiny_assistant.workspace
    return workspace.model, workspace.task


def _lock_is_free(handle) -> bool:
    """True when another thread can take the model's lock (nobody kept it after an error)."""
    got = []

    def take() -> None:
        got.append(handle.lock.acquire(timeout=2))
        if got[0]:
            handle.lock.release()  # a re-entrant lock is released by the thread that took it

    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    return got[0]


def _patched(handle, clean, contrast, rows, anchors=(0,)):
    """(input logits, contrast logits, patched logits), reusing the input's key/value cache."""
    a, b, states, prefix = reference_runs(handle, clean, contrast)
    assert prefix is not None  # the tiny causal LM runs the cached path
    return a, b, run_patches(handle, clean, rows, states, prefix, anchors)


def _all_positions(handle, n):
    return [(layer, list(range(n)), list(range(n))) for layer in range(handle.n_layers)]


def test_patching_every_position_reproduces_the_contrast_at_every_layer(tiny):
    handle, task = tiny
    clean, contrast = task.encode(SAME_A).input_ids, task.encode(SAME_B).input_ids
    assert len(clean) == len(contrast) and clean != contrast
    a, b, patched = _patched(handle, clean, contrast, _all_positions(handle, len(clean)))
    assert not torch.allclose(a, b, atol=1e-4)  # the two runs do differ
    for row in patched:  # the whole residual stream replaced: the contrast's output, final block included
        torch.testing.assert_close(row, b[0], atol=1e-5, rtol=1e-5)
    out = PatchOutput.model_validate(patch_prediction(handle, task, SAME_A, SAME_B))
    assert out.aligned and out.full_patch_effect == pytest.approx(1.0, abs=1e-3)
    assert out.layers[-1].effect == pytest.approx(1.0, abs=1e-3)  # prediction position at the final block
    assert out.layers[-1].p_clean_label == pytest.approx(out.contrast.p_clean_label, abs=1e-4)
    assert [p.token for p in out.changed_tokens] == ["good"] and out.changed_tokens[0].contrast_token == "bad"
    assert out.matrix is not None and out.positions[0].token == "good"  # the map starts at the first difference
    assert [row[-1] for row in out.matrix] == [r.effect for r in out.layers]  # its last column: the prediction
    assert out.matrix[-1][:-1] == [0.0] * (len(out.positions) - 1)  # at the final block only the last one counts
    assert abs(out.layers[0].changed_effect) > 0.3  # at layer 0 the difference still sits at 'good'
    assert hook_count(handle.model) == 0


def test_patching_an_input_into_itself_or_before_the_difference_changes_nothing(tiny):
    handle, task = tiny
    clean, contrast = task.encode(SAME_A).input_ids, task.encode(SAME_B).input_ids
    first_difference = next(i for i, (x, y) in enumerate(zip(clean, contrast)) if x != y)
    rows = _all_positions(handle, len(clean)) + [(layer, [len(clean) - 1], [len(clean) - 1])
                                                 for layer in range(handle.n_layers)]
    a, _, patched = _patched(handle, clean, clean, rows, anchors=(0, len(clean) - 1))
    for row in patched:
        torch.testing.assert_close(row, a[0], atol=1e-5, rtol=1e-5)  # effect 0 at every layer
    before = [(layer, list(range(first_difference)), list(range(first_difference)))
              for layer in range(handle.n_layers)]
    a, _, patched = _patched(handle, clean, contrast, before)
    for row in patched:  # a left-to-right model: those positions are the same in both runs
        torch.testing.assert_close(row, a[0], atol=1e-5, rtol=1e-5)


def _manual_effect(handle, task, clean, contrast, layer, positions, sources):
    """Activation patching written out by hand, one row at a time: block outputs of the contrast
    from plain forward hooks, written into the INPUT of the next block (or of the final norm), and
    the label probabilities computed from the logits directly."""
    model = handle.model
    blocks, norm = model.model.layers, model.model.norm
    seen = {}
    grab = blocks[layer].register_forward_hook(lambda m, args, out: seen.setdefault(
        "h", (out[0] if isinstance(out, tuple) else out).detach().clone()))
    try:
        with torch.no_grad():
            model(input_ids=torch.tensor([contrast]))
    finally:
        grab.remove()

    def write(module, args, kwargs):
        hidden = (args[0] if args else kwargs["hidden_states"]).clone()
        hidden[0, positions] = seen["h"][0, sources]
        if args:
            return (hidden, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": hidden}

    target = blocks[layer + 1] if layer + 1 < len(blocks) else norm
    put = target.register_forward_pre_hook(write, with_kwargs=True)
    try:
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([clean])).logits[0, -1]
    finally:
        put.remove()

    def probabilities(final_logits):
        log_probs = torch.log_softmax(final_logits.double(), -1)
        raw = torch.softmax(torch.stack([torch.logsumexp(log_probs[ids], -1) for ids in task.label_token_ids]), -1)
        calibrated = raw.numpy() / task.calibration
        return calibrated / calibrated.sum()

    with torch.no_grad():
        p_clean = probabilities(model(input_ids=torch.tensor([clean])).logits[0, -1])
        p_contrast = probabilities(model(input_ids=torch.tensor([contrast])).logits[0, -1])
    label = int(np.argmax(p_clean))
    return (probabilities(logits)[label] - p_clean[label]) / (p_contrast[label] - p_clean[label])


def test_an_independent_manual_patch_agrees(tiny):
    handle, task = tiny
    out = PatchOutput.model_validate(patch_prediction(handle, task, SAME_A, SAME_B))
    clean, contrast = task.encode(SAME_A).input_ids, task.encode(SAME_B).input_ids
    last = len(clean) - 1
    word = out.changed_tokens[0].position
    for row, cells in zip(out.layers, out.matrix):
        layer = row.layer
        assert row.effect == pytest.approx(_manual_effect(handle, task, clean, contrast, layer, [last], [last]),
                                           abs=2e-3)
        assert row.changed_effect == pytest.approx(
            _manual_effect(handle, task, clean, contrast, layer, [word], [word]), abs=2e-3)
        assert cells[1] == pytest.approx(_manual_effect(handle, task, clean, contrast, layer, [word + 1],
                                                        [word + 1]), abs=2e-3)
    lengths = ("good service and good price", "bad service")  # different lengths: last position to last position
    out = PatchOutput.model_validate(patch_prediction(handle, task, *lengths))
    clean, contrast = task.encode(lengths[0]).input_ids, task.encode(lengths[1]).input_ids
    manual = _manual_effect(handle, task, clean, contrast, 0, [len(clean) - 1], [len(contrast) - 1])
    assert out.layers[0].effect == pytest.approx(manual, abs=2e-3)
    assert hook_count(handle.model) == 0


def test_inputs_of_different_lengths_patch_only_the_prediction_position(tiny_assistant):
    result = tiny_assistant.run_tool("patch", {"id": 102, "contrast_id": 107, "layers": [1, 0, 1]})
    out = PatchOutput.model_validate(result.output)
    assert not out.aligned and out.input.n_tokens != out.contrast.n_tokens
    assert [r.layer for r in out.layers] == [0, 1]  # sorted, once each
    assert out.matrix is None and out.positions is None and out.full_patch_effect is None
    assert all(r.changed_effect is None for r in out.layers) and out.changed_tokens == []
    assert out.layers[-1].effect == pytest.approx(1.0, abs=1e-3)  # the final block's last position is the output
    assert out.input.id == 102 and out.input.gold_label == "positive" and out.contrast.id == 107
    assert any("only the last position" in note for note in result.caveats)
    assert "not the whole circuit" in result.caveats[0]  # the card's caveat comes first
    again = tiny_assistant.run_tool("patch", {"id": 102, "contrast_id": 107, "layers": [0, 1]})
    assert again.provenance.cached is False  # other arguments, other entry
    assert tiny_assistant.run_tool("patch", {"id": 102, "contrast_id": 107, "layers": [1, 0, 1]}).provenance.cached


def test_hooks_and_the_lock_are_released_after_an_error(tiny, monkeypatch):
    handle, task = tiny
    model = handle.model
    clean = task.encode(SAME_A).input_ids
    with pytest.raises(RuntimeError, match="boom"):
        with captured_residual(model) as states:
            model(input_ids=torch.tensor([clean]))
        with patched_residual(model, [(0, [1], [1]), (1, [2], [2])], states):
            assert hook_count(model) == 2
            raise RuntimeError("boom")
    assert hook_count(model) == 0 and _lock_is_free(handle)
    calls = []
    real = patch_module._forward

    def failing(handle_, input_ids, **kwargs):
        calls.append(hook_count(model))
        if len(calls) > 1:  # the contrast's run works; the first patched pass fails mid-way
            raise RuntimeError("boom in a patched pass")
        return real(handle_, input_ids, **kwargs)

    monkeypatch.setattr(patch_module, "_forward", failing)
    with pytest.raises(RuntimeError, match="boom in a patched pass"):
        patch_prediction(handle, task, SAME_A, SAME_B)
    assert calls[-1] > 0  # it failed while patching hooks were on the model
    assert hook_count(model) == 0 and _lock_is_free(handle)


@pytest.mark.parametrize("args, message", [
    ({"id": 100}, r"give a contrasting input: `contrast_id` \(a row id\) or `contrast_text`"),
    ({"id": 100, "contrast_id": 101, "contrast_text": "bad"}, "either `contrast_id` or `contrast_text`, not both"),
    ({"id": 100, "contrast_id": 100}, r"the contrast must differ from the input \(both are row 100\)"),
    ({"text": "good", "contrast_text": "good"}, "the contrast must differ from the input"),
    ({"id": 100, "contrast_text": "the food was good"}, "the same text"),  # row 100's own text
    ({"id": 100, "contrast_id": 101, "layers": [2]}, r"Layer 2 is out of range: the model has 2 layers \(0 to 1\)"),
    ({"id": 100, "contrast_id": 101, "layers": [-1]}, "Layer -1 is out of range"),
    ({"id": 100, "contrast_id": 101, "layers": []}, "give at least one layer"),
    ({"id": 100, "contrast_id": 999}, "There is no row with id 999"),
    ({"id": 100, "contrast_text": "   "}, "contrast_text: The text is empty"),
    ({"id": 100, "text": "good", "contrast_id": 101}, "either `id` or `text`, not both"),
    ({"id": 100, "contrast_id": 101, "position": 3}, "position: unknown argument"),
])
def test_bad_arguments_are_user_errors(tiny_assistant, args, message):
    with pytest.raises(InputError, match=message):
        tiny_assistant.run_tool("patch", args)


def _layer(layer, effect, p, changed=None):
    return {"layer": layer, "effect": effect, "logit_diff_effect": effect, "p_clean_label": p,
            "p_contrast_label": round(1 - p, 4), "logit_diff": 0.1, "changed_effect": changed}


def _position(i, token, contrast, differs):
    return {"position": i, "token": token, "contrast_token": contrast, "differs": differs}


ALIGNED = {
    "input": {"text": "the food was great", "id": 3, "gold_label": "positive", "prediction": "positive",
              "p_clean_label": 0.91, "p_contrast_label": 0.09, "logit_diff": 2.3136, "n_tokens": 9},
    "contrast": {"text": "the food was awful", "id": 4, "gold_label": "negative", "prediction": "negative",
                 "p_clean_label": 0.12, "p_contrast_label": 0.88, "logit_diff": -1.9924, "n_tokens": 9},
    "kind": "label", "clean_label": "positive", "contrast_label": "negative", "same_prediction": False,
    "aligned": True, "prediction_position": 8, "prediction_token": ":", "n_layers": 3,
    "layers": [_layer(0, 0.02, 0.8942, 0.97), _layer(1, 0.6, 0.436, 0.41), _layer(2, 1.0, 0.12, 0.0)],
    "best_layer": 2, "best_effect": 1.0, "carried_from": 1, "full_patch_effect": 1.0,
    "changed_tokens": [_position(3, " great", " awful", True)],
    "positions": [_position(3, " great", " awful", True), _position(8, ":", ":", False)],
    "matrix": [[0.97, 0.02], [0.35, 0.6], [0.0, 1.0]], "map_note": None,
}
UNALIGNED = {
    **ALIGNED, "aligned": False, "contrast": {**ALIGNED["contrast"], "text": "awful", "id": None, "gold_label": None,
                                              "n_tokens": 7},
    "layers": [_layer(0, 0.01, 0.9021), _layer(1, 0.3, 0.673), _layer(2, 1.0, 0.12)], "carried_from": 2,
    "full_patch_effect": None, "changed_tokens": [], "positions": None, "matrix": None,
}


def test_narration_of_aligned_inputs():
    text = Patch().narrate(PatchOutput.model_validate(ALIGNED), {})
    assert text == (
        "The difference is carried at the prediction position from layer 1 on: patching layer 1's residual stream "
        "at the prediction position (':') from review #4 into review #3 moves the prediction 60.0% of the way from "
        "review #3's to review #4's (from positive towards negative): p(positive) goes from 0.910 to 0.436 "
        "(review #4's is 0.120).\n"
        "Review #3 is predicted positive (p(positive) 0.910); review #4 negative (p(positive) 0.120).\n"
        "The largest effect is at layer 2 (100.0%), the final block (1 by construction).\n"
        "Per layer (prediction position only): 0: 2.0%, 1: 60.0%, 2: 100.0%.\n"
        "The inputs have the same number of tokens (9), so positions line up. Patching only the positions whose "
        "tokens differ ('great' -> 'awful') moves it 97.0% at layer 0 and 0.0% at layer 2; patching every position "
        "at layer 0 reproduces review #4 (100.0%), as replacing the whole residual stream must.\n"
        "One position at a time, the largest effect is at layer 0 at ' great' (97.0%); at layer 1 at ':' (60.0%); "
        "at layer 2 at ':' (100.0%).")


def test_narration_of_inputs_of_different_lengths():
    text = Patch().narrate(PatchOutput.model_validate(UNALIGNED), {})
    assert text == (
        "Only the final block carries the difference at the prediction position, and there by construction: that "
        "position's state is the whole prediction. Before it, the largest effect is at layer 1: patching layer 1's "
        "residual stream at the prediction position (':') from \"awful\" into review #3 moves the prediction 30.0% "
        "of the way from review #3's to \"awful\"'s (from positive towards negative): p(positive) goes from 0.910 to "
        "0.673 (\"awful\"'s is 0.120).\n"
        "Review #3 is predicted positive (p(positive) 0.910); \"awful\" negative (p(positive) 0.120).\n"
        "Per layer (prediction position only): 0: 1.0%, 1: 30.0%, 2: 100.0%.\n"
        "The inputs have different numbers of tokens (9 and 7), so only the last position (the prediction "
        "position) was patched.")


def test_figures_heatmap_and_line(tmp_path):
    from agent.figures import figure_for_step
    from agent.records import Step

    assert Patch.figure_name == "patching"
    for data in (ALIGNED, UNALIGNED):
        output = Patch.typed_output(data).model_dump(mode="json")
        path = figure_for_step(Step(tool="patch", args={}, status="done", output=output), tmp_path)
        assert path is not None and path.name.startswith("patching-") and path.read_bytes().startswith(b"\x89PNG")
        assert 10_000 < path.stat().st_size < 500_000


PLANNED = [
    ("which layer carries the difference between review 3 and review 4?", {"id": 3, "contrast_id": 4}),
    ("patch activations from review 10 into review 11", {"id": 11, "contrast_id": 10}),
    ("activation patching between 'the food was great' and 'the food was awful'",
     {"text": "the food was great", "contrast_text": "the food was awful"}),
    ("patch layers 3 to 6 from review 12 into review 13", {"id": 13, "contrast_id": 12, "layers": [3, 4, 5, 6]}),
    ("causal tracing between review 1 and review 8", {"id": 1, "contrast_id": 8}),
    ("patch 'the food was awful' into review 3", {"id": 3, "contrast_text": "the food was awful"}),
    ("patch review 3 into 'the food was awful'", {"text": "the food was awful", "contrast_id": 3}),
    ("where does the difference between review 2 and review 9 come from?", {"id": 2, "contrast_id": 9}),
    ("do activation patching from 'the battery died' into 'the battery lasted'",
     {"text": "the battery lasted", "contrast_text": "the battery died"}),
]


@pytest.mark.parametrize("question, args", PLANNED)
def test_the_planner_fills_both_inputs(question, args):
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan(question)
    assert [(c.tool, c.args) for c in plan.calls] == [("patch", args)] and plan.message is None


def test_the_planner_asks_without_a_referent_and_follows_up():
    from agent.plan import ConversationState
    from agent.planner import RulePlanner

    planner = RulePlanner(["negative", "positive"], short_words=8)
    plan = planner.plan("where in the model does the difference between these two sentences come from")
    assert plan.calls == [] and "Which review or text" in plan.message
    plan = planner.plan("activation patching on review 3")
    assert plan.calls == [] and "contrasting input" in plan.message
    plan = planner.plan("patch review 3 into review 4 and review 5")
    assert plan.calls == [] and "compares two inputs" in plan.message
    assert [c.tool for c in planner.plan("what is activation patching?").calls] == ["explain_concept"]
    state = ConversationState()
    for question, expected in [
        ("which layer carries the difference between review 3 and review 4?", {"id": 3, "contrast_id": 4}),
        ("and only layers 0 to 1?", {"id": 3, "contrast_id": 4, "layers": [0, 1]}),
        ("patch review 7 into it", {"id": 3, "contrast_id": 7}),
        ("now patch it into review 9", {"id": 9, "contrast_id": 3}),
    ]:
        plan = planner.plan(question, state)
        state.remember(plan)
        assert [(c.tool, c.args) for c in plan.calls] == [("patch", expected)], question


@pytest.mark.slow
def test_a_minimal_pair_on_the_default_model(real_workspace):
    """'great' vs 'awful' in the same prompt: the difference sits at the word early on and reaches the
    prediction position only in later layers."""
    handle, task = real_workspace.model, real_workspace.task
    out = PatchOutput.model_validate(patch_prediction(handle, task, "the food was great", "the food was awful"))
    assert out.aligned and out.clean_label != out.contrast_label and out.matrix is not None
    assert [p.token.strip() for p in out.changed_tokens] == ["great"]
    assert out.full_patch_effect == pytest.approx(1.0, abs=1e-3)
    assert out.layers[-1].effect == pytest.approx(1.0, abs=1e-3)
    assert out.layers[0].changed_effect > 0.8 and abs(out.layers[0].effect) < 0.2
    assert out.carried_from is not None and 0 < out.carried_from < out.n_layers - 1
    first = out.matrix[0]
    assert out.positions[first.index(max(first))].token.strip() == "great"
    assert hook_count(handle.model) == 0


@pytest.mark.parametrize("question, args", [
    ("activation patching between 50 and 51 only layers 20-25",
     {"id": 50, "contrast_id": 51, "layers": [20, 21, 22, 23, 24, 25]}),  # bare ids; the layer span is not an id
    ("where in the network does 'not good' differ from 'good'", {"text": "not good", "contrast_text": "good"}),
])
def test_the_planner_reads_bare_ids_and_a_difference_in_the_network(question, args):
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan(question)
    assert [(c.tool, c.args) for c in plan.calls] == [("patch", args)] and plan.message is None


def test_questions_about_patching_itself_go_to_explain_concept():
    from agent.planner import RulePlanner

    planner = RulePlanner(["negative", "positive"], short_words=8)
    for question in ("what does activation patching actually tell you about a model", "explain activation patching"):
        plan = planner.plan(question)
        assert [c.tool for c in plan.calls] == ["explain_concept"], question
        assert "patching" in plan.calls[0].args["topic"], question
