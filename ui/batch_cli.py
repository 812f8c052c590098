"""`whybox batch TOOL --where ... --out DIR`: a per-row tool over the selected rows, written to a
resumable result table (tools/batch), in this process or, with --ray / --ray-address /
WHYBOX_RAY_ADDRESS, sharded over Ray actors. Kept apart from ui/cli.py, which only registers it."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from tools.errors import InputError


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    batch = sub.add_parser("batch", help="run a per-row tool over many rows into a resumable table (--ray to shard)")
    batch.add_argument("name", help="a per-row tool: predict, attribute, counterfactual, ...")
    batch.add_argument("--json", dest="args", default="{}", help="the tool's arguments, the same for every row")
    batch.add_argument("--where", help='rows to run on, as JSON, e.g. \'{"correct": false}\' (default: all rows)')
    batch.add_argument("--out", default="whybox-batch", help="folder of the result table (default: ./whybox-batch); "
                                                             "a re-run with the same job skips finished rows")
    batch.add_argument("--batch-size", type=int, default=8, help="rows per chunk sent through the model (default 8)")
    batch.add_argument("--no-fast", action="store_true", help="run the tool row by row, without its batched path")
    ray = batch.add_mutually_exclusive_group()
    ray.add_argument("--ray", action="store_true", help="start a local Ray cluster and shard the rows over it")
    ray.add_argument("--ray-address", help="join a Ray cluster, e.g. ray://head:10001 (else WHYBOX_RAY_ADDRESS)")
    batch.add_argument("--workers", type=int, default=2, help="Ray actors, one model each (default 2)")
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    common(batch)


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    from tools.base import check_json_depth

    if text is None:
        return None
    check_json_depth(text, option)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{option} is not valid JSON: {exc.msg} at character {exc.pos}.") from None
    if not isinstance(value, dict):
        raise InputError(f"{option} must be a JSON object, e.g. '{{\"includes\": \"price\"}}'.")
    return value


def cmd_batch(ns: argparse.Namespace, settings: Any) -> int:
    from pydantic import ValidationError

    from tools.batch import ToolWork, run_batch
    from tools.common import selected_rows
    from tools.context import ToolContext, Workspace
    from tools.where import Where

    if ns.batch_size < 1:
        raise InputError(f"--batch-size must be at least 1, not {ns.batch_size}.")
    args = _json_object(ns.args, "--json") or {}
    where_json = _json_object(ns.where, "--where")
    work = ToolWork(ns.name, args, batch_size=ns.batch_size, fast=not ns.no_fast)
    try:
        where = Where(**where_json) if where_json else None
    except ValidationError as exc:
        raise InputError("--where: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                                 for e in exc.errors())) from None
    workspace = Workspace(settings, quiet=ns.quiet)
    workspace.check()
    ctx = ToolContext(workspace)
    rows = list(selected_rows(ctx, where))
    if not rows:
        raise InputError(f"No rows match {(where or Where()).describe()}.")
    address = ns.ray_address or (settings.ray_address if not ns.ray else None)
    out = Path(ns.out)
    if ns.ray or address:
        from tools.batch.ray_backend import RayBackend

        with RayBackend(settings, workers=ns.workers, address=address) as backend:
            summary = run_batch(ctx, work, rows, out, backend=backend, quiet=ns.quiet,
                                backend_name=f"ray ({ns.workers} workers{', ' + address if address else ', local'})")
    else:
        summary = run_batch(ctx, work, rows, out, quiet=ns.quiet)
    s = summary
    print(f"whybox batch {ns.name}: {s.rows} rows ({s.already_done} already done, {s.computed} computed, "
          f"{s.errors} errors) in {s.seconds:.1f} s, {s.backend}; table: {s.table}")
    return 0
