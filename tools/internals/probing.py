"""Layer-wise linear probes (Alain & Bengio 2017) with the controls that make them mean something:
a majority baseline, a control task with shuffled labels and its selectivity (Hewitt & Liang
2019), a Wilson interval on test accuracy, and the MDL online codelength (Voita & Titov 2020).

Representations: the residual stream after the embeddings (always reported, as a baseline) and
after every block (layer i = the output of block i, 0-based like everywhere in whybox), mean-pooled over
the user's own tokens of the task's prompt (template tokens excluded). They are computed in one
pass over the data with progress and cached on disk by (model hash, task, texts), so a second
probe question answers in seconds. The split into train / validation / test is stratified and
fixed by the seed; the regularisation strength is chosen on validation (log-loss), never on test.
"""
from __future__ import annotations

import io
import math
from typing import Any, Sequence

import numpy as np
import torch

from tools.atomic import write_bytes_atomic
from tools.errors import InputError
from tools.internals.capture import captured_residual
from tools.progress import bar

C_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
MDL_FRACTIONS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)


def pooled_states(handle, task, texts: Sequence[str], quiet: bool = True, batch_size: int = 16) -> np.ndarray:
    """[rows, layers+1, hidden]: mean over each text's content tokens of every layer's output.

    One capture pass for all layers: texts go through the model `batch_size` at a time (sorted by
    length so that little is padding), right-padded with an attention mask, so each text's own
    tokens see exactly what they see alone (issue 20: 300 rows in ~20 forwards, not 300).

    A causal LM computes only what the probe reads: the prompt's template before the text, which
    every row shares, runs once and its key/value cache is reused; the template after the text is
    not run (a token never sees later ones); the blocks run without the unembedding."""
    encoded = [task.encode(text) for text in texts]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i].input_ids))
    out: list[np.ndarray | None] = [None] * len(texts)
    prefix, cut, model = _shared_template(handle, encoded)
    past = None
    if prefix:
        with handle.exclusive(), torch.no_grad():
            past = model(input_ids=torch.tensor([prefix]), use_cache=True).past_key_values
    progress = bar(len(texts), "reading hidden states for probes", quiet)
    with torch.no_grad(), captured_residual(handle.model) as states:
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            rows = [encoded[i].input_ids[len(prefix):cut[i]] for i in chunk]
            content = [encoded[i].content_mask[len(prefix):cut[i]] for i in chunk]
            width = max(len(r) for r in rows)
            ids = torch.full((len(chunk), width), handle.pad_token_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), len(prefix) + width), dtype=torch.long)
            attention[:, :len(prefix)] = 1
            masks = torch.zeros((len(chunk), width), dtype=torch.bool)
            for row, (r, m) in enumerate(zip(rows, content)):
                ids[row, :len(r)] = torch.tensor(r, dtype=torch.long)
                attention[row, len(prefix):len(prefix) + len(r)] = 1
                masks[row, :len(r)] = torch.tensor(m, dtype=torch.bool)
            kwargs: dict[str, Any] = {"input_ids": ids, "attention_mask": attention}
            if past is not None:
                from transformers import DynamicCache

                kwargs["past_key_values"] = DynamicCache(ddp_cache_data=[
                    (layer.keys.expand(len(chunk), -1, -1, -1), layer.values.expand(len(chunk), -1, -1, -1))
                    for layer in past.layers], config=handle.model.config)
                kwargs["position_ids"] = torch.arange(len(prefix), len(prefix) + width)[None, :].expand(len(chunk), -1)
                kwargs["use_cache"] = True
            elif model is not handle.model:
                kwargs["use_cache"] = False
            states.clear()
            model(**kwargs)
            if len(states) != handle.n_layers + 1:  # our bug: checked before the states are cached
                raise RuntimeError(f"Captured {len(states)} hidden states; expected {handle.n_layers + 1}.")
            for row, i in enumerate(chunk):
                out[i] = torch.stack([s[row][masks[row]].mean(0).cpu() for s in states]).float().cpu().numpy()
            progress.update(len(chunk))
    progress.close()
    return np.stack(out)


def _shared_template(handle, encoded) -> tuple[list[int], list[int], Any]:
    """(the token prefix before every text's content, where each input may stop, the module to
    run). A causal LM with a KV cache: the shared template, each input cut after its last content
    token, the blocks without the head; otherwise no prefix, whole inputs, the whole model."""
    whole = [len(e.input_ids) for e in encoded]
    causal = handle.kind != "sequence_classifier" and handle.accepts("past_key_values")
    if not causal or not encoded or not all(any(e.content_mask) for e in encoded):
        return [], whole, handle.model
    first = min(e.content_mask.index(True) for e in encoded)
    shared = 0
    while shared < first and all(e.input_ids[shared] == encoded[0].input_ids[shared] for e in encoded):
        shared += 1
    cut = [len(e.content_mask) - e.content_mask[::-1].index(True) for e in encoded]
    return list(encoded[0].input_ids[:shared]), cut, handle.model.base_model


