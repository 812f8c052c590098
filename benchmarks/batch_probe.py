"""Cold probe of all layers (issue 20): hidden states of every row in one batched capture pass for
all layers (16 texts per forward) against one text per forward, then the fits (probe, control
task, MDL) of every layer. The demo's 4-class `domain` column is the concept (218 rows).

    python benchmarks/batch_probe.py [--rows N] [--no-reference]
"""
from __future__ import annotations

import argparse

from batch_common import cold_context, load_average, timed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=None, help="only the first N rows for the capture ratio")
    parser.add_argument("--no-reference", action="store_true", help="skip the one-text-per-forward reference")
    ns = parser.parse_args()

    from tools.common import dataset_states
    from tools.internals.probing import pooled_states
    from tools.registry import run_tool

    ctx = cold_context()
    handle, task = ctx.model, ctx.task
    texts = [r.text for r in ctx.dataset.rows][: ns.rows]
    print(f"model {handle.name}, {handle.n_layers} blocks; {len(texts)} rows for the capture ratio; "
          f"load {load_average()}", flush=True)
    _, batched = timed(lambda: pooled_states(handle, task, texts, batch_size=16))
    print(f"capture, one batched pass (16 per forward): {batched:.1f} s, {len(texts) / batched:.2f} rows/s",
          flush=True)
    if not ns.no_reference:
        _, alone = timed(lambda: pooled_states(handle, task, texts, batch_size=1))
        print(f"capture, one text per forward: {alone:.1f} s, {len(texts) / alone:.2f} rows/s; "
              f"batched is {alone / batched:.2f}x faster", flush=True)
    _, states = timed(lambda: dataset_states(ctx))  # the whole dataset, cold: what a first probe pays
    result, fits = timed(lambda: run_tool(ctx, "probe", {"concept": "domain"}))
    out = result.output
    print(f"cold probe of all {len(out['layers'])} layers over {out['rows_total']} rows ({len(out['classes'])} "
          f"classes): capture {states:.1f} s + fits {fits:.1f} s = {states + fits:.1f} s (target <= 90 s); "
          f"best layer {out['best_layer']}; load {load_average()}")


if __name__ == "__main__":
    main()
