"""GPU check (issue 23): every tool of the catalogue on the default model on CUDA, with each tool's
time and peak GPU memory; on a machine without a GPU it says so and runs a 3-tool smoke on CPU.

    python benchmarks/gpu_check.py [--dtype bfloat16] [--device-map auto] [--tools predict,attribute]

One command on a GPU machine (a CUDA torch and the project installed, `make setup`): it exits 0
when every tool ran, 1 when one failed (its one-line error is printed; the others still run).
Results are computed in a throwaway WHYBOX_HOME (no cache hits), except the converted model.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

# One call per tool on the demo data (row 2 is "The soup arrived cold and the bread was stale.").
CATALOGUE: list[tuple[str, dict]] = [
    ("describe_model", {}), ("describe_data", {}), ("capabilities", {}), ("count", {}), ("show", {"id": 2}),
    ("label_distribution", {}), ("keywords", {"k": 5}), ("predict", {"id": 2}),
    ("score", {}), ("mistakes", {"mode": "sample", "k": 3}),
    ("attribute", {"id": 2, "method": "integrated_gradients"}), ("attribute", {"id": 2, "method": "occlusion"}),
    ("attribute", {"id": 2, "method": "attention"}), ("logit_lens", {"id": 2}), ("top_neurons", {"id": 2}),
    ("patch", {"id": 2, "contrast_id": 0}), ("probe", {}), ("similar", {"id": 2, "k": 3}),
    ("steer", {"id": 2}), ("counterfactual", {"id": 2}), ("adversarial", {"id": 2}), ("augment", {"id": 2}),
    ("influence", {"id": 2, "k": 3}), ("rationalize", {"id": 2}), ("explain_neuron", {"layer": 10, "neuron": 5}),
    ("global_importance", {"max_rows": 16}), ("bias_audit", {"max_rows": 16}),
    ("explain_concept", {"topic": "integrated gradients"}), ("report", {"id": 2}),
    ("edit_label", {"id": 2, "label": "positive"}),
]
SMOKE = [("predict", {"id": 2}), ("attribute", {"id": 2, "method": "gradient_x_input"}), ("logit_lens", {"id": 2})]


def run(calls: list[tuple[str, dict]], device: str, dtype: str, device_map: str | None) -> int:
    from agent import Assistant
    from tools.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="whybox-gpu-check-"))
    models = Path(os.environ.get("WHYBOX_HOME") or Path.home() / ".cache" / "whybox") / "models"
    if models.exists():  # reuse the converted default model; everything else starts cold
        (home / "models").symlink_to(models, target_is_directory=True)
    settings = Settings.from_env(home=str(home), device=device, dtype=dtype, device_map=device_map)
    assistant = Assistant(settings, quiet=True)
    cuda = device == "cuda"
    start = time.perf_counter()
    handle = assistant.workspace.model
    print(f"model {handle.name} on {handle.device} ({handle.dtype}), loaded in {time.perf_counter() - start:.1f} s")
    if cuda:
        t0 = time.perf_counter()
        assistant.workspace.predictions()  # the dataset's predictions, once, as a session does
        print(f"predictions of the {len(assistant.workspace.dataset)} rows: {time.perf_counter() - t0:.1f} s")
    failed = 0
    print(f"{'tool':<34} {'seconds':>8} {'peak GPU MiB':>13}  status")
    for name, args in calls:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        try:
            assistant.run_tool(name, args)
            status = "ok"
        except Exception as exc:  # a check reports every tool, it does not stop at the first
            failed += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            status = f"FAILED {type(exc).__name__}: {str(exc).splitlines()[0][:120]} ({where.filename}:{where.lineno})"
        if cuda:
            torch.cuda.synchronize()
        peak = f"{torch.cuda.max_memory_allocated() / 2**20:.0f}" if cuda else "-"
        label = name + ("" if not args.get("method") else f" ({args['method']})")
        print(f"{label:<34} {time.perf_counter() - t0:>8.2f} {peak:>13}  {status}")
    print(f"{len(calls) - failed} of {len(calls)} tools ran on {handle.device}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--device-map", choices=["auto"])
    parser.add_argument("--tools", help="comma-separated tool names (default: the whole catalogue)")
    ns = parser.parse_args()
    wanted = set(ns.tools.split(",")) if ns.tools else None
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}, torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}")
        calls = [c for c in CATALOGUE if wanted is None or c[0] in wanted]
        return run(calls, "cuda", ns.dtype, ns.device_map)
    print(f"no GPU here (torch {torch.__version__}, CUDA build: {torch.version.cuda}); "
          "running a 3-tool smoke on CPU instead")
    calls = [c for c in SMOKE if wanted is None or c[0] in wanted]
    return run(calls, "cpu", ns.dtype, ns.device_map)


if __name__ == "__main__":
    sys.exit(main())
