"""Helpers several tools share (design.md: tools never import each other): the instance a call
names, the rows a filter selects, a row as shown to the user (and its typed `RowView`), the
classifier set-up of the edit-based tools, cosine similarity, the dataset's pooled hidden states."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np
from pydantic import ConfigDict

from tools.base import InstanceParams, Output
from tools.data.dataset import validate_text
from tools.errors import InputError, ToolUnavailable
from tools.where import Where, label_check, select

if TYPE_CHECKING:  # tool modules import this one; it must not pull torch in at import time
    from tools.context import ToolContext

MAX_WORDS = 120  # the edit-based tools search edits of texts up to this many words
# The edit-based tools score their edits from the original text's KV cache (`EditScorer`, issue 20);
# False scores each batch of edited prompts whole (the reference tests and benchmarks compare with).
POOLED_EDITS = True


def resolve_instance(ctx: ToolContext, params: InstanceParams) -> tuple[str, dict[str, Any]]:
    """The text to run and what to say about where it came from (row id and gold label)."""
    if params.id is not None:
        row = ctx.dataset.get(params.id)
        return row.text, {"id": row.id, "gold_label": row.label}
    return validate_text(params.text or ""), {}


def selected_rows(ctx: ToolContext, where: Where | None):
    """Rows matching `where`; predictions are computed only if the filter needs them."""
    check_prediction_label(ctx, where)
    return select(ctx.dataset, where, ctx.predicted_labels)


def check_prediction_label(ctx: ToolContext, where: Where | None) -> None:
    """An unknown `prediction` label is refused before the dataset is predicted (issue 22: `count`
    ran the model on every row first). The labels the task can answer are known without a forward
    pass; a task without a fixed label set (generation) is checked after, against its answers."""
    if where is None or where.prediction is None:
        return
    labels = list(ctx.task.labels or [])
    if labels:
        label_check(where.prediction, sorted(set(labels) | set(ctx.dataset.labels)), "predicted label")


class RowView(Output):
    """A dataset row as shown to the user: id, text, gold label, the model's prediction when
    asked for, and the dataset's own extra columns (whatever the data file has, so allowed)."""

    model_config = ConfigDict(extra="allow")

    id: int
    text: str
    label: str | None = None
    prediction: str | None = None
    confidence: float | None = None


def row_view(ctx: ToolContext, row, with_prediction: bool) -> dict[str, Any]:
    view = row.to_dict()
    if with_prediction:
        table = ctx.predictions()
        probs = table.probs_of(row.id)
        view["prediction"] = max(probs, key=probs.get)
        view["confidence"] = round(max(probs.values()), 4)
    return view


def labelled_rows(ctx: ToolContext, where: Where | None):
    if not ctx.dataset.has_labels:
        raise InputError("This dataset has no gold labels, so there is nothing to score against.")
    rows = [r for r in selected_rows(ctx, where) if r.label is not None]
    if not rows:
        raise InputError(f"No labelled rows match: {(where or Where()).describe()}.")
    return rows


@dataclass
class ClassifierSetup:
    """What every edit-based tool starts from: the words, a batched scorer, the original prediction."""
    task: Any
    words: list[str]
    score: Callable[[Sequence[str]], np.ndarray]
    labels: list[str]
    original: np.ndarray
    current: int


def classifier_setup(ctx: ToolContext, text: str, tool: str) -> ClassifierSetup:
    """Refuses generation tasks and overlong text, then scores the original once. `score` is an
    `EditScorer` on causal LMs (edits cost their tokens from the first change on), else batched
    `predict_proba`."""
    task = ctx.task
    if not task.is_classifier:
        raise ToolUnavailable(f"`{tool}` works on classifiers; the model is loaded for generation.",
                              "Load it with --labels (or --task classify).")
    words = text.split()
    if len(words) > MAX_WORDS:
        raise InputError(f"The text has {len(words)} words; `{tool}` searches edits of texts up to {MAX_WORDS} words.")

    def batched(texts: Sequence[str]) -> np.ndarray:
        return task.predict_proba(list(texts), batch_size=32, shared_prefix=True)[0]

    score: Callable[[Sequence[str]], np.ndarray] = batched
    if POOLED_EDITS and ctx.model.kind == "causal_lm":
        from tools.attribution.pooled import EditScorer

        score = EditScorer(ctx.model, task, text, fallback=batched)
    original = score([text])[0]
    return ClassifierSetup(task, words, score, list(task.labels), original, int(np.argmax(original)))


def cosine(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `matrix` with `query`."""
    matrix = matrix / np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
    return matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))


def dataset_states(ctx: ToolContext):
    """[rows, layers+1, hidden] mean-pooled hidden states of every dataset row (cached; shared by
    probe, similar and influence)."""
    from tools.internals.probing import cached_states, pooled_states

    dataset, handle, task = ctx.dataset, ctx.model, ctx.task
    texts = [r.text for r in dataset.rows]
    signature = f"{handle.content_hash}|{task.signature}|{dataset.texts_hash()}|mean-content"
    key = hashlib.sha256(signature.encode()).hexdigest()[:24]
    return cached_states(ctx.settings.cache_dir, key, lambda: pooled_states(handle, task, texts, ctx.workspace.quiet))


def data_summary(ctx: ToolContext) -> dict[str, Any]:
    """What the loaded dataset is: source, size, columns, label counts, text lengths, domains
    (describe_data's output; explain_concept indexes it as a session document)."""
    import statistics
    from collections import Counter

    ds = ctx.dataset
    lengths = [row.n_words for row in ds.rows]
    counts = Counter(row.label for row in ds.rows if row.label is not None)
    extra_columns = [c for c in ds.columns if c not in ("id", ctx.settings.text_column, ctx.settings.label_column)]
    domains = {}
    if "domain" in extra_columns:
        domains = dict(sorted(Counter(str(r.extra.get("domain")) for r in ds.rows).items()))
    return {
        "name": ds.name,
        "source": ds.source,
        "rows": len(ds),
        "columns": ds.columns,
        "text_column": ctx.settings.text_column,
        "label_column": ctx.settings.label_column if ds.has_labels else None,
        "labels": {label: counts[label] for label in ds.labels},
        "words": {"min": min(lengths), "median": statistics.median(lengths),
                  "mean": round(statistics.fmean(lengths), 2), "max": max(lengths)},
        "domains": domains,
        "label_edits": len(ctx.label_edits),
    }


def model_summary(ctx: ToolContext) -> dict[str, Any]:
    """What the loaded model is: name, architecture, size, layers, task and labels (describe_model's
    output; explain_concept indexes it as a session document)."""
    handle, task = ctx.model, ctx.task
    return {
        "name": handle.name,
        "architecture": handle.architecture,
        "kind": handle.kind,
        "parameters": handle.n_parameters,
        "layers": handle.n_layers,
        "hidden_size": handle.hidden_size,
        "intermediate_size": handle.intermediate_size,
        "vocab_size": int(getattr(handle.config, "vocab_size", 0) or 0),
        "task": task.name,
        "labels": list(task.labels),
        "label_words": list(getattr(task, "label_words", []) or []),
        "prompt": getattr(getattr(task, "prompt", None), "signature", None),
        "calibrated": bool(getattr(task, "calibrate", False)),
        "content_hash": handle.content_hash,
        "folder": str(handle.folder),
        "device": handle.device,
    }
