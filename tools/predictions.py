"""Model predictions over the whole dataset: computed once (batched, with progress), then cached."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tools.cache import ResultCache, cache_key
from tools.data import Dataset
from tools.errors import ToolUnavailable
from tools.models import ModelHandle, Task

PREDICTIONS_VERSION = "1"


@dataclass
class PredictionTable:
    """Per-row label probabilities of a classifier, aligned with `ids`."""

    ids: list[int]
    labels: list[str]
    probs: np.ndarray  # [n_rows, n_labels]
    label_mass: np.ndarray  # [n_rows]; 1.0 for classifier heads

    @property
    def predicted(self) -> dict[int, str]:
        best = self.probs.argmax(axis=1)
        return {row_id: self.labels[i] for row_id, i in zip(self.ids, best)}

    def probs_of(self, row_id: int) -> dict[str, float]:
        index = self.ids.index(row_id)
        return {label: float(p) for label, p in zip(self.labels, self.probs[index])}

    def confidence(self) -> dict[int, float]:
        return {row_id: float(p) for row_id, p in zip(self.ids, self.probs.max(axis=1))}

    def to_json(self) -> dict:
        return {"ids": self.ids, "labels": self.labels, "probs": self.probs.tolist(),
                "label_mass": self.label_mass.tolist()}

    @classmethod
    def from_json(cls, data: dict) -> "PredictionTable":
        return cls(data["ids"], data["labels"], np.asarray(data["probs"], dtype=np.float64),
                   np.asarray(data["label_mass"]))


def compute_predictions(
    get_model: Callable[[], tuple[ModelHandle, Task]], model_hash: str, task_signature: str,
    dataset: Dataset, cache: ResultCache, batch_size: int = 16, quiet: bool = False,
) -> PredictionTable:
    """Cached by (model hash, task signature, texts); the model is loaded only on a miss."""
    if task_signature.startswith("generation"):
        raise ToolUnavailable(
            "The model is used as a text generator, so it has no label predictions over the dataset.",
            "Load it with --labels (or --task classify) to classify.",
        )
    key = cache_key(kind="predictions", version=PREDICTIONS_VERSION, model=model_hash,
                    task=task_signature, texts=dataset.texts_hash())
    cached = cache.get(key)
    if cached is not None:
        return PredictionTable.from_json(cached)
    handle, task = get_model()
    texts = [row.text for row in dataset.rows]
    probs, mass = task.predict_proba(texts, batch_size=batch_size, quiet=quiet)  # type: ignore[attr-defined]
    table = PredictionTable(dataset.ids, list(task.labels), probs, mass)
    cache.put(key, table.to_json())
    return table
