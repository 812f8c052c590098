"""Where a model's weights live and in what precision: `--device`, `--dtype`, `--device-map`.

Why one module: the choice is made once at load (tools/models/handle.py), checked against what
this machine has before any weights load (a "cuda requested but no GPU" line, never a traceback
or a silent fall back to CPU), and the tools keep building their input tensors on the CPU:
`follow_model_device` moves them to the device of the module they are fed to, so a tool does not
need to know where the model is. With `device_map="auto"` accelerate spreads the layers over the
GPUs (and CPU) and moves activations between them with its own hooks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from tools.errors import InputError
from tools.settings import DEVICE_MAPS, DEVICES, DTYPES, check_choice

TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def _has_mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(requested: str = "auto") -> str:
    """'auto' -> cuda when a GPU is visible, else mps (Apple), else cpu; an explicit device this
    machine lacks is refused with what it has."""
    check_choice("device", requested, DEVICES)
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if _has_mps() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only torch build" if torch.version.cuda is None else f"torch with CUDA {torch.version.cuda}"
        raise InputError(f"cuda requested but no GPU is visible here ({build}, torch {torch.__version__}).",
                         "Use --device cpu (or auto), or run on a machine with an NVIDIA GPU and a CUDA torch.")
    if requested == "mps" and not _has_mps():
        raise InputError("mps requested but this machine has no Apple GPU (MPS) backend.",
                         "Use --device cpu (or auto).")
    return requested


@dataclass(frozen=True)
class Placement:
    """The resolved device, the weights' dtype and the accelerate device map (None: one device)."""

    device: str = "cpu"
    dtype: str = "float32"
    device_map: str | None = None

    @classmethod
    def resolve(cls, device: str = "auto", dtype: str = "float32", device_map: str | None = None) -> "Placement":
        check_choice("dtype", dtype, DTYPES)
        check_choice("device map", device_map, DEVICE_MAPS)
        if device_map is not None:
            try:
                import accelerate  # noqa: F401
            except ImportError:
                raise InputError("--device-map auto needs the accelerate package.",
                                 "pip install whybox[gpu] (accelerate).") from None
        return cls(device=resolve_device(device), dtype=dtype, device_map=device_map)

    @property
    def torch_dtype(self) -> torch.dtype:
        return TORCH_DTYPES[self.dtype]

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `from_pretrained`."""
        kwargs: dict[str, Any] = {"dtype": self.torch_dtype}
        if self.device_map is not None:
            kwargs["device_map"] = self.device_map
        return kwargs

    def describe(self) -> str:
        where = f"device_map={self.device_map}" if self.device_map else self.device
        return f"{where}, {self.dtype}"


def _to(value: Any, device: torch.device) -> Any:
    if isinstance(value, torch.Tensor) and value.device != device:
        return value.to(device)
    return value


def follow_model_device(model: torch.nn.Module) -> None:
    """Forward pre-hooks that move CPU-built tensor arguments to the device of the module they are
    fed to: the model, its base model (scorers call it directly) and its input embeddings. On a
    model spread by accelerate the first layer's device is where inputs go; its hooks do the rest."""
    modules = [model, getattr(model, "base_model", None), model.get_input_embeddings()]
    seen: set[int] = set()
    for module in modules:
        if module is None or id(module) in seen:
            continue
        seen.add(id(module))
        device = next(module.parameters()).device

        def move(_module: Any, args: tuple, kwargs: dict, _device: torch.device = device) -> tuple:
            return tuple(_to(a, _device) for a in args), {k: _to(v, _device) for k, v in kwargs.items()}

        move.moves_inputs_only = True  # type: ignore[attr-defined]  (tasks._has_hooks: not a model change)
        module.register_forward_pre_hook(move, with_kwargs=True)
