"""Training-data influence, TracIn-style (Pruthi et al., 2020) with one checkpoint, on the last
block's MLP output projection W.

The prediction is read at one position, and in the last block the MLP at a position affects only
that position's output, so the loss gradient for W is rank one: g = delta (x) a, with `a` the
projection's input and `delta` the loss gradient at its output, both at the read position. The
TracIn score of a training row on a test input, g_test . g_row, is then exactly
(delta_test . delta_row) * (a_test . a_row): two small vectors per row instead of a |W|-sized
gradient, cached per (model, task, data with its labels).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from tools.attribution.engine import Request, build_input
from tools.attribution.scorers import make_scorer
from tools.errors import ToolUnavailable
from tools.internals.capture import captured_input_and_output_grad
from tools.models.architecture import mlp_output_projections
from tools.progress import bar


def gradient_factors(handle, task, texts: Sequence[str], labels: Sequence[str], quiet: bool = True) -> np.ndarray:
    """[n, d_out + d_in]: concat(delta, a) per row (d_out is the hidden size), for
    the loss -log p(label | text) (labels renormalised over the label set)."""
    projections = mlp_output_projections(handle.model)
    if not projections:
        raise ToolUnavailable("whybox does not know where this architecture keeps its MLP layers.")
    last = projections[-1]
    rows = []
    progress = bar(len(texts), "per-row gradients for influence", quiet)
    for text, label in zip(texts, labels):
        inp, _ = build_input(handle, task, text, Request(label=label, with_faithfulness=False))
        scorer = make_scorer(handle, task, inp)
        embeds = scorer.variable_embeds()[None].requires_grad_(True)
        with torch.enable_grad(), captured_input_and_output_grad(last) as store:
            loss = -scorer.score_embeds(embeds)[0, 0]
            loss.backward()
            handle.model.zero_grad(set_to_none=True)  # shared model state: under the capture's lock
        rows.append(torch.cat([store["grad"][0, -1], store["input"][0, -1]]).float().cpu().numpy())
        progress.update(1)
    progress.close()
    return np.stack(rows)


def tracin_scores(test: np.ndarray, rows: np.ndarray, d_out: int) -> np.ndarray:
    """g_test . g_row for every row, from the (delta, a) factors."""
    return (rows[:, :d_out] @ test[:d_out]) * (rows[:, d_out:] @ test[d_out:])
