"""The Python API: `Assistant(...).ask(question)` plans, runs the tools and narrates one turn.

One Assistant is one conversation (its own plan state and label edits) over a `Workspace` that
several conversations may share (the web UI does: one model in memory, many sessions).
"""
from __future__ import annotations

import time
from typing import Any, Iterator

from agent.narrator import narrate, narrate_step
from agent.plan import ConversationState, Plan
from agent.planner import RulePlanner
from agent.records import RunRecord, Step
from tools.context import ToolContext, Workspace
from tools.errors import WhyboxError
from tools.registry import run_tool
from tools.results import ToolResult
from tools.settings import Settings


class Assistant:
    def __init__(self, settings: Settings | None = None, workspace: Workspace | None = None, quiet: bool = False, **overrides: Any) -> None:
        if workspace is None:
            workspace = Workspace(settings or Settings.from_env(**overrides), quiet=quiet)
        self.workspace = workspace
        self.context = ToolContext(workspace)
        self.state = ConversationState()
        self.history: list[RunRecord] = []
        self._planner: RulePlanner | None = None

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def planner(self) -> RulePlanner:
        if self._planner is None:
            dataset = self.workspace.dataset
            self._planner = RulePlanner(self.workspace.labels or [], short_words=dataset.median_words(), text_of=self._text_of)
        return self._planner

    def _text_of(self, row_id: int) -> str | None:
        try:
            return self.workspace.dataset.get(row_id).text
        except WhyboxError:
            return None

    def plan(self, question: str, remember: bool = True) -> Plan:
        """Plan one turn without running anything (no model weights are loaded)."""
        plan = self.planner.plan(question, self.state)
        plan.question = question
        if remember:
            self.state.remember(plan)
        return plan

    def run_tool(self, name: str, args: dict[str, Any] | None = None) -> ToolResult:
        return run_tool(self.context, name, args)

    def stream(self, question: str) -> Iterator[tuple[str, Any]]:
        """Yield ("plan", Plan), then ("step_start", Call) / ("step", Step) per call, then ("record", RunRecord)."""
        start = time.perf_counter()
        plan = self.plan(question)
        yield "plan", plan
        record = RunRecord(question=question, calls=plan.calls, message=plan.message)
        for call in plan.calls:
            yield "step_start", call
            t0 = time.perf_counter()
            try:
                result = self.run_tool(call.tool, call.args)
                step = Step(tool=call.tool, args=call.args, status="done", output=result.output, caveats=result.caveats,
                            provenance=result.provenance.model_dump(mode="json"), seconds=round(time.perf_counter() - t0, 4))
            except WhyboxError as exc:
                step = Step(tool=call.tool, args=call.args, status="error", error=str(exc), seconds=round(time.perf_counter() - t0, 4))
            record.steps.append(step)
            yield "step", step
        record.narration = narrate(record.steps, record.message)
        record.seconds = round(time.perf_counter() - start, 4)
        self.history.append(record)
        yield "record", record

    def ask(self, question: str) -> RunRecord:
        record = None
        for kind, value in self.stream(question):
            if kind == "record":
                record = value
        assert record is not None
        return record


__all__ = ["Assistant", "narrate_step"]
