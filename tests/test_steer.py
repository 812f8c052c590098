"""steer: contrastive activation addition. Strength 0 is the unsteered model exactly; a steered
reading equals a second, independent addition (a pre-hook on the next module); on a model whose
label read-out is planted along the direction the target probability rises monotonically to its
analytic limit; hooks go away and the lock is released after success and after errors; bad input
fails with a clear message; narration and planning on hand-made cases."""
from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
import torch

from tools.builtin.steer import (
    NEUTRAL,
    Steer,
    SteerOutput,
    concept_direction,
    rows_direction,
    steered,
    steering,
    word_states,
)
from tools.common import dataset_states
from tools.errors import InputError
from tools.internals.capture import hook_count
from tools.models.lock import model_lock


@pytest.fixture
def ctx(tiny_assistant):
    return tiny_assistant.context


def _free(lock) -> bool:
    """Can another thread take the lock right now?"""
    got = []

    def probe():
        if lock.acquire(blocking=False):
            got.append(True)
            lock.release()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return bool(got)


def _direction(ctx, target: str, layer: int) -> np.ndarray:
    """The difference of class means, computed here from the cached pooled states."""
    states = dataset_states(ctx)[:, layer + 1, :].astype(np.float64)
    gold = np.array([r.label for r in ctx.dataset.rows])
    return states[gold == target].mean(0) - states[gold != target].mean(0)


def test_strength_zero_is_the_unsteered_prediction_exactly(tiny_assistant, ctx):
    out = tiny_assistant.run_tool("steer", {"id": 103, "target": "positive"}).output
    task, text = ctx.task, ctx.dataset.get(103).text
    probs, mass = task.predict_proba([text], batch_size=1)
    assert [p["strength"] for p in out["points"]] == [0, 1, 2, 4, 8]
    # no layer given: the layer where a probe of the labels is most selective (the probe tool's own answer)
    probe = tiny_assistant.run_tool("probe", {}).output["layers"]
    best = max(probe, key=lambda r: (r["selectivity"], r["accuracy"]))
    assert out["layers"] == 2
    if best["selectivity"] > 0:
        assert (out["layer"], out["layer_choice"], out["layer_selectivity"]) == (best["layer"], "probe",
                                                                                 best["selectivity"])
    else:
        assert (out["layer"], out["layer_choice"]) == (1, "middle")  # the middle block of two
    zero = out["points"][0]
    assert zero["probabilities"] == {label: round(float(p), 6) for label, p in zip(task.labels, probs[0])}
    assert zero["label_mass"] == round(float(mass[0]), 6) and zero["changed"] is False
    assert out["unsteered"] == task.labels[int(probs[0].argmax())]
    # a zero vector through the hook changes nothing either, bit for bit
    handle = ctx.model
    hooked, _ = steered(handle, task, text, 0, torch.zeros(handle.hidden_size))
    np.testing.assert_array_equal(hooked, probs[0])


