"""Ray as a batch backend: chunks of rows are sharded over Ray actors, each holding its own model
(loaded once, by its own Workspace), with a bounded number of chunks in flight per actor. The
results come back to the driver, which alone writes the result table, so resuming works exactly
as in-process and a chunk Ray retries is still written once.

Faults: actors restart when their process dies (`max_restarts`) and Ray re-runs the chunk that was
in flight on them (`max_task_retries`); a chunk that still fails is given to another actor, at
most `MAX_RESUBMITS` times, then the job fails with what Ray said. `ray` is the optional extra
`whybox[ray]`; without it `--ray` says how to install it.
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Iterator

from tools.errors import WhyboxError

if TYPE_CHECKING:
    from tools.batch.work import BatchWork
    from tools.data.dataset import Row
    from tools.settings import Settings

MAX_RESUBMITS = 3
OBJECT_STORE_BYTES = 200 * 1024 * 1024  # a local cluster shares the machine: keep the store small


class RowWorker:
    """One Ray actor: a Workspace of its own (model loaded on first chunk), the driver's label edits."""

    def __init__(self, settings: Settings, label_edits: dict[int, str], threads: int) -> None:
        import torch

        from tools.context import ToolContext, Workspace

        torch.set_num_threads(max(1, threads))
        self.ctx = ToolContext(Workspace(settings, quiet=True))
        self.ctx.label_edits.update(label_edits)

    def info(self) -> dict[str, Any]:
        """What the driver checks before sharding: the same model and data as its own."""
        return {"pid": os.getpid(), "model_hash": self.ctx.workspace.model_hash,
                "data_hash": self.ctx.dataset.content_hash()}

    def run(self, work: BatchWork, row_ids: list[int]) -> list[Any]:
        rows = [self.ctx.dataset.get(i) for i in row_ids]
        return work.run_rows(self.ctx, rows)


def import_ray():
    try:
        import ray
    except ImportError:
        raise WhyboxError("--ray and --ray-address need Ray, which is not installed.",
                          "pip install 'whybox[ray]'.") from None
    return ray


class RayBackend:
    """`with RayBackend(settings, ...) as backend: run_batch(..., backend=backend)`.

    `address=None` starts a local cluster of `workers` CPUs (no dashboard, a 200 MB object store)
    and stops it on exit; an address (`ray://host:10001`, `auto`) joins an existing cluster and
    leaves it running. One actor per worker, `threads` torch threads each."""

    def __init__(self, settings: Settings, workers: int = 2, address: str | None = None,
                 label_edits: dict[int, str] | None = None, in_flight: int = 2, threads: int = 1,
                 max_restarts: int = 2) -> None:
        if workers < 1:
            raise WhyboxError(f"--workers must be at least 1, not {workers}.")
        self.settings = settings
        self.workers = workers
        self.address = address
        self.label_edits = dict(label_edits or {})
        self.in_flight = max(1, in_flight)
        self.threads = threads
        self.max_restarts = max_restarts
        self.actors: list[Any] = []
        self._started = False
        self.resubmits = 0

    # ----- cluster and actors ---------------------------------------------------------------
    def __enter__(self) -> "RayBackend":
        ray = import_ray()
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False}
            if self.address:
                ray.init(address=self.address, **options)
            else:
                ray.init(num_cpus=self.workers, object_store_memory=OBJECT_STORE_BYTES,
                         runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}},
                         **options)
                self._started = True
        try:
            remote = ray.remote(num_cpus=1, max_restarts=self.max_restarts, max_task_retries=self.max_restarts)
            worker_class = remote(RowWorker)
            self.actors = [worker_class.remote(self.settings, self.label_edits, self.threads)
                           for _ in range(self.workers)]
            self.check_workers(ray)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def check_workers(self, ray) -> None:
        """Every actor sees the driver's model and data (a remote cluster may have other files)."""
        from tools.context import Workspace

        mine = Workspace(self.settings, quiet=True)
        want = {"model_hash": mine.model_hash, "data_hash": mine.dataset.with_labels(self.label_edits).content_hash()}
        for info in ray.get([a.info.remote() for a in self.actors]):
            for name, value in want.items():
                if info[name] != value:
                    raise WhyboxError(f"A Ray worker (pid {info['pid']}) sees another {name.split('_')[0]} than this "
                                      "process.", "Give every node the same model folder and data file.")

    def worker_pids(self) -> list[int]:
        ray = import_ray()
        return [info["pid"] for info in ray.get([a.info.remote() for a in self.actors])]

    def __exit__(self, *exc: Any) -> None:
        ray = import_ray()
        for actor in self.actors:
            try:
                ray.kill(actor)
            except Exception:  # noqa: BLE001 - an actor already gone is what we want
                pass
        self.actors = []
        if self._started:
            ray.shutdown()
            self._started = False

    # ----- the work --------------------------------------------------------------------------
    def map(self, work: BatchWork, chunks: list[tuple[int, list[Row]]]) -> Iterator[tuple[int, list[Any]]]:
        """Keep at most `in_flight` chunks per actor queued; yield each chunk as it finishes."""
        ray = import_ray()
        work_ref = ray.put(work)
        queue = list(reversed(chunks))
        running: dict[Any, tuple[int, int, list[Row], int]] = {}  # ref -> (actor, index, rows, tries)

        def submit(actor: int, index: int, rows: list[Row], tries: int) -> None:
            ref = self.actors[actor].run.remote(work_ref, [r.id for r in rows])
            running[ref] = (actor, index, rows, tries)

        for _ in range(self.in_flight):  # round robin: the first chunks go one to each actor
            for actor in range(len(self.actors)):
                if queue:
                    submit(actor, *queue.pop(), 0)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            ref = ready[0]
            actor, index, rows, tries = running.pop(ref)
            try:
                results = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:  # the work itself raised: not a fault to retry
                cause = exc.cause if isinstance(exc.cause, WhyboxError) else None
                if cause is not None:
                    raise cause from None
                raise
            except ray.exceptions.RayError as exc:  # the actor died past its restarts, a node was lost
                if tries >= MAX_RESUBMITS:
                    raise WhyboxError(f"Ray could not run rows {rows[0].id}-{rows[-1].id} after {tries + 1} tries: "
                                      f"{type(exc).__name__}.") from None
                self.resubmits += 1
                submit((actor + 1) % len(self.actors), index, rows, tries + 1)
                continue
            if queue:
                submit(actor, *queue.pop(), 0)
            yield index, results
