"""The rows of a selection or mistakes report go through the batch runner (tools/batch): each
row's record (prediction, attribution with faithfulness, counterfactual) is appended to a result
table under the cache as it finishes, so a report killed half-way resumes where it stopped, shows
progress with an ETA, and runs on Ray actors the same way as `whybox batch` does."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from tools.batch import BatchWork, run_batch

if TYPE_CHECKING:
    from agent.records import RunRecord
    from tools.context import ToolContext
    from tools.data.dataset import Row


class ReportRowWork(BatchWork):
    """One report section per row: the instance steps of the `report` tool on that row."""

    name = "report-rows"

    def __init__(self, method: str | None, batch_size: int = 4) -> None:
        self.method = method
        self.batch_size = batch_size

    def job(self, ctx: ToolContext) -> dict[str, Any]:
        from tools.builtin.report import Report
        from tools.registry import get_tool

        steps = {name: get_tool(name).version for name in Report.instance_steps if get_tool(name).available}
        return {"kind": "report-rows", "steps": steps, "method": self.method, "model": ctx.workspace.model_hash,
                "task": ctx.workspace.task_signature, "data": ctx.dataset.content_hash()}

    def run_row(self, ctx: ToolContext, row: Row) -> Any:
        from agent.reports.content import instance_record

        return instance_record(ctx, {"id": row.id}, self.method).model_dump(mode="json")

    def run_rows(self, ctx: ToolContext, rows: Sequence[Row]) -> list[Any]:
        """The chunk's attributions in shared forwards (tools/attribution/pooled.py), then each
        row's record, whose attribute step gets its finished result (and caches it)."""
        from tools.attribution.pooled import pooled_calls
        from tools.batch.fast import collect_call
        from tools.builtin.report import Report
        from tools.registry import get_tool

        args = {"method": self.method} if self.method else {}
        # the report's attribution step: the one of its instance steps that takes a method
        explaining = next(name for name in Report.instance_steps if get_tool(name).takes("method"))

        def calls(collecting: bool) -> list[Any] | None:
            if collecting:
                for row in rows:
                    collect_call(ctx, explaining, {**args, "id": row.id})
                return None
            return [self.run_row(ctx, row) for row in rows]

        return pooled_calls(ctx.model, ctx.task, calls)


def explained_rows(ctx: ToolContext, rows: Sequence[Row], method: str | None, quiet: bool) -> list[RunRecord]:
    """Each row's record, from (and into) the report table of this model, data and method."""
    from agent.records import RunRecord

    summary = run_batch(ctx, ReportRowWork(method), rows, ctx.settings.cache_dir / "batch", quiet=quiet)
    return [RunRecord.model_validate(summary.results[row.id]) for row in rows]
