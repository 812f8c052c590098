"""Activation-patching machinery for tools/builtin/patch.py (Vig et al. 2020; Meng et al. 2022):
the hooks that copy the contrast's residual stream into the input's run, the two reference runs,
the batched loop over patches (reusing the input's key/value cache where a left-to-right model
allows it) and the whole measurement the tool reports.

Why a separate module: the tool keeps its contract (Params, Output, run, narrate, figure,
planning) and stays under design.md's 500 lines. Hooks come from a context manager that holds the
model's lock and removes them after errors too; every pass runs under the lock (habits 10 and
15). torch and numpy are imported inside the functions, so importing the tool (the planner does,
for every tool) never loads them (tests/test_one_tool_one_module.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

from tools.errors import InputError, ToolUnavailable

if TYPE_CHECKING:
    import numpy as np
    import torch


MAX_MAP_POSITIONS = 40  # the layer x position map is computed up to this many positions
CARRIED = 0.5  # "carried from layer L on": at least this share of the way at L and every later patched layer
TIE = 0.005  # the best layer is the earliest within this of the largest effect
ROW_TOKENS = 8192  # tokens per batched forward pass (rows x input length)
Rows = list[tuple[int, list[int], list[int]]]  # patches: (layer, positions in the input, positions in the contrast)
Forward = Callable[..., "torch.Tensor"]  # (handle, input_ids, **kwargs) -> the prediction's logits


def forward_logits(handle: Any, input_ids: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    """The prediction's logits for each row: [rows, vocab] (last position) or [rows, labels]."""
    if handle.kind != "sequence_classifier" and handle.accepts("logits_to_keep"):
        kwargs["logits_to_keep"] = 1
    logits = handle.model(input_ids=input_ids, **kwargs).logits
    return (logits if logits.dim() == 2 else logits[:, -1]).float()


@contextmanager
def patched_residual(model: Any, rows: Rows, states: list[torch.Tensor]) -> Iterator[None]:
    """While open, forward passes of this thread get row r's block-`layer` output at `positions`
    replaced by `states[layer + 1]` (the contrast's, from `captured_residual`) at `sources`, for
    each (layer, positions, sources) = rows[r]. Holds the model's lock; hooks removed on exit."""
    import threading

    from tools.models.architecture import decoder_layers
    from tools.models.lock import model_lock

    blocks = decoder_layers(model)
    if blocks is None:
        raise ToolUnavailable("whybox does not know where this architecture keeps its transformer blocks.")
    owner = threading.get_ident()
    by_layer: dict[int, list[tuple[int, list[int], list[int]]]] = {}
    for row, (layer, positions, sources) in enumerate(rows):
        by_layer.setdefault(layer, []).append((row, positions, sources))

    def hook_for(layer: int):
        def hook(module, args, output):
            if threading.get_ident() != owner:
                return None
            hidden = (output[0] if isinstance(output, tuple) else output).clone()
            source = states[layer + 1][0].to(hidden.dtype)
            for row, positions, sources in by_layer[layer]:
                hidden[row, positions] = source[sources]
            return (hidden, *output[1:]) if isinstance(output, tuple) else hidden
        return hook

    with model_lock(model):
        handles = []
        try:
            for layer in by_layer:
                handles.append(blocks[layer].register_forward_hook(hook_for(layer)))
            yield
        finally:
            for h in handles:
                h.remove()


def reference_runs(handle: Any, clean_ids: list[int], contrast_ids: list[int],
                   forward: Forward = forward_logits) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], Any]:
    """(input logits [1, K], contrast logits [1, K], the contrast's residual stream after the
    embeddings and each block, the input's key/value cache or None), under the model's lock.
    `forward` runs a prediction pass (a seam: tests make one fail while hooks are on)."""
    import torch

    from tools.internals.capture import captured_residual

    with handle.exclusive(), torch.inference_mode():
        with captured_residual(handle.model) as states:
            contrast = forward(handle, torch.tensor([contrast_ids]))
        if len(states) != handle.n_layers + 1 or tuple(states[-1].shape[:2]) != (1, len(contrast_ids)):
            raise RuntimeError(f"Captured {len(states)} residual states; expected {handle.n_layers + 1} of "
                               f"[1, {len(contrast_ids)}, hidden].")  # our bug, never cached
        if not _cacheable(handle):
            return forward(handle, torch.tensor([clean_ids])), contrast, states, None
        out = handle.model(input_ids=torch.tensor([clean_ids]), use_cache=True)
        return out.logits[:, -1].float(), contrast, states, out.past_key_values


def _cacheable(handle: Any) -> bool:
    return handle.kind == "causal_lm" and handle.accepts("past_key_values") and handle.accepts("position_ids")


