"""What a batch job does per row: `BatchWork.run_rows(ctx, rows)` returns one JSON-able result per
row. The rows of one call go through the model together where the work knows how (a batched
fast path); otherwise each row runs alone. Work objects are small and picklable: Ray ships them
to its actors, which run them against their own copy of the model.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

from tools.cache import cache_key
from tools.errors import InputError, WhyboxError

if TYPE_CHECKING:
    from tools.context import ToolContext
    from tools.data.dataset import Row


class BatchWork:
    """Per-row work. `name` names the table; `job(ctx)` is what every result depends on besides
    the row (it keys the table, like the result cache); `run_rows` computes a chunk of rows."""

    name = "work"
    batch_size = 8

    def job(self, ctx: ToolContext) -> dict[str, Any]:
        raise NotImplementedError

    def run_rows(self, ctx: ToolContext, rows: Sequence[Row]) -> list[Any]:
        return [self.run_row(ctx, row) for row in rows]

    def run_row(self, ctx: ToolContext, row: Row) -> Any:
        raise NotImplementedError


def row_key(job_key: str, row: Row) -> str:
    """A row's key in a table: the job plus everything of the row a result can depend on."""
    return cache_key(job=job_key, id=row.id, text=row.text, label=row.label)


def job_key(job: dict[str, Any]) -> str:
    return cache_key(**job)


# Batched fast paths for per-row tools: tool name -> (ctx, rows, args) -> outputs, the same
# outputs `run_tool` gives row by row. Filled by tools/batch/fast.py.
FAST_PATHS: dict[str, Callable[..., list[dict[str, Any]]]] = {}


def fast_path(tool: str) -> Callable[..., list[dict[str, Any]]] | None:
    import tools.batch.fast  # noqa: F401  (fills FAST_PATHS)

    return FAST_PATHS.get(tool)


class ToolWork(BatchWork):
    """One per-row tool (it takes a row `id`) over many rows, with the same arguments for each.
    A row the tool refuses (too long, no words) gets `{"error": message}`, not a failed job."""

    def __init__(self, tool: str, args: dict[str, Any] | None = None, batch_size: int = 8,
                 fast: bool = True) -> None:
        from tools.registry import get_tool

        tool_cls = get_tool(tool)  # an unknown name fails here with the valid ones
        if "id" not in tool_cls.Params.model_fields:
            raise InputError(f"`{tool}` works on the whole dataset, not row by row, so `whybox batch` cannot "
                             "shard it.", "Batch a per-row tool, e.g. predict, attribute or counterfactual.")
        self.tool = tool
        self.name = tool
        self.args = {k: v for k, v in (args or {}).items() if k not in ("id", "text")}
        self.batch_size = batch_size
        self.fast = fast

    def __getstate__(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": self.args, "batch_size": self.batch_size, "fast": self.fast}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, name=state["tool"])

    def params(self, row_id: int) -> dict[str, Any]:
        """The tool's checked arguments for one row (bad arguments fail before any work)."""
        from tools.base import parse_params
        from tools.registry import get_tool

        params = parse_params(get_tool(self.tool), {**self.args, "id": row_id})
        return params.model_dump(mode="json", exclude_none=True)

    def job(self, ctx: ToolContext) -> dict[str, Any]:
        from tools.registry import get_tool

        tool_cls = get_tool(self.tool)
        first = ctx.dataset.rows[0].id if ctx.dataset.rows else 0
        params = {k: v for k, v in self.params(first).items() if k != "id"}
        job = {"kind": "tool", "tool": self.tool, "version": tool_cls.version, "params": params}
        if tool_cls.needs_model or tool_cls.cacheable:
            job.update(model=ctx.workspace.model_hash, task=ctx.workspace.task_signature)
        return job

    def run_rows(self, ctx: ToolContext, rows: Sequence[Row]) -> list[Any]:
        fast = fast_path(self.tool) if self.fast else None
        if fast is not None:
            return fast(ctx, list(rows), self.args)
        return super().run_rows(ctx, rows)

    def run_row(self, ctx: ToolContext, row: Row) -> Any:
        return tool_row(ctx, self.tool, self.args, row)


def tool_row(ctx: ToolContext, tool: str, args: dict[str, Any], row: Row) -> dict[str, Any]:
    """One row's entry in a tool's table: the tool's output and caveats, or the error it gave."""
    from tools.registry import run_tool

    try:
        result = run_tool(ctx, tool, {**args, "id": row.id})
    except WhyboxError as exc:
        return {"error": str(exc)}
    return {"output": result.output, "caveats": result.caveats, "cached": result.provenance.cached}