@pytest.mark.parametrize("layer", [0, 1])
def test_steering_equals_an_independent_addition(ctx, layer):
    handle, task, text = ctx.model, ctx.task, ctx.dataset.get(100).text
    direction, n_target, n_other = rows_direction(dataset_states(ctx), [r.label for r in ctx.dataset.rows],
                                                  "negative", layer)
    np.testing.assert_allclose(direction, _direction(ctx, "negative", layer), atol=1e-12)
    assert (n_target, n_other) == (5, 5)
    vector = torch.tensor(direction, dtype=torch.float32) * 3.0
    ours, _ = steered(handle, task, text, layer, vector)
    # by hand: add the vector to the input of whatever reads block `layer`'s output
    model = handle.model
    reader = model.model.layers[layer + 1] if layer + 1 < handle.n_layers else model.model.norm

    def add(module, args, kwargs):
        hidden = args[0] if args else kwargs["hidden_states"]
        if args:
            return (hidden + vector, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": hidden + vector}

    hook = reader.register_forward_pre_hook(add, with_kwargs=True)
    try:
        theirs, _ = task.predict_proba([text], batch_size=1)
    finally:
        hook.remove()
    np.testing.assert_array_equal(ours, theirs[0])
    plain, _ = task.predict_proba([text], batch_size=1)
    assert not np.array_equal(ours, plain[0])  # the addition did something


def test_planted_read_out_rises_monotonically_to_its_limit(ctx, tiny_models, tiny_data, tmp_path):
    """lm_head rows of the label words set to +/- c * d / |d| (over the final norm's weight): adding
    s * d at the last block turns the label logit gap into 2c * sqrt(hidden) * cos(h + s d, d),
    which grows with s; at a huge strength the gap is 2c * sqrt(hidden)."""
    from transformers import LlamaForCausalLM

    from agent import Assistant
    from tools.settings import Settings

    direction = _direction(ctx, "positive", 1)
    unit = torch.tensor(direction / np.linalg.norm(direction), dtype=torch.float32)
    folder = tmp_path / "planted"
    shutil.copytree(tiny_models["causal"], folder)
    model = LlamaForCausalLM.from_pretrained(folder)
    c = 0.2
    label_ids = dict(zip(ctx.task.labels, ctx.task.label_token_ids))
    with torch.no_grad():
        for label, ids in label_ids.items():
            for token in ids:
                model.lm_head.weight[token] = (c if label == "positive" else -c) * unit / model.model.norm.weight
    model.save_pretrained(folder, safe_serialization=True)
    planted = Assistant(Settings.from_env(model=str(folder), data=str(tiny_data)), quiet=True)

    out = planted.run_tool("steer", {"id": 103, "target": "positive", "layer": 1}).output
    curve = [p["tracked_probability"] for p in out["points"]]
    assert all(b > a for a, b in zip(curve, curve[1:])), curve
    assert out["monotonic"] is True and out["points"][0]["predicted"] == "negative"
    assert out["flips_at"] == 1.0 and out["flips_to"] == "positive" and not out["already_target"]
    # the control: a random direction of the same norm moves the planted read-out far less (the tiny
    # model's 32 dimensions leave a random direction some overlap with the planted one)
    base = out["points"][0]
    assert base["random_predicted"] is None
    for point in out["points"][1:3]:
        assert abs(point["random_tracked_probability"] - base["tracked_probability"]) < 0.5 * (
            point["tracked_probability"] - base["tracked_probability"])
    assert all(p["perplexity"] > 1 for p in out["points"])
    away = planted.run_tool("steer", {"id": 100, "target": "negative", "layer": 1}).output
    curve = [p["tracked_probability"] for p in away["points"]]
    assert all(b > a for a, b in zip(curve, curve[1:])), curve
    assert away["points"][0]["predicted"] == "positive" and away["flips_to"] == "negative"

    huge = planted.run_tool("steer", {"id": 103, "target": "positive", "layer": 1, "strength": 100}).output
    gap = 2 * c * np.sqrt(ctx.model.hidden_size)
    raw = np.array([1 / (1 + np.exp(gap)), 1 / (1 + np.exp(-gap))])  # [negative, positive], label order
    calibrated = raw / planted.workspace.task.calibration
    calibrated /= calibrated.sum()
    assert huge["points"][1]["tracked_probability"] == pytest.approx(calibrated[1], abs=2e-3)


def test_hooks_go_away_and_the_lock_is_released_after_success_and_errors(tiny_assistant, ctx, monkeypatch):
    model, task = ctx.model.model, ctx.task
    lock = model_lock(model)
    with steering(model, 0, torch.ones(ctx.model.hidden_size)):
        assert hook_count(model) == 1 and not _free(lock)  # held while the hook is on
        seen = []
        other = threading.Thread(target=lambda: seen.append(model(input_ids=torch.tensor([[5, 6, 7]])).logits))
        other.start()
        other.join()  # it takes no lock, so it runs now, while the hook is on: the hook must skip it
    with torch.no_grad():
        plain = model(input_ids=torch.tensor([[5, 6, 7]])).logits
    torch.testing.assert_close(seen[0], plain, rtol=0, atol=0)
    assert hook_count(model) == 0 and _free(lock)

    with pytest.raises(RuntimeError, match="boom"):
        with steering(model, 1, torch.ones(ctx.model.hidden_size)):
            raise RuntimeError("boom")
    assert hook_count(model) == 0 and _free(lock)

    tiny_assistant.run_tool("steer", {"id": 100})
    assert hook_count(model) == 0 and _free(lock)

    real = task.predict_proba

    def failing(*args, **kwargs):
        if hook_count(model):
            raise RuntimeError("forward failed while steering")
        return real(*args, **kwargs)

    monkeypatch.setattr(task, "predict_proba", failing)
    with pytest.raises(RuntimeError, match="forward failed while steering"):
        tiny_assistant.run_tool("steer", {"id": 101, "layer": 0})
    assert hook_count(model) == 0 and _free(lock)


def test_bad_input_is_refused_with_a_clear_message(tiny_assistant):
    run = tiny_assistant.run_tool
    with pytest.raises(InputError, match=r"Layer 7 is out of range: the model has 2 layers \(0 to 1\)"):
        run("steer", {"id": 100, "layer": 7})
    with pytest.raises(InputError, match=r"Layer -1 is out of range"):
        run("steer", {"id": 100, "layer": -1})
    with pytest.raises(InputError, match=r"Unknown label 'neutral'.*Labels: negative, positive"):
        run("steer", {"id": 100, "target": "neutral"})
    with pytest.raises(InputError, match="either `target` .* or `concept`"):
        run("steer", {"id": 100, "target": "positive", "concept": "formal"})
    with pytest.raises(InputError, match="names an axis"):
        run("steer", {"id": 100, "concept": "sentiment"})
    with pytest.raises(InputError, match="strength"):
        run("steer", {"id": 100, "strength": 500})
    with pytest.raises(InputError, match="give a row `id` or a `text`"):
        run("steer", {"target": "positive"})


def test_concept_direction_is_words_minus_contrast_and_cached(tiny_assistant, ctx):
    handle = ctx.model
    out = tiny_assistant.run_tool("steer", {"text": "the food was bad", "concept": "positive", "strength": 2}).output
    d = out["direction"]
    assert d["source"] == "concept" and d["contrast"] == "opposite words" and len(d["words"]) == 8
    assert out["tracked"] == "positive" and [p["strength"] for p in out["points"]] == [0, 2]
    expected = (word_states(handle, 1, d["words"]).mean(0) - word_states(handle, 1, d["contrast_words"]).mean(0))
    assert d["norm"] == pytest.approx(float(np.linalg.norm(expected)), abs=1e-4)
    hits = ctx.cache.hits
    again = concept_direction(ctx, handle, 1, d["words"], d["contrast_words"])
    assert ctx.cache.hits == hits + 1
    np.testing.assert_allclose(again, expected, atol=1e-12)
    own = tiny_assistant.run_tool("steer", {"id": 100, "concept": "sarcasm", "strength": 4})
    assert own.output["direction"]["words"] == ["sarcasm"] and own.output["tracked"] is None
    assert own.output["direction"]["contrast_words"] == list(NEUTRAL)
    assert any("not in the built-in lexicon" in c for c in own.caveats)


def test_generation_gives_the_continuation_at_each_strength(tiny_models, tiny_data, tmp_path):
    from agent import Assistant
    from tools.settings import Settings

    assistant = Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data), task="generate"),
                          quiet=True)
    task = assistant.workspace.task
    out = assistant.run_tool("steer", {"text": "the food was", "concept": "good", "strength": 60}).output
    assert out["kind"] == "generation" and out["tracked"] is None
    assert out["unsteered"] == out["points"][0]["continuation"] == task.generate("the food was", 20).text
    assert out["points"][1]["probabilities"] is None and out["points"][1]["continuation"] is not None
    assert Steer().figure(Steer.typed_output(out), tmp_path / "g.png") is None
    rows = assistant.run_tool("steer", {"id": 100, "target": "negative", "strength": 1}).output
    assert rows["direction"]["rows_target"] == 5
    with pytest.raises(InputError, match="Name a `target` label or a `concept`"):
        assistant.run_tool("steer", {"id": 100})


