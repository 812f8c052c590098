"""Batch attribution throughput (issue 20): the attribute tool (occlusion with its faithfulness
check) over the same rows, one row at a time through `run_tool` against `whybox batch`'s runner
(chunks of 8 rows, results appended to a table), each on its own cold result cache, same run.
The runner's attribute fast path scores the perturbations of all rows of a chunk in shared forwards
(tools/attribution/pooled.py); `--no-fast` times the runner going row by row instead.

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
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--no-fast", action="store_true")
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
    summary, batch_s = timed(lambda: run_batch(batch_ctx, ToolWork("attribute", args, batch_size=ns.batch_size,
                                                                          fast=not ns.no_fast), rows, out))
    print(f"batch runner: {batch_s:.1f} s, {len(rows) / batch_s:.3f} rows/s; ratio {loop_s / batch_s:.2f}x "
          f"(target >= 3x); load {load_average()}")
    same = all([t["word"] for t in summary.results[r.id]["output"]["top"]] == [t["word"] for t in o["top"]]
               for r, o in zip(rows, loop))
    gap = max(largest_gap(summary.results[r.id]["output"], o) for r, o in zip(rows, loop))
    print(f"same top words as the loop on every row: {same}; largest difference of any number in the outputs "
          f"(scores, faithfulness, probabilities; timings excluded): {gap:.2e}")


def largest_gap(a, b) -> float:
    """The largest absolute difference between numbers at the same place in two outputs."""
    if isinstance(a, dict):
        return max((largest_gap(a[k], b[k]) for k in a if k != "seconds" and k in b), default=0.0)
    if isinstance(a, list):
        return max((largest_gap(x, y) for x, y in zip(a, b)), default=0.0)
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b)
    return 0.0


if __name__ == "__main__":
    main()
