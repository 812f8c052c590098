"""GPU check (issue 23): every tool of the catalogue on CUDA with each tool's time and peak GPU
memory, then a CPU reference of three tools in the same run (speed-up and agreement of the
numbers). Without a GPU it says so and runs the 3-tool smoke on the CPU.

    python benchmarks/gpu_check.py [--device auto|cuda|cpu] [--dtype bfloat16] [--device-map auto]
                                   [--tools predict,attribute | --tools all] [--model PATH] [--no-cpu-reference]

One command on a GPU machine (a CUDA torch and the project installed, `make setup`): it exits 0
when every tool ran and the GPU agrees with the CPU, 1 otherwise (each failure's one-line error
and where it was raised are printed; the other tools still run), 2 when the device asked for is
not there. Results are computed in a throwaway WHYBOX_HOME (no cache hits), except the converted
model. The catalogue's arguments name demo rows (0 and 2), so `--data` stays the demo data.
On the CPU (`--device cpu`, or no GPU) the default is the 3-tool smoke; `--tools all` runs the
whole catalogue there too (about 15 minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

# One call per tool on the demo data (row 2 is "The soup arrived cold and the bread was stale.").
# explain_neuron's layer is set from the model (a third of the way down) when it runs.
CATALOGUE: list[tuple[str, dict]] = [
    ("describe_model", {}), ("describe_data", {}), ("capabilities", {}), ("count", {}), ("show", {"id": 2}),
    ("label_distribution", {}), ("keywords", {"k": 5}), ("predict", {"id": 2}),
    ("score", {}), ("mistakes", {"mode": "sample", "k": 3}),
    ("attribute", {"id": 2, "method": "integrated_gradients"}), ("attribute", {"id": 2, "method": "occlusion"}),
    ("attribute", {"id": 2, "method": "gradient_x_input"}), ("attribute", {"id": 2, "method": "attention"}),
    ("logit_lens", {"id": 2}), ("top_neurons", {"id": 2}),
    ("patch", {"id": 2, "contrast_id": 0}), ("probe", {}), ("similar", {"id": 2, "k": 3}),
    ("steer", {"id": 2}), ("counterfactual", {"id": 2}), ("adversarial", {"id": 2}), ("augment", {"id": 2}),
    ("influence", {"id": 2, "k": 3}), ("rationalize", {"id": 2}), ("explain_neuron", {"neuron": 5}),
    ("global_importance", {"max_rows": 16}), ("bias_audit", {"max_rows": 16}),
    ("explain_concept", {"topic": "integrated gradients"}), ("report", {"id": 2}),
    ("edit_label", {"id": 2, "label": "positive"}),
]
SMOKE = [("predict", {"id": 2}), ("attribute", {"id": 2, "method": "gradient_x_input"}), ("logit_lens", {"id": 2})]


def _label(name: str, args: dict) -> str:
    return name + ("" if not args.get("method") else f" ({args['method']})")


def _sync() -> None:
    for index in range(torch.cuda.device_count()):
        torch.cuda.synchronize(index)


def _peak_mib() -> float:
    """Peak memory allocated by torch on all GPUs together since the last reset."""
    return sum(torch.cuda.max_memory_allocated(i) for i in range(torch.cuda.device_count())) / 2**20


def _assistant(device: str, dtype: str, device_map: str | None, model: str | None):
    from agent import Assistant
    from tools.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="whybox-gpu-check-"))
    models = Path(os.environ.get("WHYBOX_HOME") or Path.home() / ".cache" / "whybox") / "models"
    if models.exists():  # reuse the converted default model; everything else starts cold
        (home / "models").symlink_to(models, target_is_directory=True)
    overrides: dict[str, Any] = {"home": str(home), "device": device, "dtype": dtype, "device_map": device_map}
    if model:
        overrides["model"] = model
    return Assistant(Settings.from_env(**overrides), quiet=True)


def run(calls: list[tuple[str, dict]], device: str, dtype: str, device_map: str | None,
        model: str | None = None) -> tuple[int, dict[str, Any], dict[str, float]]:
    """Run each call once; print a row per call. Returns (failures, outputs, seconds) by label."""
    cuda = device == "cuda"
    start = time.perf_counter()
    assistant = _assistant(device, dtype, device_map, model)
    handle = assistant.workspace.model
    print(f"model {handle.name} on {handle.device} ({handle.dtype}), loaded in {time.perf_counter() - start:.1f} s")
    if cuda:
        t0 = time.perf_counter()
        assistant.workspace.predictions()  # the dataset's predictions, once, as a session does (warms the kernels)
        print(f"predictions of the {len(assistant.workspace.dataset)} rows: {time.perf_counter() - t0:.1f} s")
    failed, outputs, seconds = 0, {}, {}
    print(f"{'tool':<34} {'seconds':>8} {'peak GPU MiB':>13}  status")
    for name, args in calls:
        if name == "explain_neuron":
            args = {"layer": handle.n_layers // 3, **args}
        if cuda:
            _sync()
            for index in range(torch.cuda.device_count()):
                torch.cuda.reset_peak_memory_stats(index)
        t0 = time.perf_counter()
        try:
            outputs[_label(name, args)] = assistant.run_tool(name, args).output
            status = "ok"
        except Exception as exc:  # a check reports every tool, it does not stop at the first
            failed += 1
            where = traceback.extract_tb(exc.__traceback__)[-1]
            status = f"FAILED {type(exc).__name__}: {str(exc).splitlines()[0][:120]} ({where.filename}:{where.lineno})"
        if cuda:
            _sync()
        seconds[_label(name, args)] = time.perf_counter() - t0
        peak = f"{_peak_mib():.0f}" if cuda else "-"
        print(f"{_label(name, args):<34} {seconds[_label(name, args)]:>8.2f} {peak:>13}  {status}")
    print(f"{len(calls) - failed} of {len(calls)} tools ran on {handle.device}, {sum(seconds.values()):.1f} s in all")
    return failed, outputs, seconds


def compare(gpu: dict[str, Any], cpu: dict[str, Any], strict: bool = True) -> int:
    """Agreement of the GPU's numbers with the CPU's on the reference tools; returns disagreements
    (float32 tolerances; with `strict` off, for bfloat16 / float16 weights, the figures are shown only)."""
    bad = 0
    checks = []
    if "predict" in gpu and "predict" in cpu:
        a, b = gpu["predict"]["probabilities"], cpu["predict"]["probabilities"]
        diff = max(abs(a[k] - b[k]) for k in a)
        checks.append(("predict: max |p_gpu - p_cpu|", diff, diff <= 1e-3))
    key = "attribute (gradient_x_input)"
    if key in gpu and key in cpu:
        a = np.array([w["score"] for w in gpu[key]["words"]])
        b = np.array([w["score"] for w in cpu[key]["words"]])
        rel = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)) if len(a) == len(b) else float("inf")
        checks.append(("gradient x input: max diff / max |score|", rel, rel <= 0.02))
    if "logit_lens" in gpu and "logit_lens" in cpu:
        same = gpu["logit_lens"]["answer_id"] == cpu["logit_lens"]["answer_id"]
        checks.append(("logit lens: same answer token", same, same))
    for what, value, ok in checks:
        bad += strict and not ok
        verdict = ("ok" if ok else "DISAGREES") if strict else "(not checked: reduced precision)"
        shown = ("yes" if value else "no") if isinstance(value, bool) else f"{value:.2e}"
        print(f"  {what:<44} {shown:>8}  {verdict}")
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--device-map", choices=["auto"])
    parser.add_argument("--tools", help="tool names, comma-separated, or all (default: all on CUDA, the smoke on CPU)")
    parser.add_argument("--model", help="a model folder or .gguf file (default: the packaged SmolLM2)")
    parser.add_argument("--no-cpu-reference", action="store_true", help="skip the CPU rerun of the smoke tools")
    ns = parser.parse_args()
    from tools.errors import WhyboxError
    from tools.models.placement import resolve_device

    try:
        device = resolve_device(ns.device)
    except WhyboxError as exc:
        print(f"whybox: {exc}")
        return 2
    if device == "cuda":
        print(f"GPU: {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}, torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}")
    elif ns.device == "auto":
        print(f"no GPU here (torch {torch.__version__}, CUDA build: {torch.version.cuda}); running on the CPU")
    if ns.tools is None:
        calls = CATALOGUE if device == "cuda" else SMOKE
    elif ns.tools == "all":
        calls = CATALOGUE
    else:
        wanted = set(ns.tools.split(","))
        unknown = wanted - {name for name, _ in CATALOGUE}
        if unknown:
            print(f"whybox: no such tool in the check's catalogue: {', '.join(sorted(unknown))}")
            return 2
        calls = [c for c in CATALOGUE if c[0] in wanted]
    failed, outputs, seconds = run(calls, device, ns.dtype, ns.device_map, ns.model)
    if device != "cuda" or ns.no_cpu_reference:
        return 1 if failed else 0
    print("\nCPU reference (float32, same run):")
    _, reference, cpu_seconds = run(SMOKE, "cpu", "float32", None, ns.model)
    for label, cpu_s in cpu_seconds.items():
        if label in seconds:
            print(f"  {label:<44} CPU {cpu_s:.2f} s / GPU {seconds[label]:.2f} s = {cpu_s / seconds[label]:.1f}x")
    disagreements = compare(outputs, reference, strict=ns.dtype == "float32")
    return 1 if failed or disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
