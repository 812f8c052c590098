"""Top neurons for one input: the most active MLP neurons at the position that makes the
prediction, and the neurons contributing most to the prediction, by activation x gradient of the
same target `attribute` explains (summed over positions; Dai et al. 2022 use the integrated form)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from tools.attribution.engine import Request, build_input
from tools.attribution.scorers import make_scorer
from tools.errors import InputError
from tools.internals.capture import captured_neurons


def neuron_scores(handle, task, text: str) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """[L, N] activation at the read position and [L, N] activation x gradient, plus the target."""
    inp, info = build_input(handle, task, text, Request())
    inp = replace(inp, prefix_len=0)  # the whole sequence varies: neurons at every position count
    scorer = make_scorer(handle, task, inp)
    embeds = scorer.variable_embeds()[None].requires_grad_(True)
    with torch.enable_grad(), captured_neurons(handle.model, keep_grad=True) as acts:
        score = scorer.score_embeds(embeds)[0].sum()
        score.backward()
        handle.model.zero_grad(set_to_none=True)  # shared model state: under the capture's lock
    read = len(inp.ids) - 1 if inp.target.kind == "label" else inp.n_prompt - 1
    active = torch.stack([a[0, read] for a in acts]).detach()
    contribution = torch.stack([(a[0] * a.grad[0]).sum(0) for a in acts]).detach()
    answer = {k: v for k, v in info.items() if k in ("answer",)}
    target = {"kind": inp.target.kind, "label": inp.target.label, **answer}
    return active, contribution, {"target": target, "score": float(score.detach()), "read_position": read}


def top_neurons(handle, task, text: str, k: int = 10, layer: int | None = None,
                describe=None) -> dict[str, Any]:
    n_layers = handle.n_layers
    if layer is not None and not 0 <= layer < n_layers:  # checked before the forward and backward pass
        raise InputError(f"Layer {layer} is out of range: the model has {n_layers} layers (0 to {n_layers - 1}).")
    active, contribution, meta = neuron_scores(handle, task, text)
    n_neurons = active.shape[1]
    layers = [layer] if layer is not None else list(range(n_layers))

    def ranked(values: torch.Tensor, by_abs: bool) -> list[dict[str, Any]]:
        sub = values[layers]
        keys = sub.abs() if by_abs else sub
        flat = keys.flatten().topk(min(k, keys.numel())).indices
        out = []
        for index in flat.tolist():
            li, ni = divmod(index, n_neurons)
            item = {"layer": layers[li], "neuron": ni, "activation": round(float(active[layers[li], ni]), 4),
                    "contribution": round(float(contribution[layers[li], ni]), 4)}
            if describe:
                item["description"] = describe(layers[li], ni)
            out.append(item)
        return out

    return {**meta, "layers": n_layers, "neurons_per_layer": n_neurons, "layer": layer,
            "most_active": ranked(active, by_abs=False), "most_responsible": ranked(contribution, by_abs=True),
            "total_contribution": round(float(contribution[layers].sum()), 4)}
