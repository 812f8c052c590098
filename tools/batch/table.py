"""The on-disk result table of a batch job: JSONL, one line per row, appended and fsync'd as
results finish, so a killed job keeps everything it finished and a re-run does only the rest.

Each line is `{"key": ..., "id": ..., "result": ...}`; `key` is the row's cache-style key (the
job's model hash, task, tool, version and params, plus the row's id, text and gold label), so a
row whose text or label changed is redone and a different job never reads another's rows. A kill
can tear only the last line: it is cut off on load and that row is redone. A bad line elsewhere
(a damaged file) is dropped the same way, by rewriting the file atomically without it. One writer
at a time: a second job on the same table is refused while the first holds its lock.
"""
from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from tools.atomic import write_bytes_atomic, write_json_atomic
from tools.cache import canonical_json
from tools.errors import WhyboxError


class ResultTable:
    """`<folder>/<name>.jsonl` plus `<name>.job.json` (what the job is, for people reading the folder)."""

    def __init__(self, folder: Path, name: str, job: dict[str, Any]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / f"{name}.jsonl"
        self.job = job
        self._lock_handle: Any = None
        self.dropped_lines = 0  # torn or damaged lines found (and removed) by the last load

    # ----- one writer ---------------------------------------------------------------------
    def __enter__(self) -> "ResultTable":
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.path.with_suffix(".lock"), "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WhyboxError(f"Another whybox batch job is writing {self.path}.",
                              "Wait for it to finish, or give this one another --out folder.") from None
        self._lock_handle = handle
        write_json_atomic(self.path.with_suffix(".job.json"), self.job)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    # ----- reading ------------------------------------------------------------------------
    def load(self) -> dict[str, dict[str, Any]]:
        """Finished rows by key. A torn last line is truncated away; damaged lines are dropped."""
        self.dropped_lines = 0
        if not self.path.exists():
            return {}
        data = self.path.read_bytes()
        entries: dict[str, dict[str, Any]] = {}
        good_end, damaged = 0, False
        position = 0
        for raw in data.splitlines(keepends=True):
            position += len(raw)
            entry = _parse(raw)
            if entry is None:
                self.dropped_lines += 1
                damaged = damaged or raw.endswith(b"\n")  # a complete bad line, not just a torn tail
                continue
            entries.setdefault(entry["key"], entry)
            good_end = position
        if damaged:
            write_bytes_atomic(self.path, b"".join(_line(e) for e in entries.values()))
        elif good_end < len(data):
            with open(self.path, "r+b") as handle:  # the torn tail of a killed append
                handle.truncate(good_end)
                os.fsync(handle.fileno())
        return entries

    def rows(self) -> Iterator[dict[str, Any]]:
        """Every finished entry in file order (read-only; no repair)."""
        if not self.path.exists():
            return
        for raw in self.path.read_bytes().splitlines(keepends=True):
            if (entry := _parse(raw)) is not None:
                yield entry

    # ----- writing ------------------------------------------------------------------------
    def append(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append one line per entry in one write, then fsync: after this returns they survive a kill."""
        payload = b"".join(_line(e) for e in entries)
        if not payload:
            return
        with open(self.path, "ab") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())


def _line(entry: dict[str, Any]) -> bytes:
    return (canonical_json(entry) + "\n").encode("utf-8")


def _parse(raw: bytes) -> dict[str, Any] | None:
    """An entry, or None for a torn (no newline) or unreadable line."""
    if not raw.endswith(b"\n"):
        return None
    try:
        entry = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or "result" not in entry:
        return None
    return entry
