"""Shared set-up of the batch benchmarks (issue 20): a cold result cache in a temporary home that
reuses the converted default model (conversion is not what they measure)."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cold_context(data: str | None = None, model: str | None = None, threads: int | None = None):
    """A ToolContext whose home (caches, tables) is new and empty, with the models folder shared."""
    from tools.context import ToolContext, Workspace
    from tools.settings import Settings

    if threads:
        import torch

        torch.set_num_threads(threads)
    shared = Settings.from_env(model=model, data=data)
    home = Path(tempfile.mkdtemp(prefix="whybox-bench-"))
    shared.models_dir.mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(shared.models_dir.resolve())
    return ToolContext(Workspace(Settings.from_env(model=model, data=data, home=str(home)), quiet=True))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def load_average() -> str:
    """The machine's load while the benchmark ran (it is shared: read the ratios, not the seconds)."""
    try:
        return Path("/proc/loadavg").read_text().split(" ")[0]
    except OSError:
        return "?"
