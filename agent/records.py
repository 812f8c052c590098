"""One structured run record per turn (design.md habit 9): it feeds the CLI's --json, the UI
stream, the transcript and (later) reports."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.plan import Call, Choice


class Step(BaseModel):
    tool: str
    args: dict[str, Any]
    status: str  # "done" | "error"; "running" only in the stream's "step_start" events
    output: dict[str, Any] | None = None
    caveats: list[str] = Field(default_factory=list)
    error: str | None = None
    provenance: dict[str, Any] | None = None
    seconds: float = 0.0
    # The tool call's id (LangChain's tool_call id; the plan's index for the offline fallback): a
    # turn may call one tool twice, so the UI matches a step's start and its result by this id.
    call_id: str | None = None


def done_step(tool: str, args: dict[str, Any], result: Any, seconds: float, call_id: str | None = None) -> Step:
    """The Step of a successful tool call (a tools.results.ToolResult)."""
    return Step(tool=tool, args=args, status="done", output=result.output, caveats=result.caveats,
                provenance=result.provenance.model_dump(mode="json"), seconds=seconds, call_id=call_id)


def run_step(ctx: Any, tool: str, args: dict[str, Any], call_id: str | None = None) -> Step:
    """One tool call as a Step; a tool error becomes an error step (the caller's answer says so)."""
    import time

    from tools.errors import WhyboxError
    from tools.registry import run_tool

    start = time.perf_counter()
    try:
        result = run_tool(ctx, tool, args)
    except WhyboxError as exc:
        seconds = round(time.perf_counter() - start, 4)
        return Step(tool=tool, args=args, status="error", error=str(exc), seconds=seconds, call_id=call_id)
    return done_step(tool, args, result, round(time.perf_counter() - start, 4), call_id)


class RunRecord(BaseModel):
    question: str
    calls: list[Call] = Field(default_factory=list)
    message: str | None = None
    # A clarifying question's options (the web UI shows them as buttons; "2" runs the second),
    # kept in the record so a resumed conversation can still answer with a number.
    choices: list[Choice] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    narration: str = ""
    narrated_by: str = "template"  # "template" | "openai" | "local"
    grounding: dict[str, Any] | None = None  # the check of an LLM narration (None: template)
    seconds: float = 0.0

    # Notebook display (tools/display.py): the narration, figures inline, the steps folded away.
    def _steps_json(self) -> list[dict[str, Any]]:
        return [step.model_dump(mode="json") for step in self.steps]

    def _repr_html_(self) -> str:
        from tools.display import html

        return html(self.narration or self.message or "", self._steps_json(), title=self.question)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from tools.display import text

        p.text(text(self.narration or self.message or "", self._steps_json(), title=f"Q: {self.question}"))

    def __repr__(self) -> str:
        from tools.display import short

        return short("RunRecord", repr(self.question), self.narration or self.message or "")