def test_a_sequence_classifier_is_steered_too(tiny_models, tiny_data, tmp_path):
    from agent import Assistant
    from tools.settings import Settings

    assistant = Assistant(Settings.from_env(model=str(tiny_models["classifier"]), data=str(tiny_data)), quiet=True)
    out = assistant.run_tool("steer", {"id": 100, "target": "negative", "layer": 0}).output
    assert all(p["label_mass"] == 1.0 for p in out["points"]) and out["tracked"] == "negative"
    assert len({p["tracked_probability"] for p in out["points"]}) > 1
    path = Steer().figure(Steer.typed_output(out), tmp_path / "steer.png")
    assert path.is_file() and path.stat().st_size > 1000


@pytest.mark.slow
def test_the_default_model_is_pushed_towards_positive(real_workspace):
    """SmolLM2, review 3 (predicted negative), the middle layer: the difference of class means flips
    it at strength 1; when a strength takes most of the label words' mass away, a caveat says so."""
    from tools.context import ToolContext
    from tools.registry import run_tool

    result = run_tool(ToolContext(real_workspace), "steer", {"id": 3, "target": "positive", "layer": 15})
    out = result.output
    curve = [p["tracked_probability"] for p in out["points"]]
    assert out["layer"] == 15 and out["points"][0]["predicted"] == "negative"
    assert out["flips_at"] == 1.0 and curve[2] > curve[0] + 0.3
    assert out["direction"]["rows_target"] + out["direction"]["rows_other"] == 218
    # the caveat says so exactly when a strength drove the label words' mass under OFF_TASK of the
    # unsteered mass (with prompt v2 strength 8 kept 0.07%; prompt v3's answer prefix keeps far more)
    from tools.builtin.steer import OFF_TASK

    off_task = any(p["label_mass"] < OFF_TASK * out["points"][0]["label_mass"] for p in out["points"])
    assert any("pushed off the task" in c for c in result.caveats) == off_task
    assert hook_count(real_workspace.model.model) == 0


