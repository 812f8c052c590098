"""On-disk result cache keyed by (model hash, data hash, tool, version, params).

Entries are JSON files named by the SHA-256 of the canonical key, written atomically. A corrupt
or unreadable entry is treated as a miss (and overwritten), never as an error.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, TypeVar

from tools.atomic import remove_dead_temps, write_json_atomic

T = TypeVar("T")


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def cache_key(**parts: Any) -> str:
    return hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest()


class ResultCache:
    """A folder of JSON entries; `hits` and `misses` count lookups (tests and benchmarks read them)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        remove_dead_temps(self.root, subfolders=True)  # entries whose writer was killed mid-write
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        path = self._path(key)
        try:
            with path.open("r", encoding="utf-8") as handle:
                entry = json.load(handle)
            if not isinstance(entry, dict) or entry.get("key") != key or "value" not in entry:
                raise ValueError("malformed entry")
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError):
            self.misses += 1  # corrupt: recompute and overwrite
            return None
        self.hits += 1
        return entry["value"]

    def put(self, key: str, value: Any) -> None:
        write_json_atomic(self._path(key), {"key": key, "value": value})

    def get_or_compute(self, key: str, compute: Callable[[], T]) -> T:
        cached = self.get(key)
        if cached is not None:
            return cached  # type: ignore[return-value]
        value = compute()
        self.put(key, value)
        return value
