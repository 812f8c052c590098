"""The internals tools narrate and draw their own typed outputs (logit_lens, top_neurons, probe,
explain_neuron): exact narration on outputs built by hand, figures written once per result."""
from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from tools.builtin.explain_neuron import ExplainNeuron, ExplainNeuronOutput
from tools.builtin.logit_lens import LogitLens, LogitLensOutput
from tools.builtin.probe import Probe, ProbeOutput
from tools.builtin.top_neurons import TopNeurons, TopNeuronsOutput

LENS = {
    "text": "the food was", "id": 3, "gold_label": "positive", "prompt": "the sentiment prompt", "position": 4,
    "position_token": " was", "n_tokens": 5, "answer": " good", "answer_id": 7, "first_layer_top1": 1,
    "final_matches_model": True,
    "layers": [
        {"layer": -1, "name": "embeddings", "top": [{"token": " the", "id": 4, "p": 0.2}], "answer_p": 0.01,
         "answer_rank": 9, "kl_to_final": 3.5},
        {"layer": 0, "name": "block 0", "top": [{"token": " bad", "id": 8, "p": 0.3}], "answer_p": 0.2,
         "answer_rank": 2, "kl_to_final": 1.25, "watched": {"positive": 0.2, "negative": 0.3}},
        {"layer": 1, "name": "block 1", "top": [{"token": " good", "id": 7, "p": 0.6}], "answer_p": 0.6,
         "answer_rank": 1, "kl_to_final": 0.0},
    ],
}
DESCRIBED = {"layer": 1, "neuron": 3, "activation": 1.234, "contribution": 0.05,
             "description": "fires on 'good' (held-out detection 0.8)"}
UNKNOWN = {"layer": 0, "neuron": 9, "activation": 0.5, "contribution": -0.2, "description": None}
NEURONS = {
    "text": "the food was good", "target": {"kind": "label", "label": "positive"}, "score": -0.4,
    "read_position": 6, "layers": 2, "neurons_per_layer": 64, "layer": None,
    "most_active": [DESCRIBED, UNKNOWN], "most_responsible": [UNKNOWN, DESCRIBED], "total_contribution": -0.15,
}
ROW = {"layer": 0, "name": "block 0", "accuracy": 0.8, "ci95": [0.6, 0.9], "control_accuracy": 0.5,
       "selectivity": 0.3, "c": 1.0, "val_accuracy": 0.75, "codelength_bits": 12.5, "compression": 1.6}
PROBE = {
    "concept": "labels", "labels_mean": "the dataset's gold labels",
    "embeddings": {**ROW, "layer": -1, "name": "embeddings", "accuracy": 0.6, "ci95": [0.4, 0.75]},
    "classes": ["negative", "positive"], "rows_total": 40, "split": [24, 8, 8], "majority_baseline": 0.5,
    "majority_label": "negative",
    "layers": [ROW, {**ROW, "layer": 1, "name": "block 1", "accuracy": 0.7, "ci95": [0.45, 0.85],
                     "compression": None}],
    "best_layer": 0, "seed": 0,
}
EXPLAIN = {
    "layer": 1, "neuron": 3, "description": {"positive": "Fires on 'good'.", "negative": "Negative on 'bad'."},
    "explainer": "deterministic pattern explainer", "rule": {"categories": [], "tokens": ["good"]},
    "scores": {"baseline": "description", "simulation": 0.61, "simulation_ci95": [0.4, 0.78], "detection": 0.85,
               "detection_ci95": [0.7, 0.95]},
    "baselines": [
        {"baseline": "another neuron's description", "neuron": 7, "description": "Fires on 'the'.",
         "simulation": 0.1, "simulation_ci95": [-0.1, 0.3], "detection": 0.5, "detection_ci95": [0.4, 0.6]},
        {"baseline": "token look-up table", "simulation": 0.7, "simulation_ci95": [0.5, 0.8], "detection": 0.9,
         "detection_ci95": [0.8, 1.0]},
        {"baseline": "random description", "simulation": 0.0, "detection": 0.5, "draws": 0},
    ],
    "beats": {"another neuron's description": True, "token look-up table": False, "random description": True},
    "exemplars": [{"doc": 4, "tokens": ["the", " food", " was", " good"], "activations": [0.1, 0.2, 0.3, 2.5]}],
    "negative_exemplars": [{"doc": 2, "tokens": [" bad"], "activations": [-1.5]}],
    "test_windows": {"top": 12, "random": 12}, "split_documents": {"explain": 40, "validation": 30, "test": 30},
    "seed": 0, "corpus": {"documents": 100, "files": ["extra.txt"]},
}


