"""Ray against in-process on the same cores (issue 20): the same rows through the batch runner,
in this process (torch on 2 threads) and on a local Ray cluster of 2 actors (1 thread each, one
model each), each on a cold result cache. Prints the cluster's start-up overhead, rows/s, the
ratio, rows/s per worker and a projection to N machines (rows/s per worker x workers).

    python benchmarks/batch_ray.py [--rows N] [--tool attribute] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from batch_common import cold_context, load_average, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--tool", default="attribute")
    parser.add_argument("--args", default='{"method": "occlusion"}')
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    ns = parser.parse_args()

    from tools.batch import ToolWork, run_batch
    from tools.batch.ray_backend import RayBackend

    work = ToolWork(ns.tool, json.loads(ns.args), batch_size=ns.batch_size)
    local = cold_context(threads=ns.workers)
    rows = local.dataset.rows[: ns.rows]
    local.model
    print(f"{len(rows)} rows of {ns.tool} {ns.args}, chunks of {ns.batch_size}; load {load_average()}", flush=True)
    _, inproc = timed(lambda: run_batch(local, work, rows, Path(tempfile.mkdtemp())))
    print(f"in-process ({ns.workers} torch threads): {inproc:.1f} s, {len(rows) / inproc:.3f} rows/s", flush=True)
    remote = cold_context()
    backend, start = timed(lambda: RayBackend(remote.settings, workers=ns.workers).__enter__())
    try:
        spare = remote.dataset.rows[-ns.workers * ns.batch_size:]  # outside the job: each actor loads its model
        _, warm = timed(lambda: run_batch(remote, work, spare, Path(tempfile.mkdtemp()), backend=backend))
        _, on_ray = timed(lambda: run_batch(remote, work, rows, Path(tempfile.mkdtemp()), backend=backend))
    finally:
        backend.__exit__(None, None, None)
    per_worker = len(rows) / on_ray / ns.workers
    print(f"ray, {ns.workers} actors x 1 thread: cluster start {start:.1f} s, first chunks (model loads) "
          f"{warm:.1f} s, job {on_ray:.1f} s, {len(rows) / on_ray:.3f} rows/s, {per_worker:.3f} rows/s per worker")
    overall = inproc / (on_ray + start + warm)
    print(f"ratio in-process / ray job: {inproc / on_ray:.2f}x (with start-up: {overall:.2f}x); load {load_average()}")
    for machines in (1, 4, 16):
        rate = per_worker * machines * ns.workers
        print(f"projection: {machines} machines x {ns.workers} workers ~ {rate:.2f} rows/s")


if __name__ == "__main__":
    main()
