"""Batch attribution throughput (issue 20): the attribute tool (occlusion with its faithfulness
check) over the same rows, one row at a time through `run_tool` against `whybox batch`'s runner
(chunks of 8 rows, results appended to a table), each on its own cold result cache, same run.

    python benchmarks/batch_attribution.py [--rows N] [--method occlusion]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from batch_common import cold_context, load_average, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=24)
    parser.add_argument("--method", default="occlusion")
    ns = parser.parse_args()

    from tools.batch import ToolWork, run_batch
    from tools.registry import run_tool

    loop_ctx, batch_ctx = cold_context(), cold_context()
    rows = loop_ctx.dataset.rows[: ns.rows]
    loop_ctx.model, batch_ctx.model  # both models loaded before the clocks start
    args = {"method": ns.method}
    print(f"{len(rows)} rows, {ns.method} + faithfulness; load {load_average()}", flush=True)
    loop, loop_s = timed(lambda: [run_tool(loop_ctx, "attribute", {"id": r.id, **args}).output for r in rows])
    print(f"one row at a time: {loop_s:.1f} s, {len(rows) / loop_s:.3f} rows/s", flush=True)
    out = Path(tempfile.mkdtemp(prefix="whybox-bench-batch-"))
    summary, batch_s = timed(lambda: run_batch(batch_ctx, ToolWork("attribute", args, batch_size=8), rows, out))
    print(f"batch runner: {batch_s:.1f} s, {len(rows) / batch_s:.3f} rows/s; ratio {loop_s / batch_s:.2f}x "
          f"(target >= 3x); load {load_average()}")
    same = all(summary.results[r.id]["output"]["top"] == o["top"] for r, o in zip(rows, loop))
    print(f"same top words as the loop on every row: {same}")


if __name__ == "__main__":
    main()