def test_logit_lens_narration():
    output = LogitLensOutput.model_validate(LENS)
    assert LogitLens().narrate(output, {}) == (
        "On review #3 (the sentiment prompt, position 4 ' was') the model's next token is ' good' (p 0.600). "
        "It first becomes the top token at layer 1 (0-based, of 2 blocks).\n"
        "Layer by layer: layer -1: ' the' (answer p 0.010, KL 3.50); layer 0: ' bad' (answer p 0.200, KL 1.25); "
        "layer 1: ' good' (answer p 0.600, KL 0.00).")
    text_only = {k: v for k, v in LENS.items() if k not in ("id", "gold_label")} | {"first_layer_top1": None}
    narration = LogitLens().narrate(LogitLensOutput.model_validate(text_only), {})
    assert narration.startswith("On \"the food was\" (the sentiment prompt,")
    assert " No layer ranks it first.\n" in narration


def test_top_neurons_narration():
    output = TopNeuronsOutput.model_validate(NEURONS)
    assert TopNeurons().narrate(output, {}) == (
        "For \"the food was good\" (all 2 layers, 64 neurons each), the most active neurons at the prediction are "
        "L1/N3 (1.23), L0/N9 (0.50). The neurons contributing most to positive (activation x gradient, summed over "
        "positions) are L0/N9 (-0.200), L1/N3 (+0.050); positive pushes towards positive.\n"
        "L1/N3: fires on 'good' (held-out detection 0.8)")
    answer = NEURONS | {"id": 5, "layer": 1, "target": {"kind": "tokens", "answer": " yes"}}
    narration = TopNeurons().narrate(TopNeuronsOutput.model_validate(answer), {})
    assert narration.startswith("For review #5 (layer 1, 64 neurons each)")
    assert "contributing most to its answer" in narration


def test_probe_narration():
    output = ProbeOutput.model_validate(PROBE)
    assert Probe().narrate(output, {}) == (
        "Probing for the dataset's gold labels (2 classes, 24/8/8 train/validation/test rows): the best layer is 0 "
        "(block 0) with test accuracy 0.800 (95% CI 0.600-0.900) against a majority baseline of 0.500; on shuffled "
        "labels the same probe scores 0.500 (selectivity 0.300). The raw embeddings reach 0.600.\n"
        "Per layer (accuracy / control / MDL compression): 0: 0.800 / 0.500 / 1.6; 1: 0.700 / 0.500 / None.")
    weak = copy.deepcopy(PROBE)
    weak["layers"] = [{**ROW, "ci95": [0.45, 0.9]}]
    narration = Probe().narrate(ProbeOutput.model_validate(weak), {})
    assert narration.endswith(
        "(selectivity 0.300). The raw embeddings reach 0.600.\nThe interval includes the majority baseline, so "
        "this is not clear evidence that the layer encodes it.")
    assert "not clearly, layer 0 (block 0) encodes it linearly" in narration  # one layer asked: no "best" of one
    one = copy.deepcopy(PROBE)
    one["layers"] = [ROW]
    assert "rows): yes, layer 0 (block 0) encodes it linearly with test accuracy 0.800" in Probe().narrate(
        ProbeOutput.model_validate(one), {})


