"""What a tool module tells the planner about itself, without importing the planner.

A `Trigger` is a wording that asks for the tool (a regex, case-insensitive) with an explicit
priority: the planner tries every tool's triggers in priority order, lowest first, and the first
match wins. A tool may have several triggers at different priorities (a broad one late, a narrow
one early). `PlanQuery` is the slice of the planner a tool's `plan_args` hook may use: the
question and the conversation, plus the shared slot extractors. The planner implements it
(agent.planner), so tools never import agent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Trigger:
    pattern: str
    priority: int
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.pattern, re.I))

    def search(self, clause: str) -> re.Match[str] | None:
        return self.compiled.search(clause)


class NeedsClarification(Exception):
    """Raised by a `plan_args` hook when the question lacks something only the user can give
    ("which neuron?"): the planner asks this message instead of guessing."""


class PlanQuery(Protocol):
    """One clause being planned (quoted text replaced by QUOTED) and its conversation. Slot
    extractors are the planner's; the answer of each is None / [] when the clause has none."""

    text: str  # the clause, quotes stripped
    texts: list[str]  # the quoted texts of the question
    labels: list[str]  # the dataset's label set
    same_tool: bool  # a follow-up to the previous turn's tool ("and with lime?")
    follow_up: bool  # planned as a follow-up of the previous call (new slots, same tool)
    last_tool: str | None
    last_args: dict[str, Any]
    last_layer: int | None
    last_neuron: int | None
    last_id: int | None
    instance: dict[str, Any] | None  # the conversation's current instance ({"id": 3} / {"text": ...})

    def ids(self) -> list[int]: ...
    def layers(self) -> list[int]: ...
    def neuron(self) -> int | None: ...
    def k(self) -> int | None: ...
    def singular_k(self) -> int | None: ...
    def metric(self) -> str | None: ...
    def metrics(self) -> list[str]: ...
    def search(self, pattern: str) -> re.Match[str] | None: ...
    def matches(self, tool: str) -> bool: ...  # does one of that tool's triggers match the clause?
    def points_at_instance(self) -> bool: ...  # "that review", "it", "this one"
    def points_at_selection(self) -> bool: ...  # "those", "them", "among these"
    def names_rows(self) -> bool: ...  # "reviews", "rows", "examples"...
    def beyond_filters(self, tool: str) -> str: ...  # the tool asked for once filter words are removed


def alternatives(*parts: str) -> str:
    """One regex from alternatives written one per line (design.md habit 12)."""
    return "|".join(parts)
