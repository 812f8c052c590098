"""One structured run record per turn (design.md habit 9): it feeds the CLI's --json, the UI
stream, the transcript and (later) reports."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agent.plan import Call


class Step(BaseModel):
    tool: str
    args: dict[str, Any]
    status: str  # "done" | "error"
    output: dict[str, Any] | None = None
    caveats: list[str] = Field(default_factory=list)
    error: str | None = None
    provenance: dict[str, Any] | None = None
    seconds: float = 0.0


def done_step(tool: str, args: dict[str, Any], result: Any, seconds: float) -> Step:
    """The Step of a successful tool call (a tools.results.ToolResult)."""
    return Step(tool=tool, args=args, status="done", output=result.output, caveats=result.caveats,
                provenance=result.provenance.model_dump(mode="json"), seconds=seconds)


def run_step(ctx: Any, tool: str, args: dict[str, Any]) -> Step:
    """One tool call as a Step; a tool error becomes an error step (the caller's answer says so)."""
    import time

    from tools.errors import WhyboxError
    from tools.registry import run_tool

    start = time.perf_counter()
    try:
        result = run_tool(ctx, tool, args)
    except WhyboxError as exc:
        return Step(tool=tool, args=args, status="error", error=str(exc), seconds=round(time.perf_counter() - start, 4))
    return done_step(tool, args, result, round(time.perf_counter() - start, 4))


class RunRecord(BaseModel):
    question: str
    calls: list[Call] = Field(default_factory=list)
    message: str | None = None
    steps: list[Step] = Field(default_factory=list)
    narration: str = ""
    narrated_by: str = "template"  # "template" | "openai" | "local"
    grounding: dict[str, Any] | None = None  # the check of an LLM narration (None: template)
    seconds: float = 0.0