def _output(**changes) -> SteerOutput:
    points = [
        {"strength": 0, "probabilities": {"negative": 0.8, "positive": 0.2}, "predicted": "negative",
         "tracked_probability": 0.2, "label_mass": 0.9, "changed": False},
        {"strength": 1, "probabilities": {"negative": 0.6, "positive": 0.4}, "predicted": "negative",
         "tracked_probability": 0.4, "label_mass": 0.85, "changed": False},
        {"strength": 2, "probabilities": {"negative": 0.3, "positive": 0.7}, "predicted": "positive",
         "tracked_probability": 0.7, "label_mass": 0.8, "changed": True},
    ]
    data = {"text": "the soup was cold", "id": 5, "gold_label": "negative", "kind": "classification", "layer": 15,
            "layers": 30, "direction": {"source": "rows", "label": "positive", "rows_target": 120, "rows_other": 98,
                                        "contrast": "the other labels' rows", "norm": 3.2104, "reference_norm": 12.5,
                                        "relative_norm": 0.2568},
            "tracked": "positive", "unsteered": "negative", "points": points, "flips_at": 2.0, "flips_to": "positive",
            "already_target": False, "monotonic": True}
    data.update(changes)
    return SteerOutput.model_validate(data)


TAIL = ("\nThe direction is the mean residual state of the 120 positive rows minus that of the 98 other labelled "
        "rows (each row averaged over its own tokens); its norm is 3.21, 0.26 times this text's mean residual norm "
        "at that layer. Strength s adds s times the direction at every position. Steering shows a direction the "
        "model can be pushed along, not that the model uses it when it decides.")


def test_narration_of_a_flip_and_of_no_flip():
    tool = Steer()
    assert tool.narrate(_output(), {}) == (
        "Steering review #5 towards **positive** at layer 15: the prediction flips from negative to positive at "
        "strength 2. Probability of positive by strength: 0: 0.200 (negative); 1: 0.400 (negative); 2: 0.700 "
        "(positive)." + TAIL)
    never = _output(points=[p.model_dump() for p in _output().points[:2]], flips_at=None, flips_to=None,
                    monotonic=None)
    assert tool.narrate(never, {}) == (
        "Steering review #5 towards **positive** at layer 15: the prediction never flips to positive: at strength 1 "
        "it is still negative (probability of positive 0.400, 0.200 unsteered). Probability of positive by strength: "
        "0: 0.200 (negative); 1: 0.400 (negative)." + TAIL)


def test_narration_of_a_generation():
    points = [{"strength": 0, "continuation": " and cold", "changed": False},
              {"strength": 4, "continuation": " and lovely", "changed": True}]
    out = _output(kind="generation", id=None, gold_label=None, tracked=None, unsteered=" and cold", points=points,
                  flips_at=4.0, flips_to=None, monotonic=None,
                  direction={"source": "concept", "concept": "positive", "words": ["good", "great"],
                             "contrast_words": ["bad", "awful"], "contrast": "opposite words", "norm": 1.5,
                             "reference_norm": 3.0, "relative_norm": 0.5})
    assert Steer().narrate(out, {}) == (
        "Steering \"the soup was cold\" towards the concept 'positive' at layer 15: the continuation first changes "
        "at strength 4. Continuations: 0: \"and cold\"; 4: \"and lovely\".\nThe direction is the residual state of "
        "2 word(s) for 'positive' minus 2 opposite words, read in 3 template sentences; its norm is 1.5, 0.50 times "
        "this text's mean residual norm at that layer. Strength s adds s times the direction at every position. "
        "Steering shows a direction the model can be pushed along, not that the model uses it when it decides.")


