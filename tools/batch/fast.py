"""Batched fast paths for per-row tools (`FAST_PATHS` in tools/batch/work.py): a chunk of rows in
shared forwards, each row's entry the same as `run_tool` gives it alone.

- `attribute`: perturbation methods (occlusion, KernelSHAP, LIME) and their faithfulness checks
  over all rows of the chunk in the same forwards (tools/attribution/pooled.py); what does not
  fit the pooled scorer (gradient methods, answers, classifier heads) runs row by row.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from tools.batch.work import FAST_PATHS, tool_row
from tools.errors import WhyboxError

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.data.dataset import Row


def collect_call(ctx: ToolContext, tool: str, args: dict[str, Any]) -> None:
    """A tool call in collect mode: it records what it would explain (or is a cache hit, or fails:
    either way the serve pass does it again and gets the same)."""
    from tools.attribution.pooled import Deferred
    from tools.registry import run_tool

    try:
        run_tool(ctx, tool, args)
    except (Deferred, WhyboxError):
        pass


def attribute_rows(ctx: ToolContext, rows: Sequence[Row], args: dict[str, Any]) -> list[dict[str, Any]]:
    from tools.attribution.pooled import pooled_calls

    def calls(collecting: bool) -> list[dict[str, Any]] | None:
        if collecting:
            for row in rows:
                collect_call(ctx, "attribute", {**args, "id": row.id})
            return None
        return [tool_row(ctx, "attribute", args, row) for row in rows]

    return pooled_calls(ctx.model, ctx.task, calls)


FAST_PATHS["attribute"] = attribute_rows
