"""explain_neuron on the default model: exemplar-mining throughput against a plain forward pass
of the same model and batches, and held-out scores for N real SmolLM2 neurons next to their
baselines. Prints figures; run `python benchmarks/neuron_explanations.py [--neurons 20]`."""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

OTHER = "another neuron's description"


def plain_forward(model, tokenizer, texts, batch_size: int) -> int:
    from tools.internals.exemplars import _batches

    tokens = 0
    with torch.no_grad():
        for ids, mask in _batches(tokenizer, texts, batch_size, 128):
            model(input_ids=ids, attention_mask=mask)
            tokens += int(mask.sum())
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--neurons", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    ns = parser.parse_args()

    from tools.context import Workspace
    from tools.internals.exemplars import document_parts, layer_activations, mine
    from tools.internals.explanations import explain_neuron_from
    from tools.settings import Settings

    workspace = Workspace(Settings.from_env(), quiet=True)
    handle = workspace.model
    texts = [r.text for r in workspace.dataset]
    ids = [f"row:{r.id}" for r in workspace.dataset]
    torch.set_num_threads(max(1, torch.get_num_threads()))
    plain_forward(handle.model, handle.tokenizer, texts[:32], 16)  # warm-up
    plain_times, mine_times = [], []
    for _ in range(ns.repeats):  # interleaved, so load on the machine hits both alike
        start = time.perf_counter()
        tokens = plain_forward(handle.model, handle.tokenizer, texts, 16)
        plain_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        mining = mine(handle.model, handle.tokenizer, texts, batch_size=16)
        mine_times.append(time.perf_counter() - start)
    plain, mined = tokens / min(plain_times), mining.tokens / min(mine_times)
    print(f"corpus: {len(texts)} documents, {tokens} tokens; "
          f"{handle.n_layers} layers x {handle.intermediate_size} neurons")
    print(f"plain forward: {plain:.0f} tokens/s; mining (all neurons, all layers): {mined:.0f} tokens/s "
          f"= {mined / plain:.1%} of plain (best of {ns.repeats})")

    parts = document_parts(ids)
    rng = np.random.default_rng(ns.seed)
    picks = [(int(rng.integers(0, handle.n_layers)), int(rng.integers(0, handle.intermediate_size)))
             for _ in range(ns.neurons)]
    rows = []
    start = time.perf_counter()
    for layer, neuron in picks:
        def acts(indices, layer=layer):
            return layer_activations(handle.model, handle.tokenizer, [texts[i] for i in indices], layer)

        out = explain_neuron_from(acts, mining.maxima[:, layer].astype("float32"),
                                  mining.minima[:, layer].astype("float32"), parts, neuron, handle.intermediate_size,
                                  seed=ns.seed)
        base = {b["baseline"]: b for b in out["baselines"]}
        rows.append((layer, neuron, out, base))
        other, table, random_ = base[OTHER], base["token look-up table"], base["random description"]
        print(f"L{layer:>2} N{neuron:>4}  sim {out['scores']['simulation']:+.3f} "
              f"det {out['scores']['detection']:.3f} | "
              f"other {other['simulation']:+.3f}/{other['detection']:.3f} "
              f"table {table['simulation']:+.3f}/{table['detection']:.3f} "
              f"random {random_['simulation']:+.3f}/{random_['detection']:.3f} | {out['description']['positive']}")
    seconds = (time.perf_counter() - start) / len(picks)

    def mean(get) -> str:
        values = [get(r) for r in rows]
        return f"{np.mean(values):+.3f} (sd {np.std(values):.3f})"

    print(f"\n{len(rows)} neurons, {seconds:.1f} s per neuron, test part only (windows of 8 tokens):")
    print(f"  description            simulation {mean(lambda r: r[2]['scores']['simulation'])}, "
          f"detection {mean(lambda r: r[2]['scores']['detection'])}")
    for name in (OTHER, "token look-up table", "random description"):
        print(f"  {name:<22} simulation {mean(lambda r, n=name: r[3][n]['simulation'])}, "
              f"detection {mean(lambda r, n=name: r[3][n]['detection'])}")
    beats = {name: sum(r[2]["beats"][name] for r in rows) for name in rows[0][2]["beats"]}
    print("  description beats (simulation higher and detection at least equal): "
          + ", ".join(f"{name} {n}/{len(rows)}" for name, n in beats.items()))
    named = sum(1 for r in rows if r[2]["rule"]["categories"] or r[2]["rule"]["tokens"])
    print(f"  neurons with a nameable pattern: {named}/{len(rows)}")


if __name__ == "__main__":
    main()