def test_explain_neuron_narration():
    output = ExplainNeuronOutput.model_validate(EXPLAIN)
    assert ExplainNeuron().narrate(output, {}) == (
        "Neuron 3 in layer 1: a partial reading (it beats only another neuron's description, random description): "
        "fires on 'good'. Negative on 'bad'.\n"
        "Written by the deterministic pattern explainer.\n"
        "Held-out test (12 top and 12 random windows from documents never used to write it): simulation "
        "correlation 0.61 (95% CI 0.4 to 0.78), detection balanced accuracy 0.85 (95% CI 0.7 to 0.95).\n"
        "Baselines on the same windows:\n"
        "- another neuron's description: simulation 0.1, detection 0.5\n"
        "- token look-up table: simulation 0.7, detection 0.9\n"
        "- random description: simulation 0.0, detection 0.5\n"
        "Verdict: the description beats only another neuron's description, random description; read it as a "
        "partial account.\n"
        "Strongest exemplar: \"the food was good\" (peak 2.5 on 'good').")
    lost = EXPLAIN | {"beats": {name: False for name in EXPLAIN["beats"]}, "exemplars": []}
    assert ExplainNeuron().narrate(ExplainNeuronOutput.model_validate(lost), {}).endswith(
        "\nVerdict: the description does not beat the baselines; this neuron is not explained.")
    assert ExplainNeuron().narrate(ExplainNeuronOutput.model_validate(lost), {}).startswith(
        "Neuron 3 in layer 1: no reliable description (it beats none of the baselines). Best guess, not supported by "
        "the test: fires on 'good'.")
    won = EXPLAIN | {"beats": {name: True for name in EXPLAIN["beats"]}}
    narration = ExplainNeuron().narrate(ExplainNeuronOutput.model_validate(won), {})
    assert "\nVerdict: the description beats every baseline.\n" in narration
    assert narration.startswith("Neuron 3 in layer 1: Fires on 'good'. Negative on 'bad'.")
    # what a newcomer saw on neuron 14/811: a confident headline over a detection at chance
    chance = won | {"scores": {**EXPLAIN["scores"], "detection": 0.5, "detection_ci95": [0.4, 0.6042]}}
    assert ExplainNeuron().narrate(ExplainNeuronOutput.model_validate(chance), {}).startswith(
        "Neuron 3 in layer 1: no reliable description (held-out detection 0.5, its 95% CI reaching chance, 0.5). "
        "Best guess, not supported by the test: fires on 'good'.")


def test_the_narrator_dispatches_to_the_tools():
    from agent.narrator import narrate_output

    for tool, cls, data in (("logit_lens", LogitLensOutput, LENS), ("top_neurons", TopNeuronsOutput, NEURONS),
                            ("probe", ProbeOutput, PROBE), ("explain_neuron", ExplainNeuronOutput, EXPLAIN)):
        dumped = cls.model_validate(data).model_dump(mode="json")  # as cached: optional keys present as null
        assert narrate_output(tool, dumped, {}) == narrate_output(tool, data, {})


def test_outputs_reject_missing_and_unknown_keys():
    with pytest.raises(ValidationError):
        ProbeOutput.model_validate({k: v for k, v in PROBE.items() if k != "best_layer"})
    with pytest.raises(ValidationError):
        LogitLensOutput.model_validate({**LENS, "extra": 1})
    with pytest.raises(ValidationError):
        TopNeuronsOutput.model_validate({**NEURONS, "most_active": [{**UNKNOWN, "gradient": 1.0}]})


@pytest.mark.parametrize("tool, prefix, data", [("logit_lens", "logit-lens", LENS), ("probe", "probe", PROBE)])
def test_figures_are_written_once_per_result(tmp_path, tool, prefix, data):
    from agent.figures import figure_for_step
    from agent.records import Step
    from tools.registry import get_tool

    cls = get_tool(tool)
    assert cls.figure_name == prefix
    output = cls.typed_output(data).model_dump(mode="json")
    step = Step(tool=tool, args={}, status="done", output=output)
    path = figure_for_step(step, tmp_path)
    assert path is not None and path.name.startswith(f"{prefix}-") and path.suffix == ".png"
    assert path.read_bytes().startswith(b"\x89PNG") and 10_000 < path.stat().st_size < 500_000
    mtime = path.stat().st_mtime_ns
    assert figure_for_step(Step(tool=tool, args={}, status="done", output=copy.deepcopy(output)), tmp_path) == path
    assert path.stat().st_mtime_ns == mtime  # reused, not redrawn
    direct = cls().figure(cls.typed_output(data), tmp_path / "direct.png")
    assert direct.read_bytes().startswith(b"\x89PNG")


def test_top_neurons_and_explain_neuron_draw_nothing(tmp_path):
    assert TopNeurons.figure_name is None and ExplainNeuron.figure_name is None
    assert TopNeurons().figure(TopNeuronsOutput.model_validate(NEURONS), tmp_path / "x.png") is None
