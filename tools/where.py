"""The `where` row selector of tools.md: all keys optional, combined with AND."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable

from pydantic import BaseModel, ConfigDict, Field

from tools.errors import InputError

if TYPE_CHECKING:
    from tools.data import Dataset, Row


class Where(BaseModel):
    """Row filter. `includes` is a case-insensitive whole-word (or whole-phrase) match."""

    model_config = ConfigDict(extra="forbid")

    ids: list[int] | None = None
    includes: str | None = None
    label: str | None = None
    prediction: str | None = None
    min_words: int | None = Field(default=None, ge=0)
    max_words: int | None = Field(default=None, ge=0)
    correct: bool | None = None
    match: dict[str, str] | None = Field(
        default=None, description="{column: value}: another column of the dataset equals the value (case-insensitive)")

    @property
    def needs_predictions(self) -> bool:
        return self.prediction is not None or self.correct is not None

    def is_empty(self) -> bool:
        return not self.model_dump(exclude_none=True)

    def describe(self) -> str:
        """Words for narration, e.g. 'rows that mention "price" and are longer than 20 words'."""
        parts = []
        if self.ids is not None:
            parts.append(f"ids {', '.join(map(str, self.ids))}")
        if self.includes:
            parts.append(f'mentioning "{self.includes}"')
        if self.label:
            parts.append(f"labelled {self.label}")
        if self.prediction:
            parts.append(f"predicted {self.prediction}")
        if self.min_words is not None and self.max_words is not None:
            parts.append(f"with {self.min_words} to {self.max_words} words")
        elif self.min_words is not None:
            parts.append(f"with at least {self.min_words} words")
        elif self.max_words is not None:
            parts.append(f"with at most {self.max_words} words")
        if self.correct is not None:
            parts.append("predicted correctly" if self.correct else "misclassified")
        for column, value in (self.match or {}).items():
            parts.append(f"with {column} {value}")
        return "rows " + " and ".join(parts) if parts else "all rows"


def label_check(value: str, known: list[str], what: str) -> str:
    """`value` as spelled in `known` (case-insensitive), else one line listing the labels."""
    for label in known:
        if label.lower() == value.lower():
            return label
    raise InputError(f"Unknown {what} {value!r}.", f"Labels: {', '.join(known) or '(none)'}.")


def _matching(dataset: "Dataset", rows: list["Row"], column: str, value: str) -> list["Row"]:
    """Rows whose `column` equals `value`, case-insensitively. An unknown column or a value the
    column never takes is the user's mistake: say which columns and values exist."""
    values = {str(row.extra.get(column)) for row in dataset.rows if row.extra.get(column) is not None}
    if not values:
        others = [c for c in dataset.columns if any(r.extra.get(c) is not None for r in dataset.rows[:50])]
        raise InputError(f"The dataset has no column {column!r} to match on.",
                         f"Other columns: {', '.join(others) or '(none)'}.")
    wanted = str(value).strip().lower()
    if wanted not in {v.lower() for v in values}:
        shown = ", ".join(sorted(values)[:20])
        raise InputError(f"No row has {column} = {value!r}.", f"Values of {column}: {shown}.")
    return [r for r in rows if str(r.extra.get(column, "")).lower() == wanted]


def select(
    dataset: "Dataset",
    where: Where | None,
    predicted: Callable[[], dict[int, str]] | None = None,
) -> list["Row"]:
    """Rows of `dataset` matching `where`; `predicted` is called only if the filter needs it."""
    if where is None or where.is_empty():
        return list(dataset.rows)
    if where.min_words is not None and where.max_words is not None and where.min_words > where.max_words:
        raise InputError(f"min_words ({where.min_words}) is larger than max_words ({where.max_words}).")
    rows = list(dataset.rows)
    if where.ids is not None:
        for row_id in where.ids:
            dataset.get(row_id)  # unknown ids are an error, not an empty result
        wanted = set(where.ids)
        rows = [r for r in rows if r.id in wanted]
    if where.includes:
        phrase = where.includes.strip()
        if not phrase:
            raise InputError("`includes` is empty.")
        pattern = re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", re.IGNORECASE)
        rows = [r for r in rows if pattern.search(r.text)]
    for column, value in (where.match or {}).items():
        rows = _matching(dataset, rows, column, value)
    if where.label is not None:
        label = label_check(where.label, dataset.labels, "label")
        rows = [r for r in rows if r.label == label]
    if where.min_words is not None:
        rows = [r for r in rows if r.n_words >= where.min_words]
    if where.max_words is not None:
        rows = [r for r in rows if r.n_words <= where.max_words]
    if where.needs_predictions:
        if predicted is None:
            raise InputError("This filter needs model predictions, and no model is loaded.")
        preds = predicted()
        if where.prediction is not None:
            known = sorted(set(preds.values()) | set(dataset.labels))
            label = label_check(where.prediction, known, "predicted label")
            rows = [r for r in rows if preds.get(r.id) == label]
        if where.correct is not None:
            if not dataset.has_labels:
                raise InputError("`correct` needs gold labels, and this dataset has none.")
            rows = [r for r in rows if (preds.get(r.id) == r.label) == where.correct]
    return rows
