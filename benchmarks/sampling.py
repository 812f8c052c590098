"""Rows a benchmark reads: `n` spread evenly over the dataset (all of them for 0 or n >= len), so
two benchmarks with the same --rows read the same rows and their figures can be compared."""
from __future__ import annotations

from typing import Sequence, TypeVar

import numpy as np

T = TypeVar("T")


def evenly_spaced(rows: Sequence[T], n: int) -> list[T]:
    if not n or n >= len(rows):
        return list(rows)
    return [rows[int(i)] for i in np.linspace(0, len(rows) - 1, n)]
