"""Logit lens (nostalgebraist 2020): each layer's residual stream read through the model's final
norm and unembedding, at one position. For the last block this reproduces the model's logits
exactly (a test checks it)."""
from __future__ import annotations

from typing import Any

import torch

from tools.errors import InputError, ToolUnavailable
from tools.internals.capture import captured_residual
from tools.models.architecture import final_norm


def _check_states(states: list[torch.Tensor], n_layers: int, n_tokens: int) -> None:
    """One [1, tokens, H] state per layer and the embeddings, else our bug (design.md habit 15:
    results are shape-checked before they are cached)."""
    shapes = [tuple(s.shape[:2]) for s in states]
    if len(states) != n_layers + 1 or any(shape != (1, n_tokens) for shape in shapes):
        raise RuntimeError(f"The logit lens captured {len(states)} states of shapes {shapes}; expected "
                           f"{n_layers + 1} of [1, {n_tokens}, hidden].")


def logit_lens(handle, ids: list[int], position: int | None = None, top: int = 5,
               watch: dict[str, list[int]] | None = None) -> dict[str, Any]:
    """Per layer (-1 = embeddings, i = the output of block i): top tokens, the probability and rank
    of the model's final next token, KL(final || layer), and the probability of each watched token
    set (e.g. label words)."""
    model = handle.model
    if handle.kind == "sequence_classifier" or model.get_output_embeddings() is None:
        raise ToolUnavailable("The logit lens needs a language-model head; this model is a sequence classifier.")
    norm = final_norm(model)
    if norm is None:
        raise ToolUnavailable("whybox does not know where this architecture keeps its final normalisation.")
    n = len(ids)
    pos = n - 1 if position is None else position
    if not -n <= pos < n:
        raise InputError(f"Position {position} is out of range: the input has {n} tokens "
                         f"(0 to {n - 1}, or -1 for the last).")
    pos %= n
    with torch.no_grad(), captured_residual(model) as states:
        final_logits = model(input_ids=torch.tensor([ids])).logits[0, pos].float()
        _check_states(states, handle.n_layers, n)
        stacked = torch.stack([s[0, pos] for s in states])  # [layers+1, H]
        logits = model.get_output_embeddings()(norm(stacked)).float()
    log_probs = torch.log_softmax(logits, -1)
    final_log_probs = torch.log_softmax(final_logits, -1)
    answer = int(final_log_probs.argmax())
    kl = (final_log_probs.exp() * (final_log_probs - log_probs)).sum(-1)
    decode = handle.tokenizer.decode
    layers = []
    for i in range(len(states)):
        top_p, top_i = log_probs[i].exp().topk(top)
        row = {
            "layer": i - 1, "name": "embeddings" if i == 0 else f"block {i - 1}",
            "top": [{"token": decode([int(t)]), "id": int(t), "p": round(float(p), 4)} for p, t in zip(top_p, top_i)],
            "answer_p": round(float(log_probs[i, answer].exp()), 4),
            "answer_rank": int((log_probs[i] > log_probs[i, answer]).sum()) + 1,
            "kl_to_final": round(float(kl[i]), 4),
        }
        if watch:
            row["watched"] = {name: round(float(torch.logsumexp(log_probs[i, t], -1).exp()), 4)
                              for name, t in watch.items()}
        layers.append(row)
    first = next((row["layer"] for row in layers if row["answer_rank"] == 1), None)
    return {
        "position": pos, "position_token": decode([ids[pos]]), "n_tokens": n,
        "answer": decode([answer]), "answer_id": answer, "first_layer_top1": first,
        "final_matches_model": layers[-1]["top"][0]["id"] == answer, "layers": layers,
    }