def cached_states(cache_dir, key: str, compute) -> np.ndarray:
    path = cache_dir / "activations" / f"{key}.npy"
    if path.is_file():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # corrupt: recompute
    states = compute()
    buffer = io.BytesIO()
    np.save(buffer, states, allow_pickle=False)
    write_bytes_atomic(path, buffer.getvalue())
    return states


def split(labels: np.ndarray, seed: int = 0, fractions=(0.6, 0.2)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train / validation / test indices (disjoint, covering every row)."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for value in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == value))
        a = int(round(len(idx) * fractions[0]))
        b = a + int(round(len(idx) * fractions[1]))
        for part, chunk in zip(parts, (idx[:a], idx[a:b], idx[b:])):
            part.extend(chunk.tolist())
    return tuple(np.array(sorted(p), dtype=int) for p in parts)  # type: ignore[return-value]


def wilson(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(x, y)


def probe_layer(x: np.ndarray, y: np.ndarray, parts) -> dict[str, Any]:
    """Regularisation chosen by validation log-loss (no ties, and it also suits the MDL code)."""
    from sklearn.metrics import log_loss

    train, val, test = parts
    fits = {c: _fit(x[train], y[train], c) for c in C_GRID}
    losses = {c: log_loss(y[val], m.predict_proba(x[val]), labels=m.classes_) for c, m in fits.items()}
    best = min(C_GRID, key=lambda c: losses[c])
    val_acc = {best: float((fits[best].predict(x[val]) == y[val]).mean())}
    model = fits[best]
    correct = int((model.predict(x[test]) == y[test]).sum())
    return {"accuracy": correct / len(test), "correct": correct, "c": best, "val_accuracy": val_acc[best]}


def online_codelength(x: np.ndarray, y: np.ndarray, order: np.ndarray, c: float) -> tuple[float, float]:
    """MDL online code in bits over the rows in `order`, and the uniform code's length."""
    classes = np.unique(y)
    n = len(order)
    cuts = sorted({max(2, int(round(f * n))) for f in MDL_FRACTIONS})
    bits = cuts[0] * math.log2(len(classes))
    for start, end in zip(cuts[:-1], cuts[1:]):
        seen, block = order[:start], order[start:end]
        if len(np.unique(y[seen])) < len(classes):
            bits += len(block) * math.log2(len(classes))
            continue
        model = _fit(x[seen], y[seen], c)
        proba = model.predict_proba(x[block])
        cols = {cls: i for i, cls in enumerate(model.classes_)}
        p = proba[np.arange(len(block)), [cols[v] for v in y[block]]]
        bits += float(-np.log2(np.clip(p, 1e-12, 1)).sum())
    return bits, n * math.log2(len(classes))


def run_probes(states: np.ndarray, labels: Sequence[str], layers: Sequence[int] | None = None,
               seed: int = 0) -> dict[str, Any]:
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise InputError("A probe needs at least two label values among the rows.")
    if counts.min() < 5:
        raise InputError(f"Too few rows for a probe: the rarest label value has {counts.min()} rows "
                         "(need at least 5).")
    n_layers = states.shape[1] - 1  # states[:, 0] are the embeddings, states[:, i + 1] block i's output
    chosen = list(range(n_layers)) if layers is None else list(layers)
    bad = [layer for layer in chosen if not 0 <= layer < n_layers]
    if bad:
        raise InputError(f"Layer {bad[0]} is out of range: the model has {n_layers} layers (0 to {n_layers - 1}).")
    parts = split(y, seed)
    rng = np.random.default_rng(seed + 1)
    control = y[rng.permutation(len(y))]  # same label counts, no relation to the text
    order = rng.permutation(np.concatenate([parts[0], parts[1]]))
    majority_label = classes[counts.argmax()]
    majority = float((y[parts[2]] == majority_label).mean())
    rows = []
    for layer in [-1, *chosen]:
        x = states[:, layer + 1, :]
        real = probe_layer(x, y, parts)
        ctrl = probe_layer(x, control, parts)
        bits, uniform = online_codelength(x, y, order, real["c"])
        low, high = wilson(real["correct"], len(parts[2]))
        rows.append({
            "layer": layer, "name": "embeddings" if layer == -1 else f"block {layer}",
            "accuracy": round(real["accuracy"], 4), "ci95": [round(low, 4), round(high, 4)],
            "control_accuracy": round(ctrl["accuracy"], 4),
            "selectivity": round(real["accuracy"] - ctrl["accuracy"], 4),
            "c": real["c"], "val_accuracy": round(real["val_accuracy"], 4),
            "codelength_bits": round(bits, 2), "compression": round(uniform / bits, 3) if bits else None,
        })
    embeddings, rows = rows[0], rows[1:]
    best = max(rows, key=lambda r: (r["accuracy"], r["selectivity"]))
    return {"embeddings": embeddings, "classes": classes.tolist(), "rows_total": len(y),
            "split": [len(p) for p in parts],
            "majority_baseline": round(majority, 4), "majority_label": str(majority_label),
            "layers": rows, "best_layer": best["layer"], "seed": seed}
