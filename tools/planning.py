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


class PlanQuery(Protocol):
    """The question being planned (quoted text replaced by QUOTED) and its conversation."""

    text: str  # the clause or question, quotes stripped
    labels: list[str]  # the dataset's label set
    last_layer: int | None  # from earlier turns
    last_neuron: int | None
    last_id: int | None

    def ids(self) -> list[int]: ...
    def layers(self) -> list[int]: ...
    def neuron(self) -> int | None: ...
    def k(self) -> int | None: ...
    def method(self) -> str | None: ...
    def search(self, pattern: str) -> re.Match[str] | None: ...
    def state_args(self) -> dict[str, Any]: ...


def alternatives(*parts: str) -> str:
    """One regex from alternatives written one per line (design.md habit 12)."""
    return "|".join(parts)
