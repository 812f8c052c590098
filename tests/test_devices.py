"""Devices and precision (issue 23): --device / --dtype / --device-map are parsed, honoured on the
model (its dtype, device, accelerate's device map) and refused in one line when this machine
cannot honour them. bfloat16 weights keep integrated gradients' arithmetic in float32: its
completeness gap stays small and the scores match float32's (tolerances stated below)."""
import numpy as np
import pytest
import torch

from tools.errors import InputError
from tools.models.handle import load_model
from tools.models.placement import Placement
from tools.settings import Settings


def test_the_options_are_parsed_from_the_cli_and_the_environment(monkeypatch):
    from ui.cli import _settings, build_parser

    ns = build_parser().parse_args(["plan", "q", "--device", "cpu", "--dtype", "bfloat16", "--device-map", "auto"])
    settings = _settings(ns)
    assert (settings.device, settings.dtype, settings.device_map) == ("cpu", "bfloat16", "auto")
    assert Settings.from_env().device == "cpu" and Settings.from_env().dtype == "float32"
    monkeypatch.setenv("WHYBOX_DEVICE", "auto")
    monkeypatch.setenv("WHYBOX_DTYPE", "float16")
    assert (Settings.from_env().device, Settings.from_env().dtype) == ("auto", "float16")
    monkeypatch.setenv("WHYBOX_DTYPE", "int4")
    with pytest.raises(InputError, match="Unknown dtype 'int4'. Use one of: float32, bfloat16, float16"):
        Settings.from_env()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused_in_one_line(capsys, tiny_models, tiny_data):
    from ui.cli import main

    with pytest.raises(InputError, match="cuda requested but no GPU is visible here"):
        Placement.resolve("cuda")
    assert Placement.resolve("auto").device in ("cpu", "mps")
    rc = main(["ask", "how many reviews?", "--model", str(tiny_models["causal"]), "--data", str(tiny_data),
               "--device", "cuda"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("whybox: cuda requested but no GPU is visible here")


def test_mps_without_apple_gpu_is_refused():
    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(InputError, match="mps requested but this machine has no Apple GPU"):
        Placement.resolve("mps")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_the_dtype_is_honoured_and_part_of_the_model_hash(tiny_models, tmp_path, dtype):
    plain = load_model(str(tiny_models["causal"]), tmp_path, quiet=True)
    handle = load_model(str(tiny_models["causal"]), tmp_path, quiet=True, placement=Placement.resolve("cpu", dtype))
    assert handle.model.dtype == getattr(torch, dtype) and handle.dtype == dtype and handle.device == "cpu"
    assert plain.dtype == "float32" and handle.content_hash == plain.content_hash + f"@{dtype}"
    logits = handle.model(input_ids=torch.tensor([[1, 5, 6, 7]])).logits
    assert logits.dtype == getattr(torch, dtype) and torch.isfinite(logits.float()).all()


def test_device_map_auto_goes_through_accelerate(tiny_models, tmp_path):
    """On a CPU-only machine accelerate's map puts everything on the CPU (transformers then sets no
    hf_device_map); the outputs must equal the plain load's."""
    placement = Placement.resolve("cpu", "float32", "auto")
    assert placement.load_kwargs() == {"dtype": torch.float32, "device_map": "auto"}
    handle = load_model(str(tiny_models["causal"]), tmp_path, quiet=True, placement=placement)
    assert set(getattr(handle.model, "hf_device_map", {"": "cpu"}).values()) == {"cpu"} and handle.device == "cpu"
    plain = load_model(str(tiny_models["causal"]), tmp_path, quiet=True)
    ids = torch.tensor([[1, 5, 6, 7, 8]])
    with torch.no_grad():
        assert torch.allclose(handle.model(input_ids=ids).logits, plain.model(input_ids=ids).logits)


def _ig(tiny_models, tiny_data, dtype):
    from agent import Assistant

    assistant = Assistant(Settings.from_env(model=str(tiny_models["classifier"]), data=str(tiny_data), dtype=dtype),
                          quiet=True)
    out = assistant.run_tool("attribute", {"id": 102, "method": "integrated_gradients", "steps": 64}).output
    return np.array([t["score"] for t in out["tokens"]]), out["method_info"], assistant.workspace.model.model.dtype


def test_integrated_gradients_in_bfloat16_weights_keeps_float32_sums(tiny_models, tiny_data):
    """Tolerances: relative completeness gap <= 0.05 (the tool's own convergence tolerance) in both
    precisions; bfloat16 token scores within 0.1 of the largest float32 score magnitude (bf16 keeps
    8 bits of mantissa, ~0.4% per weight, compounded over the layers), same sign on every token
    whose float32 score is above that tolerance."""
    exact, info32, dtype32 = _ig(tiny_models, tiny_data, "float32")
    brain, info16, dtype16 = _ig(tiny_models, tiny_data, "bfloat16")
    assert dtype32 == torch.float32 and dtype16 == torch.bfloat16
    assert info32["relative_delta"] <= 0.05 and info16["relative_delta"] <= 0.05, (info32, info16)
    scale = np.abs(exact).max()
    assert np.abs(brain - exact).max() <= 0.1 * scale, (brain, exact)
    large = np.abs(exact) > 0.1 * scale
    assert (np.sign(brain[large]) == np.sign(exact[large])).all()
