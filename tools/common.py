"""Helpers several tools share (design.md: tools never import each other): the instance a call
names, the rows a filter selects, a row as shown to the user, the classifier set-up of the
edit-based tools, cosine similarity."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from tools.base import InstanceParams
from tools.data.dataset import validate_text
from tools.errors import InputError, ToolUnavailable
from tools.where import Where, select

if TYPE_CHECKING:  # tool modules import this one; it must not pull torch in at import time
    from tools.context import ToolContext

MAX_WORDS = 120  # the edit-based tools search edits of texts up to this many words


def resolve_instance(ctx: ToolContext, params: InstanceParams) -> tuple[str, dict[str, Any]]:
    """The text to run and what to say about where it came from (row id and gold label)."""
    if params.id is not None:
        row = ctx.dataset.get(params.id)
        return row.text, {"id": row.id, "gold_label": row.label}
    return validate_text(params.text or ""), {}


def selected_rows(ctx: ToolContext, where: Where | None):
    """Rows matching `where`; predictions are computed only if the filter needs them."""
    return select(ctx.dataset, where, ctx.predicted_labels)


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
    """Refuses generation tasks and overlong text, then scores the original once."""
    task = ctx.task
    if not task.is_classifier:
        raise ToolUnavailable(f"`{tool}` works on classifiers; the model is loaded for generation.",
                              "Load it with --labels (or --task classify).")
    words = text.split()
    if len(words) > MAX_WORDS:
        raise InputError(f"The text has {len(words)} words; `{tool}` searches edits of texts up to {MAX_WORDS} words.")

    def score(texts: Sequence[str]) -> np.ndarray:
        return task.predict_proba(list(texts), batch_size=32, shared_prefix=True)[0]

    original = score([text])[0]
    return ClassifierSetup(task, words, score, list(task.labels), original, int(np.argmax(original)))


def cosine(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of `matrix` with `query`."""
    matrix = matrix / np.clip(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12, None)
    return matrix @ (query / max(float(np.linalg.norm(query)), 1e-12))