def run_patches(handle: Any, clean_ids: list[int], rows: Rows, states: list[torch.Tensor], prefix: Any = None,
                anchors: tuple[int, ...] = (0,), reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
                quiet: bool = True, forward: Forward = forward_logits) -> torch.Tensor:
    """The input run once per row of patches, under the model's lock: [len(rows), K] logits, or
    `reduce(logits)` of each batch. With the input's key/value cache (`prefix`), a row starts at the
    largest anchor at or before its first patched position (earlier positions are the same in every
    row of a left-to-right model) and only the rest is run."""
    import copy

    import torch

    from tools.attribution.budget import rows_per_pass
    from tools.progress import bar

    n = len(clean_ids)
    groups: dict[int, list[int]] = {}
    for index, (_, positions, _) in enumerate(rows):
        start = max((a for a in anchors if a <= min(positions)), default=0) if prefix is not None else 0
        groups.setdefault(start, []).append(index)
    progress = bar(len(rows), "patching", quiet=quiet or len(rows) <= ROW_TOKENS // n)
    out: list[torch.Tensor | None] = [None] * len(rows)
    with handle.exclusive(), torch.inference_mode():
        for start, members in sorted(groups.items()):
            # Rows per pass: ROW_TOKENS new tokens, and each row's copy of the cache within the
            # memory budget (a 2,048-token cache is ~94 MB a row on SmolLM2: 800 rows would not fit).
            per_pass = max(1, min(ROW_TOKENS // (n - start), rows_per_pass(handle, n, backward=False)))
            for first in range(0, len(members), per_pass):
                part = members[first:first + per_pass]
                kwargs: dict[str, Any] = {}
                if start:
                    cache = copy.deepcopy(prefix)
                    cache.crop(start - n)  # keep the first `start` positions
                    cache.batch_repeat_interleave(len(part))
                    kwargs = {"past_key_values": cache, "use_cache": True,
                              "attention_mask": torch.ones((len(part), n), dtype=torch.long),
                              "position_ids": torch.arange(start, n).unsqueeze(0).expand(len(part), -1)}
                shifted = [(rows[i][0], [p - start for p in rows[i][1]], rows[i][2]) for i in part]
                with patched_residual(handle.model, shifted, states):
                    logits = forward(handle, torch.tensor([clean_ids[start:]] * len(part)), **kwargs)
                for i, row in zip(part, logits if reduce is None else reduce(logits)):
                    out[i] = row
                progress.update(len(part))
    progress.close()
    return torch.stack(out) if rows else torch.zeros((0, 0))


def _probabilities(task: Any) -> Callable[[torch.Tensor], np.ndarray]:
    """Logits (or reduced logits) -> the probabilities the task reports (calibrated label words)."""
    import torch

    if hasattr(task, "label_probs_from_logits"):
        return lambda logits: task.calibrated(task.label_probs_from_logits(logits)[0].double().cpu().numpy())
    return lambda logits: torch.softmax(logits.double(), -1).cpu().numpy()


def _effect(patched: float, clean: float, contrast: float) -> float | None:
    gap = contrast - clean
    return None if abs(gap) < 1e-9 else (patched - clean) / gap


def patch_prediction(handle: Any, task: Any, text: str, contrast_text: str, layers: list[int] | None = None,
                     quiet: bool = True, forward: Forward = forward_logits) -> dict[str, Any]:
    """The whole measurement (PatchOutput's fields, without the rows' ids and gold labels); every
    prediction pass goes through `forward`."""
    import numpy as np
    import torch

    from tools.models.architecture import is_encoder

    if handle.layers is None:
        raise ToolUnavailable("whybox does not know where this architecture keeps its transformer blocks.")
    n_layers = handle.n_layers
    chosen = sorted(set(range(n_layers) if layers is None else layers))
    bad = [layer for layer in chosen if not 0 <= layer < n_layers]
    if bad:
        raise InputError(f"Layer {bad[0]} is out of range: the model has {n_layers} layers (0 to {n_layers - 1}).")
    if getattr(task, "calibrate", False):
        task.calibration  # computed now, never while patching hooks are on the model
    clean_ids, contrast_ids = list(task.encode(text).input_ids), list(task.encode(contrast_text).input_ids)
    if clean_ids == contrast_ids:
        raise InputError("The input and the contrast give the same tokens, so there is no difference to patch.")
    aligned, encoder = len(clean_ids) == len(contrast_ids), is_encoder(handle.model)
    n = len(clean_ids)
    read, read_contrast = (0, 0) if encoder else (n - 1, len(contrast_ids) - 1)
    differing = [i for i in range(n) if aligned and clean_ids[i] != contrast_ids[i]]
    start = 0 if encoder or not differing else differing[0]
    span = list(range(start, n)) if aligned else []
    map_note = None
    if aligned and len(span) > MAX_MAP_POSITIONS:
        map_note = (f"No per-position map: the inputs span {len(span)} positions from their first difference on, "
                    f"and the map is computed up to {MAX_MAP_POSITIONS}.")
    with_map = aligned and map_note is None

    keys: dict[tuple[int, tuple[int, ...]], int] = {}
    rows: Rows = []

    def row_of(layer: int, positions: list[int], sources: list[int]) -> int:
        key = (layer, tuple(positions))
        if key not in keys:
            keys[key] = len(rows)
            rows.append((layer, positions, sources))
        return keys[key]

    last = {layer: row_of(layer, [read], [read_contrast]) for layer in chosen}
    changed = {layer: row_of(layer, differing, differing) for layer in chosen} if aligned else {}
    full = row_of(chosen[0], list(range(n)), list(range(n))) if aligned else None
    cells = {(layer, p): row_of(layer, [p], [p]) for layer in chosen for p in span} if with_map else {}
    clean_logits, contrast_logits, states, prefix = reference_runs(handle, clean_ids, contrast_ids, forward)
    probs = _probabilities(task)
    clean_p, contrast_p = probs(clean_logits)[0], probs(contrast_logits)[0]
    a, b = int(np.argmax(clean_p)), int(np.argmax(contrast_p))
    same = a == b
    if same:
        b = int(np.argmax(np.where(np.arange(len(contrast_p)) == a, -np.inf, contrast_p)))
    classifier = bool(getattr(task, "is_classifier", False))
    decode = handle.tokenizer.decode
    name = (lambda i: task.labels[i]) if classifier else (lambda i: decode([i]))
    reduce, to_probs, pick = None, probs, [a, b]  # what a patched pass keeps: a classifier head's logits
    if hasattr(task, "label_probs_from_logits"):  # label words: the labels' raw probabilities

        def reduce(logits):
            return task.label_probs_from_logits(logits)[0]

        def to_probs(kept):
            return task.calibrated(kept.double().cpu().numpy())
    elif not classifier:  # a vocabulary: the two tokens' probabilities only

        def reduce(logits):
            return torch.log_softmax(logits.double(), -1)[:, [a, b]].exp()

        def to_probs(kept):
            return kept.cpu().numpy()
        pick = [0, 1]
    patched = run_patches(handle, clean_ids, rows, states, prefix, (0, start, n - 1), reduce, quiet, forward)
    patched_p = to_probs(patched)[:, pick]

    def measure(p: np.ndarray) -> tuple[float, float, float]:
        pa, pb = float(p[0]), float(p[1])
        return pa, pb, float(np.log(max(pa, 1e-300)) - np.log(max(pb, 1e-300)))

    (ca, cb, cl), (ka, kb, kl) = measure(clean_p[[a, b]]), measure(contrast_p[[a, b]])

    def effect(row: int | None) -> float | None:
        if row is None:
            return None
        value = _effect(measure(patched_p[row])[0], ca, ka)
        return None if value is None else round(value, 4)

    layer_rows = []
    for layer in chosen:
        pa, pb, ld = measure(patched_p[last[layer]])
        ld_effect = _effect(ld, cl, kl)
        layer_rows.append({
            "layer": layer, "effect": effect(last[layer]),
            "logit_diff_effect": None if ld_effect is None else round(ld_effect, 4),
            "p_clean_label": round(pa, 4), "p_contrast_label": round(pb, 4), "logit_diff": round(ld, 4),
            "changed_effect": effect(changed.get(layer)),
        })
    effects = [(r["layer"], r["effect"]) for r in layer_rows if r["effect"] is not None]
    best_layer = best_effect = carried = None
    if effects:
        top = max(e for _, e in effects)
        best_layer, best_effect = next((layer, e) for layer, e in effects if e >= top - TIE)
        for i in range(len(layer_rows)):
            if all(r["effect"] is not None and r["effect"] >= CARRIED for r in layer_rows[i:]):
                carried = layer_rows[i]["layer"]
                break

    def position(i: int) -> dict[str, Any]:
        return {"position": i, "token": decode([clean_ids[i]]), "contrast_token": decode([contrast_ids[i]]),
                "differs": clean_ids[i] != contrast_ids[i]}

    def run(ids: list[int], p: np.ndarray, text_: str, measured: tuple[float, float, float]) -> dict[str, Any]:
        return {"text": text_, "prediction": name(int(np.argmax(p))), "p_clean_label": round(measured[0], 4),
                "p_contrast_label": round(measured[1], 4), "logit_diff": round(measured[2], 4), "n_tokens": len(ids)}

    return {
        "input": run(clean_ids, clean_p, text, (ca, cb, cl)),
        "contrast": run(contrast_ids, contrast_p, contrast_text, (ka, kb, kl)),
        "kind": "label" if classifier else "token", "clean_label": name(a), "contrast_label": name(b),
        "same_prediction": same, "aligned": aligned, "prediction_position": read,
        "prediction_token": decode([clean_ids[read]]), "n_layers": n_layers, "layers": layer_rows,
        "best_layer": best_layer, "best_effect": best_effect, "carried_from": carried,
        "full_patch_effect": effect(full), "changed_tokens": [position(i) for i in differing],
        "positions": [position(i) for i in span] if with_map else None,
        "matrix": [[effect(cells[(layer, p)]) for p in span] for layer in chosen] if with_map else None,
        "map_note": map_note,
    }
