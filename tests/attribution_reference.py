"""Reference attributions computed with Captum on the plain model forward (whole sequence, no KV
cache, full logits): what a user of Captum would write. Tests and the speed benchmark compare
whybox's implementation against these."""
from __future__ import annotations

import numpy as np
import torch

from tools.attribution.inputs import AttributionInput


def label_forward(handle, task, inp: AttributionInput):
    """f(inputs_embeds [B, N, H]) -> [B]: the calibrated log-probability of the target label."""
    labels = list(task.labels)
    label = labels.index(inp.target.label)
    bias = torch.log(torch.tensor(task.calibration, dtype=torch.float32)) if getattr(task, "calibrate", False) else 0.0

    def forward(embeds: torch.Tensor) -> torch.Tensor:
        logits = handle.model(inputs_embeds=embeds,
                              attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long)).logits
        log_probs = torch.log_softmax(logits[:, -1].float(), dim=-1)
        per_label = torch.stack([torch.logsumexp(log_probs[:, ids], -1) for ids in task.label_token_ids], -1)
        return torch.log_softmax(per_label - bias, -1)[:, label]

    return forward


def answer_forward(handle, inp: AttributionInput):
    """f(inputs_embeds) -> [B]: log-probability of the whole teacher-forced answer."""
    answer = torch.tensor(inp.target.answer_ids)
    n = len(answer)

    def forward(embeds: torch.Tensor) -> torch.Tensor:
        logits = handle.model(inputs_embeds=embeds,
                              attention_mask=torch.ones(embeds.shape[:2], dtype=torch.long)).logits
        log_probs = torch.log_softmax(logits[:, -n - 1:-1].float(), dim=-1)
        return log_probs[:, torch.arange(n), answer].sum(-1)

    return forward


def full_embeds(handle, inp: AttributionInput) -> torch.Tensor:
    with torch.no_grad():
        return handle.model.get_input_embeddings()(torch.tensor([inp.ids]))


def ig_baseline(handle, inp: AttributionInput) -> torch.Tensor:
    base = full_embeds(handle, inp).clone()
    vector = handle.model.get_input_embeddings()(torch.tensor([inp.baseline_id]))[0].detach()
    for p in inp.content_positions:
        base[0, p] = vector
    return base


def variable_part(values: torch.Tensor, inp: AttributionInput) -> np.ndarray:
    """Captum's [1, N, H] attributions -> per-token sums over the variable part."""
    return values[0].sum(-1)[inp.prefix_len:].detach().double().numpy()


def content_splice_forward(forward_embeds, handle, inp: AttributionInput):
    """f(content ids [B, C]) -> [B]: Captum perturbs only the content tokens; they are spliced
    back into the full ids (template untouched)."""
    positions = torch.tensor(inp.content_positions)
    embedding = handle.model.get_input_embeddings()

    def forward(content_ids: torch.Tensor) -> torch.Tensor:
        ids = torch.tensor([inp.ids]).repeat(content_ids.shape[0], 1)
        ids[:, positions] = content_ids
        with torch.no_grad():
            return forward_embeds(embedding(ids))

    return forward


def word_mask(inp: AttributionInput) -> torch.Tensor:
    """Captum feature mask over the content tokens: each token's word index (words as features)."""
    owner = {t: w for w, word in enumerate(inp.words) for t in word.tokens}
    return torch.tensor([[owner.get(p, len(inp.words)) for p in inp.content_positions]])


def pearson(a, b) -> float:
    a, b = np.ravel(np.asarray(a, dtype=float)), np.ravel(np.asarray(b, dtype=float))
    return float(np.corrcoef(a, b)[0, 1])
