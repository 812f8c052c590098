"""Long inputs on the default model (issue 23): peak memory and time per input length for
integrated gradients, occlusion, logit lens, top neurons and activation patching.

    python benchmarks/long_inputs.py [--lengths 512,1024,2048] [--ig-steps 4] [--occlusion-features 4]

Each length runs in its own process (the peak is a process's high-water mark), on the CPU in
float32, with a text of that many tokens built from the demo reviews. Memory is the resident set
sampled every 10 ms with psutil: "peak extra" is the most a tool added over the memory before it
ran (the model and the input already loaded). The allocator keeps what a tool freed, and the
tools after it reuse that memory first, so only the first tool's (IG's) figure is its own; the
later ones are lower bounds, and the process's max RSS bounds them all. IG runs a fixed number of Gauss-Legendre steps
(no adaptive doubling) and occlusion switches off the first few tokens only: the point is memory
per pass, and a full run on 2,048 tokens takes hours on two shared cores. The row budget
(tools/attribution/budget.py) decides how many path points / occluded copies share a pass; its
estimate of one row's activations is printed next to the measurement.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402

ENDING = " Overall the visit was good."
CONTRAST_ENDING = " Overall the visit was bad."


class PeakRss:
    """The process's resident set sampled every 10 ms while open: `extra` is peak minus start."""

    def __enter__(self) -> "PeakRss":
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.t0 = time.perf_counter()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)
        self.extra = self.peak - self.start


def long_text(tokenizer, dataset, tokens: int) -> str:
    """Demo reviews joined until the text has `tokens` tokens (cut at a review), then the ending."""
    reviews = [row.text for row in dataset]
    parts, count, i = [], len(tokenizer(ENDING).input_ids), 0
    while True:
        piece = " " + reviews[i % len(reviews)]
        n = len(tokenizer(piece).input_ids)
        if count + n > tokens:
            break
        parts.append(piece)
        count += n
        i += 1
    return "".join(parts).strip()


def child(tokens: int, ig_steps: int, n_features: int) -> dict:
    """One length, in this process: each tool's seconds and peak extra memory."""
    import tempfile

    import torch

    from agent import Assistant
    from tools.attribution import methods as M
    from tools.attribution.budget import row_bytes, rows_per_pass
    from tools.attribution.engine import Request, build_input
    from tools.attribution.scorers import make_scorer
    from tools.settings import Settings

    torch.set_num_threads(2)
    home = Path(tempfile.mkdtemp(prefix="whybox-long-inputs-"))  # no result-cache hits between runs
    models = Settings.from_env().models_dir
    if models.exists():  # reuse the converted default model
        (home / "models").symlink_to(models, target_is_directory=True)
    assistant = Assistant(Settings.from_env(home=str(home)), quiet=True)
    ws = assistant.workspace
    handle, task = ws.model, ws.task
    body = long_text(handle.tokenizer, ws.dataset, tokens)
    text, contrast = body + ENDING, body + CONTRAST_ENDING
    inp, _ = build_input(handle, task, text, Request(method="integrated_gradients"))
    n_input = len(inp.ids)
    results: dict = {"tokens_text": len(handle.tokenizer(text).input_ids), "tokens_input": n_input,
                     "baseline_rss_mib": psutil.Process().memory_info().rss / 2**20, "tools": {}}

    def record(name: str, meter: PeakRss, **more) -> None:
        results["tools"][name] = {"seconds": round(meter.seconds, 1), "peak_extra_mib": round(meter.extra / 2**20),
                                  **more}
        print(f"  {tokens:>5} {name:<22} {meter.seconds:>7.1f} s  peak extra {meter.extra / 2**20:>6.0f} MiB "
              f"{json.dumps(more) if more else ''}", flush=True)

    scorer = make_scorer(handle, task, inp)
    with PeakRss() as meter:
        scores = M.integrated_gradients(scorer, n_steps=ig_steps, adaptive=False)
    record("integrated_gradients", meter, steps=ig_steps, rows_per_pass=scores.info["rows_per_pass"],
           estimate_row_mib=round(row_bytes(handle.config, n_input, True) / 2**20),
           relative_delta=round(scores.info["relative_delta"], 3))
    features = [[p] for p in range(min(n_features, len(inp.variable_ids)))]
    scorer = make_scorer(handle, task, inp)
    with PeakRss() as meter:
        M.occlusion(scorer, features)
    record("occlusion", meter, rows=len(features) + 1,
           rows_per_pass=min(scorer.batch_size, rows_per_pass(handle, n_input, backward=False)),
           estimate_row_mib=round(row_bytes(handle.config, n_input, False) / 2**20))
    for name, args in (("logit_lens", {"text": text}), ("top_neurons", {"text": text, "k": 5}),
                       ("patch", {"text": text, "contrast_text": contrast})):
        with PeakRss() as meter:
            assistant.run_tool(name, args)
        record(name, meter)
    results["peak_rss_mib"] = round(psutil.Process().memory_info().rss / 2**20)
    import resource

    results["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="512,1024,2048")
    parser.add_argument("--ig-steps", type=int, default=4)
    parser.add_argument("--occlusion-features", type=int, default=4)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.child:
        print("RESULT " + json.dumps(child(ns.child, ns.ig_steps, ns.occlusion_features)), flush=True)
        return 0
    total = psutil.virtual_memory().total / 2**30
    print(f"Long inputs on the default model, CPU float32, {total:.0f} GiB machine "
          f"(IG {ns.ig_steps} steps, occlusion of {ns.occlusion_features} tokens)")
    table = {}
    for tokens in (int(n) for n in ns.lengths.split(",")):
        proc = subprocess.run([sys.executable, __file__, "--child", str(tokens), "--ig-steps", str(ns.ig_steps),
                               "--occlusion-features", str(ns.occlusion_features)],
                              capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"  {tokens}: FAILED (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
            return 1
        for line in proc.stdout.splitlines():
            if not line.startswith("RESULT "):
                print(line)
        table[tokens] = json.loads(lines[0][7:])
    print("\nper length: input tokens | process max RSS | peak extra per tool (MiB) / seconds")
    names = list(next(iter(table.values()))["tools"])
    print(f"{'tokens':>6} {'input':>6} {'max RSS':>8}  " + "  ".join(f"{n[:18]:>18}" for n in names))
    for tokens, r in table.items():
        cells = "  ".join(f"{r['tools'][n]['peak_extra_mib']:>8} / {r['tools'][n]['seconds']:>6.1f}s" for n in names)
        print(f"{tokens:>6} {r['tokens_input']:>6} {r['max_rss_mib']:>8}  {cells}")
    first, last = table[min(table)], table[max(table)]
    ratio = last["tools"]["integrated_gradients"]["peak_extra_mib"] / max(
        first["tools"]["integrated_gradients"]["peak_extra_mib"], 1)
    print(f"IG peak extra memory x{ratio:.1f} from {min(table)} to {max(table)} tokens; no out-of-memory "
          f"up to {max(table)} tokens (max RSS {last['max_rss_mib']} MiB of {total * 1024:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