def test_caveats_name_a_thin_direction_an_off_task_push_and_a_huge_vector():
    out = _output().model_dump()
    out["direction"].update(rows_target=3, relative_norm=0.6)
    out["points"][2]["label_mass"] = 0.05
    assert Steer().caveats(None, None, out) == [
        "The direction rests on only 3 rows of positive and 98 other rows; it is noisy.",
        "At strength 2 the label words get only 5.0% of the next-token probability (90.0% unsteered): the model is "
        "pushed off the task, and the label probabilities there are renormalised from very little mass.",
        "At strength 2 the added vector is longer than the text's own residual states; effects that large say "
        "little about the model's ordinary behaviour."]
    assert Steer().caveats(None, None, _output().model_dump()) == []
    out = _output().model_dump()
    out["points"][1].update(random_predicted=out["tracked"], random_tracked_probability=0.7)
    assert Steer().caveats(None, None, out) == [
        f"A random direction of the same norm also gives {out['tracked']} at strength 1: the flip is not specific "
        "to the steering direction."]


@pytest.mark.parametrize("question, args", [
    ("can you push review 5 towards positive?", {"id": 5, "target": "positive"}),
    ("make the model more positive on 'the food was cold'", {"text": "the food was cold", "target": "positive"}),
    ("add a sentiment steering vector to review 3", {"id": 3}),
    ("what happens if I steer review 8 with strength 4", {"id": 8, "strength": 4.0}),
    ("steer review 12 towards negative at layer 10", {"id": 12, "layer": 10, "target": "negative"}),
    ("nudge the model towards negative on review 4", {"id": 4, "target": "negative"}),
    ("apply a steering vector towards sarcasm to review 9", {"id": 9, "concept": "sarcasm"}),
    ("steer review 2 with a formality direction", {"id": 2, "concept": "formality"}),
    ("push the activations of review 7 towards negative at layer 5", {"id": 7, "layer": 5, "target": "negative"}),
    ("steer 'the movie was long' towards positive with strength 2.5",
     {"text": "the movie was long", "strength": 2.5, "target": "positive"}),
])
def test_planner_wordings(question, args):
    from agent.planner import RulePlanner

    plan = RulePlanner(["negative", "positive"], short_words=8).plan(question)
    assert [(c.tool, c.args) for c in plan.calls] == [("steer", args)]


def test_planner_follow_ups_and_questions_that_stay_with_other_tools():
    from agent.plan import ConversationState
    from agent.planner import RulePlanner

    planner, state = RulePlanner(["negative", "positive"], short_words=8), ConversationState()
    for question, calls in [
        ("what does the model predict for review 4?", [("predict", {"id": 4})]),
        ("steer it towards negative at layer 10", [("steer", {"id": 4, "layer": 10, "target": "negative"})]),
        ("and with strength 8?", [("steer", {"id": 4, "layer": 10, "target": "negative", "strength": 8.0})]),
    ]:
        plan = planner.plan(question, state)
        assert [(c.tool, c.args) for c in plan.calls] == calls, question
        state.remember(plan)
    for question, tool in [("make review 5 positive", "counterfactual"),
                           ("what would make review 2 positive?", "counterfactual"),
                           ("which words push review 5 towards positive?", "attribute"),
                           ("what is steering?", "explain_concept"),
                           ("how does activation steering work?", "explain_concept")]:
        assert [c.tool for c in planner.plan(question, ConversationState()).calls] == [tool], question


def test_planner_reads_a_quoted_concept_and_sends_method_questions_to_explain_concept():
    """Issue 19: 'with the concept X' names the concept; questions about steering itself are concepts."""
    from agent.planner import RulePlanner

    planner = RulePlanner(["negative", "positive"], short_words=8)
    plan = planner.plan("steer review 80 with the concept 'sarcasm'")
    assert [(c.tool, c.args) for c in plan.calls] == [("steer", {"id": 80, "concept": "sarcasm"})]
    plan = planner.plan("steer review 5 towards the concept of formality")
    assert [(c.tool, c.args) for c in plan.calls] == [("steer", {"id": 5, "concept": "formality"})]
    for question in ("how does steering work", "what is activation addition?"):
        plan = planner.plan(question)
        assert [c.tool for c in plan.calls] == ["explain_concept"], question
        assert "steering" in plan.calls[0].args["topic"], question


def test_narration_names_the_random_control_and_the_perplexity_at_the_flip():
    out = _output().model_dump()
    out["points"][0]["perplexity"] = 40.0
    out["points"][1].update(random_predicted="negative", random_tracked_probability=0.21, perplexity=41.0)
    out["points"][2].update(random_predicted="negative", random_tracked_probability=0.22, perplexity=95.0)
    text = Steer().narrate(SteerOutput.model_validate(out), {})
    assert ("Control: a random direction of the same norm at strength 2 gives negative (probability of positive "
            "0.220). The text's perplexity goes from 40 unsteered to 95 at strength 2 (the push is breaking the "
            "model, not only moving it).") in text
