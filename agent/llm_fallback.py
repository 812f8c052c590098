"""What the offline planner adds to an LLM's turn: the requests of the question its calls missed.

Why: a small model asked two things ("how many mention good, and what is the label
distribution?") often calls one tool, or fails a call twice and stops. The offline planner reads
the same question; each of its calls whose tool the LLM did not run successfully is run too, and
the step says so, so no request in the question is dropped without a word.
"""
from __future__ import annotations

from collections import Counter

from agent.plan import Call
from agent.records import Step

FALLBACK_NOTE = "Run by the offline planner: the LLM's calls did not cover this part of the question."


def uncovered_calls(planned: list[Call], steps: list[Step]) -> list[Call]:
    """The planner's calls whose tool is not among the LLM's successful steps (counted per tool,
    so a plan that attributes two reviews needs two successful `attribute` steps)."""
    done = Counter(step.tool for step in steps if step.status == "done")
    missing = []
    for call in planned:
        if done[call.tool] > 0:
            done[call.tool] -= 1
        else:
            missing.append(call)
    return missing


def fallback_sentence(steps: list[Step], llm_called: bool) -> str:
    """The narration's last line: which results came from the planner, and why."""
    if not llm_called:
        return ("(The LLM answered without calling any tool, so these results come from the offline planner's "
                "plan for the question.)")
    tools = ", ".join(dict.fromkeys(step.tool for step in steps))
    return (f"(The LLM's calls did not cover everything the question asks, so the offline planner's calls ran "
            f"for: {tools}.)")
