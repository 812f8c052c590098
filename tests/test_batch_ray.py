"""Batch jobs on Ray (issue 20): a local 2-worker cluster on this machine (no dashboard, a 200 MB
object store), stopped by the test. A worker process SIGKILLed mid-job: the job completes, every
row once, results identical to the in-process run; rows an in-process run finished are skipped."""
from __future__ import annotations

import os
import signal

import pytest

from tests.test_batch import _ctx, _table, without_timings
from tools.batch import ToolWork, run_batch

ray = pytest.importorskip("ray", reason="the ray extra (whybox[ray]) is not installed")


@pytest.fixture
def no_ray_left():
    yield
    if ray.is_initialized():  # a failed test must not leave its cluster running
        ray.shutdown()


@pytest.mark.slow
def test_a_killed_worker_loses_no_row_and_changes_no_result(tiny_models, tiny_data, tmp_path, no_ray_left):
    from tools.batch.ray_backend import RayBackend

    ctx = _ctx(tiny_models, tiny_data)
    work = ToolWork("attribute", {"method": "occlusion"}, batch_size=1)
    other = _ctx(tiny_models, tiny_data, home=tmp_path / "other-home")  # nothing reused from its result cache
    local = run_batch(other, work, other.dataset.rows, tmp_path / "local")
    run_batch(ctx, work, ctx.dataset.rows[:3], tmp_path / "ray")  # the driver resumes an in-process table
    killed: list[int] = []
    import torch

    # the actors use this process's torch threads: another thread count may round float sums another way
    with RayBackend(ctx.settings, workers=2, in_flight=2, threads=torch.get_num_threads()) as backend:
        before = backend.worker_pids()
        assert len(set(before)) == 2 and os.getpid() not in before

        def kill_one(done: int, total: int) -> None:
            if not killed:  # after the first chunk: the other chunks are queued or running on both actors
                os.kill(before[0], signal.SIGKILL)
                killed.append(before[0])

        on_ray = run_batch(ctx, work, ctx.dataset.rows, tmp_path / "ray", backend=backend, on_chunk=kill_one,
                           backend_name="ray")
        after = backend.worker_pids()
    assert not ray.is_initialized()  # the local cluster it started is stopped
    assert killed and after[0] != before[0] and after[1] == before[1]  # actor 0 was restarted by Ray
    assert (on_ray.rows, on_ray.already_done, on_ray.computed, on_ray.errors) == (10, 3, 7, 0)
    got, want = _table(on_ray.table), _table(local.table)
    assert len({e["key"] for e in got}) == len(got) == 10  # every row exactly once
    assert sorted(e["key"] for e in got) == sorted(e["key"] for e in want)
    by_key = {e["key"]: without_timings(e) for e in want}
    assert all(without_timings(e) == by_key[e["key"]] for e in got)  # identical results
