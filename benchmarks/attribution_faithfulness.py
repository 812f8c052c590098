"""Faithfulness of each attribution method on the demo dataset: mean ERASER AOPC
comprehensiveness (higher is better) and sufficiency (lower is better) next to random rankings,
the share of rows where the method beats random on both, and seconds per row.

    python benchmarks/attribution_faithfulness.py [--rows N] [--methods a,b] [--threads T]

Rows are an evenly spaced sample of the dataset (deterministic). Results go through the same
`explain` the `attribute` tool uses.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks.sampling import evenly_spaced  # noqa: E402
from tools.attribution.catalog import NAMES as METHODS  # noqa: E402
from tools.attribution.engine import Request, explain  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40, help="rows sampled evenly from the dataset (0 = all)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threads", type=int, default=2)
    ns = parser.parse_args()
    torch.set_num_threads(ns.threads)
    from tools.context import Workspace
    from tools.settings import Settings

    ws = Workspace(Settings.from_env(), quiet=True)
    rows = evenly_spaced(ws.dataset.rows, ns.rows)
    print(f"model {ws.model.name}, dataset {ws.dataset.name}: {len(rows)} rows, {torch.get_num_threads()} thread(s)")
    print(f"{'method':22s} {'comp':>7s} {'rand':>7s} {'suff':>7s} {'rand':>7s} {'beats both':>10s} {'s/row':>6s}")
    for method in ns.methods.split(","):
        comp, suff, rcomp, rsuff, beats, seconds = [], [], [], [], [], []
        for row in rows:
            start = time.perf_counter()
            f = explain(ws.model, ws.task, row.text, Request(method=method))["faithfulness"]
            seconds.append(time.perf_counter() - start)
            comp.append(f["comprehensiveness"])
            suff.append(f["sufficiency"])
            rcomp.append(f["random_comprehensiveness"])
            rsuff.append(f["random_sufficiency"])
            beats.append(f["beats_random"])
        print(f"{method:22s} {np.mean(comp):7.3f} {np.mean(rcomp):7.3f} {np.mean(suff):7.3f} {np.mean(rsuff):7.3f} "
              f"{np.mean(beats):10.0%} {np.mean(seconds):6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
