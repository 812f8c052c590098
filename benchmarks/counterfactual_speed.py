"""Counterfactual scoring speed (issue 20): the same rows searched with each edit scored whole
(`POOLED_EDITS = False`, batched `predict_proba`) and from the original's KV cache (`EditScorer`),
in the same run, on the default model, the two interleaved and the fastest of `--repeat` runs
counted (the machine may be shared). Prints each path's seconds, the ratio, and whether the
outputs agree (same edits, probabilities within 1e-4).

    python benchmarks/counterfactual_speed.py [--rows 11,24,...] [--threads N] [--repeat N]
"""
from __future__ import annotations

import argparse
import time
from typing import Any

from batch_common import cold_context, load_average

DEFAULT_ROWS = "11,24,3,57"


def run_once(ctx: Any, row: int, pooled: bool) -> tuple[dict, float, float]:
    """One counterfactual of `row`, bypassing the result cache: its output, wall and CPU seconds."""
    import tools.common
    from tools.registry import get_tool

    tools.common.POOLED_EDITS = pooled
    tool = get_tool("counterfactual")
    wall, cpu = time.perf_counter(), time.process_time()
    out = tool().run(ctx, tool.Params(id=row)).model_dump()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def differences(a: dict, b: dict, tolerance: float = 1e-4 + 1e-9) -> list[str]:
    """What differs between two outputs beyond `tolerance` (timings aside; the outputs are rounded
    to 4 decimals, so a difference of 1e-6 may move the last one)."""
    diffs = []

    def walk(x: Any, y: Any, where: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y)):
                if key != "search_seconds":
                    walk(x.get(key), y.get(key), f"{where}.{key}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{where}[{i}]")
        elif isinstance(x, float) and isinstance(y, float):
            if abs(x - y) > tolerance:
                diffs.append(f"{where}: {x} vs {y}")
        elif x != y:
            diffs.append(f"{where}: {x!r} vs {y!r}")

    walk(a, b, "")
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default=DEFAULT_ROWS, help="comma-separated row ids of the demo data")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each path per row; the fastest counts")
    ns = parser.parse_args()
    rows = [int(r) for r in ns.rows.split(",")]
    ctx = cold_context(threads=ns.threads)
    print(f"load {load_average()}", flush=True)
    run_once(ctx, rows[0], True)  # load the model, calibrate, fill the template memo: not timed
    totals = {False: [0.0, 0.0], True: [0.0, 0.0]}  # wall, CPU
    agree = True
    for row in rows:
        best: dict[bool, list[float]] = {}
        outputs: dict[bool, dict] = {}
        for _ in range(ns.repeat):  # interleaved, so that a busy spell of the shared machine hits both
            for pooled in (False, True):
                outputs[pooled], wall, cpu = run_once(ctx, row, pooled)
                old = best.get(pooled, [float("inf"), float("inf")])
                best[pooled] = [min(old[0], wall), min(old[1], cpu)]
        for pooled in (False, True):
            totals[pooled][0] += best[pooled][0]
            totals[pooled][1] += best[pooled][1]
        diffs = differences(outputs[False], outputs[True])
        agree &= not diffs
        out = outputs[False]
        print(f"row {row}: {len(out['text'].split())} words, {out['candidates_scored']} candidates, "
              f"{out['rounds']} rounds: whole {best[False][0]:.1f} s, pooled {best[True][0]:.1f} s "
              f"({best[False][0] / best[True][0]:.2f}x; CPU {best[False][1] / best[True][1]:.2f}x)"
              f"{'' if not diffs else '; DIFFERS: ' + '; '.join(diffs[:5])}", flush=True)
    (old_wall, old_cpu), (new_wall, new_cpu) = totals[False], totals[True]
    print(f"counterfactual on {len(rows)} rows (fastest of {ns.repeat}): whole {old_wall:.1f} s, "
          f"pooled {new_wall:.1f} s, ratio {old_wall / new_wall:.2f}x "
          f"(CPU {old_cpu:.1f} s vs {new_cpu:.1f} s, {old_cpu / new_cpu:.2f}x); "
          f"outputs {'agree' if agree else 'DIFFER'} (1e-4); load {load_average()}")


if __name__ == "__main__":
    main()
