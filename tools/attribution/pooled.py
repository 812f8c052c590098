"""Cross-row attribution (issue 20): the perturbations of MANY rows scored in the same forwards.

One row at a time, `explain` runs the prompt's template before the text once per row (its KV
cache), scores each perturbed input whole, in batches of rows of mixed lengths, and predicts the
row in a forward of its own. Over a chunk of rows (the batch runner's), `CrossRow` instead
- predicts every row in one batched call;
- runs the template once for all rows that share it, then each row's original text once,
  keeping the KV cache of template + text;
- scores each perturbed input (a word deleted, the top words kept, ...) from the longest prefix
  it shares with its row's original text: that part's keys and values are the original's, so only
  the tokens from the first change on are computed (deleting word i of n recomputes n - i words);
- packs the suffixes of all rows' perturbations by length (little padding) and de-duplicates
  them per row.
The numbers are the same function of the same inputs as the per-row path (tests/test_batch.py:
equal to 1e-6); only how the float sums are grouped differs.

How it plugs in without a second copy of the methods: the batch work runs each row's tool once
in *collect* mode, where `explain` records its (text, request) and raises `Deferred`; `compute()`
then runs the methods and the faithfulness check of every recorded row with a `PooledScorer`,
whose `score_ids` answers from the pool or asks for rows (`_NeedRows`) -- the methods are re-run
until all their rows are in (occlusion's rows, then the faithfulness rows its ranking needs);
in *serve* mode the tools run again and `explain` returns the finished results, so outputs,
caveats and the result cache are exactly the tool's. Rows that do not fit (gradient methods,
answer targets, classifier heads, hooked models) are computed as usual.

The edit-based tools (counterfactual, adversarial, augment, rationalize) score their candidate
edits of one text with the same pool (`EditScorer`): an edit is a perturbation of that row, and
a later search round's edits also run from the KV of the earlier edit they extend.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np
import torch

from tools.attribution.budget import rows_per_pass
from tools.attribution.catalog import get_method
from tools.attribution.scorers import Scorer
from tools.errors import WhyboxError

if TYPE_CHECKING:
    from tools.attribution.engine import Request
    from tools.attribution.inputs import AttributionInput
    from tools.models.handle import ModelHandle
    from tools.models.tasks import Task


class Deferred(Exception):
    """Collect mode: this explanation was recorded and will be computed with the others."""


class _NeedRows(Exception):
    """A pooled scorer was asked for rows the pool has not computed yet (they are now queued)."""


def eligible(handle: ModelHandle, task: Task, request: Request) -> bool:
    """Perturbation and sampling methods on a label target of a causal LM without hooks."""
    from tools.models.tasks import _has_hooks

    if handle.kind == "sequence_classifier" or not task.is_classifier or not hasattr(task, "label_token_ids"):
        return False
    if request.explain_answer or request.answer is not None:
        return False
    try:
        kind = get_method(request.method).kind
    except WhyboxError:
        return False
    return kind in ("perturbation", "sampling") and handle.accepts("past_key_values") and not _has_hooks(handle.model)


@dataclass
class _Job:
    text: str
    request: Any
    k: int
    result: dict | None = None


class CrossRow:
    """The recorded explanations of a chunk of rows and, after `compute()`, their results."""

    def __init__(self, handle: ModelHandle, task: Task, batch_size: int = 16) -> None:
        self.handle, self.task, self.batch_size = handle, task, batch_size
        self.jobs: dict[tuple, _Job] = {}
        self.collecting = True
        self.stats: dict[str, float] = {}

    @staticmethod
    def _key(text: str, request: Request, k: int) -> tuple:
        return (text, astuple(request), k)

    def lookup(self, handle: ModelHandle, task: Task, text: str, request: Request, k: int) -> dict | None:
        """Collect mode: record (when the pool can serve it) and raise `Deferred` -- always, so that
        nothing is computed, or cached, before the serve pass; serve mode: the result, or None to
        compute alone."""
        fits = handle is self.handle and task is self.task and eligible(handle, task, request)
        key = self._key(text, request, k)
        if self.collecting:
            if fits:
                self.jobs.setdefault(key, _Job(text, request, k))
            raise Deferred
        job = self.jobs.get(key) if fits else None
        return None if job is None or job.result is None else job.result

    def compute(self) -> None:
        """Every recorded explanation, its forwards shared. A row the per-row path refuses (too
        long, no words) is left to it, so it fails there with its own message."""
        from tools.attribution.engine import build_input, explain_with

        self.collecting = False
        start = time.perf_counter()
        jobs, texts = [], []
        for job in self.jobs.values():
            try:
                self.task.encode(job.text)  # type: ignore[attr-defined]  # the length check
            except WhyboxError:
                continue
            jobs.append(job)
            texts.append(job.text)
        if not jobs:
            return
        probabilities, _ = self.task.predict_proba(texts)  # type: ignore[attr-defined]
        pool = _RowPool(self.handle, self.task, self.batch_size)
        pending = []
        for job, probs in zip(jobs, probabilities):
            try:
                inp, info = build_input(self.handle, self.task, job.text, job.request, probs)
            except WhyboxError:
                continue
            pending.append((job, PooledScorer(pool, pool.add(inp), inp), info))
        while pending:
            waiting = []
            for job, scorer, info in pending:
                scorer.forwards = 0  # the methods run again from the start: count one run
                try:
                    job.result = explain_with(scorer, info, job.request, job.k, start)
                except _NeedRows:
                    waiting.append((job, scorer, info))
            if waiting and not pool.queued():
                raise RuntimeError("cross-row attribution: a scorer asked for rows without queueing any")
            pool.run()
            pending = waiting
        share = (time.perf_counter() - start) / len(jobs)
        for job in jobs:  # a row's wall-clock share of the pooled run
            if job.result is not None:
                job.result["seconds"] = job.result["method_info"]["seconds"] = round(share, 3)
        self.stats = {"rows": len(jobs), "seconds": time.perf_counter() - start, **pool.stats}


@contextmanager
def cross_row(handle: ModelHandle, task: Task) -> Iterator[CrossRow]:
    """`with cross_row(handle, task) as run:` explanations in this context go through `run`."""
    from tools.attribution.engine import CROSS_ROW

    run = CrossRow(handle, task)
    token = CROSS_ROW.set(run)
    try:
        yield run
    finally:
        CROSS_ROW.reset(token)


def pooled_calls(handle: ModelHandle, task: Task, calls: Callable[[bool], Any]) -> Any:
    """Run `calls(collecting)` twice: to record the explanations it asks for (each call must
    catch `Deferred` and move on), then, once they are computed together, for real."""
    with cross_row(handle, task) as run:
        calls(True)
        run.compute()
        return calls(False)


class PooledScorer(Scorer):
    """A scorer of one row whose `score_ids` reads the pool (label targets only)."""

    def __init__(self, pool: _RowPool, index: int, inp: AttributionInput) -> None:
        super().__init__(pool.handle, pool.task, inp)
        self.pool, self.index = pool, index
        labels = list(self.task.labels)
        self._label = labels.index(self.target.label)
        self._contrast = None if self.target.contrast is None else labels.index(self.target.contrast)

    def score_ids(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        keys = [tuple(r) for r in rows]
        values = self.pool.values[self.index]
        missing = [k for k in dict.fromkeys(keys) if k not in values]
        if missing:
            self.pool.want(self.index, missing)
            raise _NeedRows
        scores = torch.stack([values[k] for k in keys])  # [B, L] calibrated label log-probs
        value = scores[:, self._label]
        if self._contrast is not None:
            value = value - scores[:, self._contrast]
        self.forwards += len(keys)
        return value[:, None]

    def score_embeds(self, embeds: torch.Tensor) -> torch.Tensor:  # pragma: no cover - not eligible
        raise RuntimeError("cross-row attribution serves perturbation methods only")


class _RowPool:
    """Variable-part id rows of many attribution inputs, scored together (see the module doc)."""

    def __init__(self, handle: ModelHandle, task: Task, batch_size: int) -> None:
        self.handle, self.task, self.batch_size = handle, task, batch_size
        model = handle.model
        self.base, self.head = model.base_model, model.get_output_embeddings()
        self.embedding = model.get_input_embeddings()
        self.inputs: list[AttributionInput] = []
        self.values: list[dict[tuple[int, ...], torch.Tensor]] = []
        self.wanted: list[dict[tuple[int, ...], None]] = []
        self.kv: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}  # row -> per layer [kv, P+n, d]
        # Edited rows kept as further sources of shared prefixes (`_keep`): per input, (ids, KV of
        # template + ids); off (0 bytes) for attribution, whose perturbations share little else.
        self.kept: dict[int, list[tuple[tuple[int, ...], list[tuple[torch.Tensor, torch.Tensor]]]]] = {}
        self.keep_bytes, self.keep_tail, self.kept_bytes = 0, 0, 0
        self.prefixes: dict[tuple[int, ...], Any] = {}
        self.reader: Scorer | None = None
        self.stats = {"forwards": 0, "rows": 0, "tokens": 0, "padded_tokens": 0}

    def add(self, inp: AttributionInput) -> int:
        self.inputs.append(inp)
        self.values.append({})
        self.wanted.append({})
        return len(self.inputs) - 1

    def want(self, index: int, rows: list[tuple[int, ...]]) -> None:
        for row in rows:
            self.wanted[index][row] = None

    def queued(self) -> bool:
        return any(self.wanted)

    # ----- forwards ------------------------------------------------------------------------
    def _read(self, hidden: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
        """Calibrated label log-probs [B, L] at each row's last position (as `Scorer._read_label`)."""
        assert self.reader is not None
        logits = self.head(hidden[torch.arange(len(last)), last]).float()
        return self.reader._label_log_probs(logits).cpu()

    def _cache(self, layers: list[tuple[torch.Tensor, torch.Tensor]]):
        from transformers import DynamicCache

        return DynamicCache(ddp_cache_data=layers, config=self.handle.model.config)

    def _prefix(self, ids: tuple[int, ...]):
        """The template's KV from the model's memo (`_prefix_cache`): pools of one row each (an edit
        search per row) then pay for the template once per model, not once per row."""
        from tools.models.tasks import _prefix_cache

        if ids not in self.prefixes:
            self.prefixes[ids] = _prefix_cache(self.handle, list(ids))
            self.stats["forwards"] += 1
            self.stats["tokens"] += len(ids)
        return self.prefixes[ids]

    def _size(self, tokens: int) -> int:
        return max(1, min(self.batch_size, rows_per_pass(self.handle, tokens, backward=False)))

    def _originals(self, indices: list[int]) -> None:
        """Each row's original variable part after its template's cache, keeping template + text KV."""
        groups: dict[tuple[int, ...], list[int]] = {}
        for i in indices:
            inp = self.inputs[i]
            groups.setdefault(tuple(inp.ids[:inp.prefix_len]), []).append(i)
        for prefix_ids, members in groups.items():
            members.sort(key=lambda i: len(self.inputs[i].variable_ids))
            prefix = self._prefix(prefix_ids) if prefix_ids else None
            p = len(prefix_ids)
            longest = max(len(self.inputs[i].variable_ids) for i in members)
            size = self._size(p + longest)
            for start in range(0, len(members), size):
                chunk = members[start:start + size]
                rows = [self.inputs[i].variable_ids for i in chunk]
                batch, width = len(rows), max(len(r) for r in rows)
                ids = torch.full((batch, width), self.handle.pad_token_id, dtype=torch.long)
                for b, r in enumerate(rows):
                    ids[b, :len(r)] = torch.tensor(r, dtype=torch.long)
                lengths = torch.tensor([len(r) for r in rows])
                attention = torch.ones((batch, p + width), dtype=torch.long)
                attention[:, p:] = (torch.arange(width)[None, :] < lengths[:, None]).long()
                positions = torch.arange(p, p + width)[None, :].expand(batch, -1)
                cache = self._cache([] if prefix is None else [
                    (layer.keys.expand(batch, -1, -1, -1), layer.values.expand(batch, -1, -1, -1))
                    for layer in prefix.layers])
                out = self.base(inputs_embeds=self.embedding(ids), attention_mask=attention, position_ids=positions,
                                past_key_values=cache, use_cache=True)
                scores = self._read(out.last_hidden_state, lengths - 1)
                kept = out.past_key_values
                for b, i in enumerate(chunk):
                    n = p + len(rows[b])
                    self.kv[i] = [(layer.keys[b, :, :n].clone(), layer.values[b, :, :n].clone())
                                  for layer in kept.layers]
                    self.values[i][tuple(rows[b])] = scores[b]
                self._count(batch, width, lengths)

    def _count(self, batch: int, width: int, lengths: torch.Tensor) -> None:
        self.stats["forwards"] += 1
        self.stats["rows"] += batch
        self.stats["tokens"] += int(lengths.sum())
        self.stats["padded_tokens"] += batch * width

    def run(self) -> None:
        """Score every queued row: originals first (their caches), then the rest from shared prefixes."""
        if not self.queued():
            return
        if self.reader is None:  # the label read-out (calibration offsets) every row shares
            self.reader = Scorer(self.handle, self.task, self.inputs[0])
        with self.handle.exclusive(), torch.no_grad():
            need = [i for i, rows in enumerate(self.wanted) if rows and i not in self.kv]
            if need:
                self._originals(need)
            work = []  # (suffix length, row index, ids, shared length, KV of the source)
            for i, rows in enumerate(self.wanted):
                for row in rows:
                    if row not in self.values[i]:
                        shared, source = self._source(i, row)
                        work.append((len(row) - shared, i, row, shared, source))
                rows.clear()
            work.sort(key=lambda w: (w[0], w[1]))
            longest = max((self.inputs[w[1]].prefix_len + len(w[2]) for w in work), default=1)
            size = self._size(longest)
            for start in range(0, len(work), size):
                self._suffixes(work[start:start + size])

    def _source(self, i: int, row: tuple[int, ...]) -> tuple[int, list[tuple[torch.Tensor, torch.Tensor]]]:
        """The computed row sharing the most leading ids with `row` (its original, or a kept row)
        and how many: at least the last id of `row` is always run, to read its scores."""
        def common(ids: Sequence[int]) -> int:
            limit = min(len(row) - 1, len(ids))
            n = 0
            while n < limit and row[n] == ids[n]:
                n += 1
            return n

        best, source = common(self.inputs[i].variable_ids), self.kv[i]
        for ids, layers in self.kept.get(i, ()):
            n = common(ids)
            if n > best:
                best, source = n, layers
        return best, source

    def _keep(self, i: int, row: tuple[int, ...], kv: Any, b: int, past: int, span: int) -> None:
        """Keep row `b` of a suffix forward's cache (template + `row` but its last `keep_tail` ids,
        which no other row shares) as a source for later rows, within `keep_bytes`."""
        n = len(row) - self.keep_tail
        if n <= 0 or self.kept_bytes >= self.keep_bytes:
            return
        m = self.inputs[i].prefix_len + n
        layers = []
        for layer in kv.layers:
            k, v = (t[b, :, :m].clone() if m <= past else torch.cat([t[b, :, :past], t[b, :, span:span + m - past]], 1)
                    for t in (layer.keys, layer.values))
            layers.append((k, v))
        self.kept.setdefault(i, []).append((row[:n], layers))
        self.kept_bytes += sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in layers)

    def _suffixes(self, chunk: list[tuple[int, int, tuple[int, ...], int, Any]]) -> None:
        """Rows that share `shared` leading ids with a computed row (their original, or a kept one):
        its keys and values for template + those ids, holes masked, then only the rest of each row."""
        batch = len(chunk)
        past = [self.inputs[i].prefix_len + shared for _, i, _, shared, _ in chunk]
        span, width = max(past), max(n for n, _, _, _, _ in chunk)
        ids = torch.full((batch, width), self.handle.pad_token_id, dtype=torch.long)
        attention = torch.zeros((batch, span + width), dtype=torch.long)
        positions = torch.zeros((batch, width), dtype=torch.long)
        for b, (n, i, row, shared, _) in enumerate(chunk):
            ids[b, :n] = torch.tensor(row[shared:], dtype=torch.long)
            attention[b, :past[b]] = 1
            attention[b, span:span + n] = 1
            positions[b] = torch.arange(past[b], past[b] + width)
        layers = []
        for layer, (k0, v0) in enumerate(chunk[0][4]):
            keys = k0.new_zeros((batch, k0.shape[0], span, k0.shape[-1]))
            values = v0.new_zeros((batch, v0.shape[0], span, v0.shape[-1]))
            for b, (_, _, _, _, source) in enumerate(chunk):
                k, v = source[layer]
                keys[b, :, :past[b]] = k[:, :past[b]]
                values[b, :, :past[b]] = v[:, :past[b]]
            layers.append((keys, values))
        lengths = torch.tensor([n for n, _, _, _, _ in chunk])
        out = self.base(inputs_embeds=self.embedding(ids), attention_mask=attention, position_ids=positions,
                        past_key_values=self._cache(layers), use_cache=True)
        scores = self._read(out.last_hidden_state, lengths - 1)
        for b, (_, i, row, _, _) in enumerate(chunk):
            self.values[i][row] = scores[b]
            if self.keep_bytes:
                self._keep(i, row, out.past_key_values, b, past[b], span)
        self._count(batch, width, lengths)


