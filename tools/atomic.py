"""Atomic file writes: write to a temporary file in the same folder, fsync, then rename.

A crash or a full disk never leaves a half-written cache entry, edit file or converted model.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"
_TEMP_NAME = re.compile(r"\..+\.(\d+)\.[a-z0-9_]+\.tmp")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's pid in the name: a SIGKILLed writer cannot clean up, remove_dead_temps does later
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (a reused id keeps a leftover: harmless)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_dead_temps(folder: Path, subfolders: bool = False) -> int:
    """Remove the temporary files (`.<name>.<pid>.<random>.tmp`) that writers killed mid-write left
    in `folder` (or in each of its subfolders); those of writers still running are kept."""
    removed = 0
    for tmp in Path(folder).glob(("*/" if subfolders else "") + ".*" + TEMP_SUFFIX):
        match = _TEMP_NAME.fullmatch(tmp.name)
        if match and not pid_alive(int(match.group(1))):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8"))


def replace_dir_atomic(staging: Path, final: Path) -> None:
    """Move a fully written staging folder into place; the old one (if any) is removed after."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
    os.replace(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
