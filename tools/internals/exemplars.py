"""Exemplar mining for neuron descriptions: one pass of the corpus through the model.

Documents are split into explain / validation / test parts by a hash of their id BEFORE any
selection, so the exemplars an explanation is written from and the ones it is scored on never
come from the same document. The mining pass keeps, for every neuron of every layer, each
document's maximum and minimum activation (pad positions excluded), 2 x docs x layers x neurons
float16 values cached per (model hash, corpus hash). Per-token activations are recomputed later
for the handful of documents an explanation needs, for one layer only.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from tools.internals.capture import captured_neurons
from tools.progress import bar

PARTS = ("explain", "validation", "test")
FRACTIONS = (0.5, 0.2)  # explain, validation; the rest is test


def document_parts(doc_ids: Sequence[int], seed: int = 0) -> np.ndarray:
    """0 = explain, 1 = validation, 2 = test for each document, from a hash of its id alone, so a
    document keeps its part whatever else is in the corpus."""
    out = np.empty(len(doc_ids), dtype=np.int8)
    for i, doc_id in enumerate(doc_ids):
        u = int(hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        out[i] = 0 if u < FRACTIONS[0] else (1 if u < FRACTIONS[0] + FRACTIONS[1] else 2)
    return out


def _batches(tokenizer, texts: Sequence[str], batch_size: int, max_tokens: int):
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start:start + batch_size])
        encoded = [tokenizer(t, add_special_tokens=False)["input_ids"][:max_tokens] or [0] for t in chunk]
        width = max(len(ids) for ids in encoded)
        ids = torch.zeros((len(encoded), width), dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, seq in enumerate(encoded):
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
        yield ids, mask


@dataclass
class MiningResult:
    """Per document, layer and neuron: the max and min activation over the document's tokens."""
    maxima: np.ndarray  # [docs, layers, neurons] float16
    minima: np.ndarray
    tokens: int  # tokens read

    def to_array(self) -> np.ndarray:
        return np.stack([self.maxima, self.minima])

    @classmethod
    def from_array(cls, array: np.ndarray, tokens: int = 0) -> "MiningResult":
        return cls(array[0], array[1], tokens)


def mine(model: torch.nn.Module, tokenizer, texts: Sequence[str], batch_size: int = 16, max_tokens: int = 128,
         quiet: bool = True) -> MiningResult:
    """One batched forward pass over the corpus, all neurons of all layers captured at once and
    reduced to per-document max / min inside the pass (right padding is masked out)."""
    maxima, minima, tokens = [], [], 0
    progress = bar(len(texts), "mining neuron exemplars", quiet)
    with torch.no_grad(), captured_neurons(model) as store:
        for ids, mask in _batches(tokenizer, texts, batch_size, max_tokens):
            store.clear()
            model(input_ids=ids, attention_mask=mask)
            pad = ~mask.bool()[:, :, None]
            highs = [a.masked_fill(pad.to(a.device), float("-inf")).amax(1).cpu() for a in store]  # layers may
            lows = [a.masked_fill(pad.to(a.device), float("inf")).amin(1).cpu() for a in store]  # sit on 2 GPUs
            maxima.append(torch.stack(highs, 1).half().cpu().numpy())
            minima.append(torch.stack(lows, 1).half().cpu().numpy())
            tokens += int(mask.sum())
            progress.update(len(ids))
    progress.close()
    return MiningResult(np.concatenate(maxima), np.concatenate(minima), tokens)


def layer_activations(model: torch.nn.Module, tokenizer, texts: Sequence[str], layer: int, batch_size: int = 16,
                      max_tokens: int = 128) -> list[tuple[list[str], np.ndarray]]:
    """(tokens, [tokens, neurons] activations of one layer) for a few documents, in right-padded
    batches: what exemplars show and are scored on. Any neuron of the layer is then a column."""
    out = []
    done = 0
    with torch.no_grad(), captured_neurons(model) as store:
        for ids, mask in _batches(tokenizer, texts, batch_size, max_tokens):
            store.clear()
            model(input_ids=ids, attention_mask=mask)
            acts = store[layer].float().cpu().numpy()
            for row in range(len(ids)):
                n = int(mask[row].sum())
                out.append((token_pieces(tokenizer, texts[done + row], ids[row, :n].tolist()), acts[row, :n]))
            done += len(ids)
    return out


def token_pieces(tokenizer, text: str, ids: Sequence[int]) -> list[str]:
    """Each token's own stretch of `text` with the whitespace before it, so the pieces joined give
    the text back: a WordPiece tokenizer's pieces ('need', '##s') decoded one by one lose the
    spaces between words, and an exemplar read "needsisafortyminutecarchase." (issue 18). A
    tokenizer without offsets (a slow one) falls back to decoding each id alone."""
    if getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"][:len(ids)]
        if list(encoded["input_ids"][:len(ids)]) == list(ids):
            pieces, end = [], 0
            for start, stop in offsets:
                pieces.append(text[end:max(stop, end)] if stop > start else "")
                end = max(end, stop)
            return pieces
    return [tokenizer.decode([i]) for i in ids]
