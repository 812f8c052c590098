"""Narration of tool results. Each tool narrates its own typed output (`Tool.narrate` in
tools/builtin/<tool>.py: lead with the answer, give only numbers that are in the result); this
module adds the caveats a result carries and joins the steps of a turn."""
from __future__ import annotations

from typing import Any

from agent.records import Step
from tools.narration import narrate_result


def narrate_output(tool: str, output: dict[str, Any], args: dict[str, Any]) -> str:
    """The tool's own narration of its typed output (tools/builtin/<tool>.py)."""
    return narrate_result(tool, output, args)


def narrate_step(step: Step, with_caveats: bool = True) -> str:
    if step.status == "error":
        return f"I could not run {step.tool}: {step.error}"
    noun = (step.provenance or {}).get("row_noun")  # what the step's data calls its rows
    return narrate_result(step.tool, step.output or {}, step.args, step.caveats if with_caveats else (), noun)


def narrate(steps: list[Step], message: str | None) -> str:
    if message:
        return message
    return "\n\n".join(narrate_step(step) for step in steps)
