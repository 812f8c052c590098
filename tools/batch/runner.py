"""The batch runner: per-row work over a selection of rows, in chunks, written to a result table
as chunks finish, resumable after a kill, in-process or on Ray actors (tools/batch/ray_backend.py).

Chunks are fixed by position in the selection (rows[0:B], rows[B:2B], ...), whatever ran before,
and a chunk with any row missing from the table is computed whole again (only its missing rows
are appended). So an interrupted and resumed job, an uninterrupted one and a Ray job run the
model on the same batches and write the same results, each row exactly once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol, Sequence

from tools.batch.table import ResultTable
from tools.batch.work import BatchWork, job_key, row_key
from tools.progress import bar

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.data.dataset import Row


class Backend(Protocol):
    """Runs chunks of rows and yields (chunk index, results) as each chunk finishes, in any order."""

    def map(self, work: BatchWork, chunks: list[tuple[int, list[Row]]]) -> Iterator[tuple[int, list[Any]]]: ...


class InProcess:
    """The default: chunks run one after another on this process's model."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    def map(self, work: BatchWork, chunks: list[tuple[int, list[Row]]]) -> Iterator[tuple[int, list[Any]]]:
        for index, rows in chunks:
            yield index, work.run_rows(self.ctx, rows)


@dataclass
class BatchSummary:
    table: Path
    rows: int  # in the selection
    already_done: int  # found in the table when the job started
    computed: int  # rows written by this run
    errors: int  # rows whose result is an error message
    seconds: float
    backend: str
    results: dict[int, Any] = field(default_factory=dict, repr=False)  # row id -> result, selection order
    fresh: set[int] = field(default_factory=set, repr=False)  # ids of the rows this run computed

    def to_json(self) -> dict[str, Any]:
        return {"table": str(self.table), "rows": self.rows, "already_done": self.already_done,
                "computed": self.computed, "errors": self.errors, "seconds": round(self.seconds, 3),
                "backend": self.backend}


def table_for(ctx: ToolContext, work: BatchWork, out_dir: Path) -> ResultTable:
    job = work.job(ctx)
    return ResultTable(Path(out_dir), f"{work.name}-{job_key(job)[:16]}", job)


def run_batch(ctx: ToolContext, work: BatchWork, rows: Sequence[Row], out_dir: Path,
              backend: Backend | None = None, quiet: bool = True,
              on_chunk: Callable[[int, int], None] | None = None, backend_name: str = "in-process") -> BatchSummary:
    """Run `work` over `rows`, skipping rows already in the table under `out_dir`; returns every
    row's result. `on_chunk(done, total)` is called after each chunk is written (progress for a UI)."""
    start = time.perf_counter()
    rows = list(rows)
    with table_for(ctx, work, out_dir) as table:
        key_of_job = job_key(table.job)
        keys = [row_key(key_of_job, row) for row in rows]
        done = table.load()
        size = max(1, int(work.batch_size))
        chunks = [(i, rows[i:i + size]) for i in range(0, len(rows), size)
                  if any(k not in done for k in keys[i:i + size])]
        already = sum(1 for k in keys if k in done)
        progress = bar(len(rows), f"batch {work.name}", quiet=quiet)
        progress.n = progress.initial = already  # the ETA counts this run's rows only
        progress.refresh()
        computed, fresh_ids = 0, set()
        for index, results in (backend or InProcess(ctx)).map(work, chunks):
            if len(results) != len(rows[index:index + size]):  # our bug: never write a misaligned chunk
                raise RuntimeError(f"{work.name} returned {len(results)} results for "
                                   f"{len(rows[index:index + size])} rows.")
            fresh = []
            for row, key, result in zip(rows[index:index + size], keys[index:index + size], results):
                if key not in done:
                    entry = {"key": key, "id": row.id, "result": result}
                    done[key] = entry
                    fresh.append(entry)
                    fresh_ids.add(row.id)
            table.append(fresh)
            computed += len(fresh)
            progress.update(len(fresh))
            if on_chunk is not None:
                on_chunk(already + computed, len(rows))
        progress.close()
    results = {row.id: done[key]["result"] for row, key in zip(rows, keys)}
    errors = sum(1 for r in results.values() if isinstance(r, dict) and "error" in r)
    return BatchSummary(table.path, len(rows), already, computed, errors, time.perf_counter() - start,
                        backend_name, results, fresh_ids)
