"""Cold probe of all layers (issue 20): hidden states of every row in one batched capture pass for
all layers (16 texts per forward) against one text per forward, then the fits (probe, control
task, MDL) of every layer. The demo's 4-class `domain` column is the concept (218 rows).

    python benchmarks/batch_probe.py [--rows N] [--no-reference]

The capture runs the shared template once and stops each input after its text (no unembedding);
the "whole prompt" reference times the same batches run whole through the whole model (the
capture before that change), so the ratio of the two is what skipping that work buys.
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
        _, whole = timed(lambda: whole_prompt_states(handle, task, texts, batch_size=16))
        print(f"capture, whole prompts through the whole model (16 per forward): {whole:.1f} s; "
              f"skipping the template and the head is {whole / batched:.2f}x faster", flush=True)
        _, alone = timed(lambda: pooled_states(handle, task, texts, batch_size=1))
        print(f"capture, one text per forward: {alone:.1f} s, {len(texts) / alone:.2f} rows/s; "
              f"batched is {alone / batched:.2f}x faster", flush=True)
    _, states = timed(lambda: dataset_states(ctx))  # the whole dataset, cold: what a first probe pays
    result, fits = timed(lambda: run_tool(ctx, "probe", {"concept": "domain"}))
    out = result.output
    print(f"cold probe of all {len(out['layers'])} layers over {out['rows_total']} rows ({len(out['classes'])} "
          f"classes): capture {states:.1f} s + fits {fits:.1f} s = {states + fits:.1f} s (target <= 90 s); "
          f"best layer {out['best_layer']}; load {load_average()}")


def whole_prompt_states(handle, task, texts, batch_size: int = 16):
    """The capture as it was: every prompt whole (template before and after the text), through the
    whole model (blocks and unembedding), right-padded, 16 per forward."""
    import numpy as np
    import torch

    from tools.internals.capture import captured_residual

    encoded = [task.encode(t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i].input_ids))
    out = [None] * len(texts)
    with torch.no_grad(), captured_residual(handle.model) as states:
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            width = max(len(encoded[i].input_ids) for i in chunk)
            ids = torch.full((len(chunk), width), handle.pad_token_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            masks = torch.zeros((len(chunk), width), dtype=torch.bool)
            for row, i in enumerate(chunk):
                n = len(encoded[i].input_ids)
                ids[row, :n] = torch.tensor(encoded[i].input_ids)
                attention[row, :n] = 1
                masks[row, :n] = torch.tensor(encoded[i].content_mask)
            states.clear()
            handle.model(input_ids=ids, attention_mask=attention)
            for row, i in enumerate(chunk):
                out[i] = torch.stack([s[row][masks[row]].mean(0) for s in states]).float().numpy()
    return np.stack(out)


if __name__ == "__main__":
    main()
