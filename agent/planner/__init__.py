"""The offline planner: question -> plan, no LLM, no network, no model weights.

Tool-independent machinery only: clauses, referents, follow-ups, what-if edits, typo repair, the
learned intent model, and filling arguments from each tool's `Params`. What is particular to a
tool (its trigger wordings, example questions, extra arguments) lives in the tool's module and is
read through the registry (tools/base.py `triggers`, `intent_examples`, `plan_args`).
"""
from agent.planner.planner import VERSION, RulePlanner, planner_for

__all__ = ["VERSION", "RulePlanner", "planner_for"]
