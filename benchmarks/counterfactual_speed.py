"""Counterfactual scoring speed (issue 20): the same rows searched with each edit scored whole
(`POOLED_EDITS = False`, batched `predict_proba`) and from the original's KV cache (`EditScorer`),
in the same run, on the default model. Prints each path's seconds, the ratio, and whether the
outputs agree (same edits, probabilities within 1e-4).

    python benchmarks/counterfactual_speed.py [--rows 11,24,...] [--threads N]
"""
from __future__ import annotations

import argparse
import time
from typing import Any

from batch_common import cold_context, load_average

DEFAULT_ROWS = "11,24,3,57"


def run_once(ctx: Any, row: int, pooled: bool) -> tuple[dict, float]:
    """One counterfactual of `row`, bypassing the result cache, and its seconds."""
    import tools.common
    from tools.registry import get_tool

    tools.common.POOLED_EDITS = pooled
    tool = get_tool("counterfactual")
    start = time.perf_counter()
    out = tool().run(ctx, tool.Params(id=row)).model_dump()
    return out, time.perf_counter() - start


def differences(a: dict, b: dict, tolerance: float = 1e-4) -> list[str]:
    """What differs between two outputs beyond `tolerance` (timings aside)."""
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
    ns = parser.parse_args()
    rows = [int(r) for r in ns.rows.split(",")]
    ctx = cold_context(threads=ns.threads)
    print(f"load {load_average()}", flush=True)
    run_once(ctx, rows[0], True)  # load the model, calibrate, fill the template memo: not timed
    totals = {False: 0.0, True: 0.0}
    agree = True
    for row in rows:
        old, old_s = run_once(ctx, row, False)
        new, new_s = run_once(ctx, row, True)
        totals[False] += old_s
        totals[True] += new_s
        diffs = differences(old, new)
        agree &= not diffs
        print(f"row {row}: {len(old['text'].split())} words, {old['candidates_scored']} candidates, "
              f"{old['rounds']} rounds: whole {old_s:.1f} s, from the original's cache {new_s:.1f} s "
              f"({old_s / new_s:.2f}x){'' if not diffs else '; DIFFERS: ' + '; '.join(diffs[:5])}", flush=True)
    print(f"counterfactual on {len(rows)} rows: whole {totals[False]:.1f} s, pooled {totals[True]:.1f} s, "
          f"ratio {totals[False] / totals[True]:.2f}x; outputs {'agree' if agree else 'DIFFER'} (1e-4); "
          f"load {load_average()}")


if __name__ == "__main__":
    main()