def edits_eligible(handle: ModelHandle, task: Task) -> bool:
    """Whether `EditScorer` reproduces `task.predict_proba`: a causal LM whose label scores are
    next-token masses ("first_token" label words, which the pool's read-out computes exactly), a
    cache it can reuse, and no hook on the model (a hooked forward must not reuse a clean cache)."""
    from tools.models.tasks import _has_hooks

    return (handle.kind == "causal_lm" and getattr(task, "scoring", None) == "first_token"
            and hasattr(task, "label_token_ids") and handle.accepts("past_key_values")
            and not _has_hooks(handle.model))


KEEP_BYTES = 128 << 20  # an edit search's scored rows kept as prefix sources (~50 of a 15-word text)


class EditScorer:
    """Calibrated label probabilities of edited versions of one text, as `task.predict_proba`
    gives them, for the edit-based tools' searches (issue 20: the counterfactual search was half of
    a mistakes report). An edit leaves the template and the words before it unchanged, so each
    edited prompt is scored from the KV cache of the original (a `_RowPool` of one row): only the
    tokens from the first changed one on run, all edits of a search round packed by that length;
    the template comes from the model's prefix memo, shared by every row. Texts that do not start
    with the original's template tokens, and every call while a hook is set, go to `fallback`
    (the plain batched `predict_proba`); so do models the pool cannot read (`edits_eligible`)."""

    def __init__(self, handle: ModelHandle, task: Task, text: str,
                 fallback: Callable[[Sequence[str]], np.ndarray], batch_size: int = 32,
                 keep_bytes: int = KEEP_BYTES) -> None:
        from tools.attribution.inputs import AttributionInput, Target

        self.handle, self.task, self.fallback = handle, task, fallback
        self.pool: _RowPool | None = None
        encoded = task.encode(text)  # type: ignore[attr-defined]
        if edits_eligible(handle, task) and any(encoded.content_mask):
            prefix = encoded.content_mask.index(True)
            inp = AttributionInput(text, list(encoded.input_ids), list(encoded.content_mask), [],
                                   Target("label", label=task.labels[0]), prefix, handle.pad_token_id,
                                   len(encoded.input_ids))
            self.pool = _RowPool(handle, task, batch_size)
            self.pool.add(inp)
            self.template = tuple(encoded.input_ids[:prefix])
            # a later round's edits extend this round's (a beam): keep what was scored as sources
            # of longer shared prefixes, but the prompt's end after the text, which none shares
            self.pool.keep_bytes = keep_bytes
            self.pool.keep_tail = encoded.content_mask[::-1].index(True)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), labels] calibrated probabilities (float64, rows summing to 1)."""
        from tools.models.tasks import _has_hooks

        texts = list(texts)
        if self.pool is None or _has_hooks(self.handle.model):
            return self.fallback(texts)
        n = len(self.template)
        rows: list[tuple[int, ...] | None] = []
        for text in texts:
            ids = self.task.encode(text).input_ids  # type: ignore[attr-defined]  # the length check too
            fits = len(ids) > n and tuple(ids[:n]) == self.template
            rows.append(tuple(ids[n:]) if fits else None)
        values = self.pool.values[0]
        self.pool.want(0, [r for r in dict.fromkeys(rows) if r is not None and r not in values])
        self.pool.run()
        out = np.zeros((len(texts), len(self.task.labels)), dtype=np.float64)
        for i, row in enumerate(rows):
            if row is not None:
                out[i] = values[row].double().exp().cpu().numpy()
        out /= np.where(out.sum(axis=1, keepdims=True) > 0, out.sum(axis=1, keepdims=True), 1.0)
        rest = [i for i, row in enumerate(rows) if row is None]
        if rest:
            out[rest] = self.fallback([texts[i] for i in rest])
        return out
