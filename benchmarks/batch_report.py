"""The demo mistakes report, cold (issue 20): every misclassified row explained (predict,
attribute with faithfulness, counterfactual) through the batch runner on an empty cache, then the
HTML (and with --pdf the PDF). Prints the time, the sections and the summary's headline numbers.

    python benchmarks/batch_report.py [--k N] [--pdf]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from batch_common import cold_context, load_average, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--k", type=int, default=None, help="explain only the k most confident mistakes")
    parser.add_argument("--pdf", action="store_true")
    ns = parser.parse_args()

    from agent.reports import write_report
    from agent.reports.content import mistakes_report

    ctx = cold_context()
    print(f"load {load_average()}", flush=True)
    _, predictions = timed(ctx.predictions)
    content, explain = timed(lambda: mistakes_report(ctx, None, ns.k, quiet=True))
    files, render = timed(lambda: write_report(content, ctx.workspace, Path(tempfile.mkdtemp()), pdf=ns.pdf))
    per_step: dict[str, float] = {}
    for record in content.records[1:]:
        for step in record.steps:
            per_step[step.tool] = per_step.get(step.tool, 0.0) + step.seconds
    s = content.summary or {}
    print(f"mistakes report cold: predictions {predictions:.1f} s + {s.get('explained')} rows explained "
          f"{explain:.1f} s + render {render:.1f} s = {predictions + explain + render:.1f} s (target <= 120 s)")
    shared = explain - sum(per_step.values())  # the chunks' pooled attributions run before their steps
    print("  per step: " + ", ".join(f"{k} {v:.1f} s" for k, v in per_step.items())
          + f"; outside the steps (each chunk's attributions in shared forwards, the table) {shared:.1f} s")
    print(f"  {files.sections} sections, {files.figures} figures, {files.pages} pages; {s.get('mistakes')} mistakes, "
          f"attributions beating random {s.get('attributions_beating_random')}; load {load_average()}")


if __name__ == "__main__":
    main()
