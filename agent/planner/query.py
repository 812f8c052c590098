"""`Query`: the planner's implementation of tools.planning.PlanQuery, handed to a tool's
`plan_args` / `reroute` hooks so that tool-specific planning lives in the tool's module."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from agent.plan import ConversationState
from agent.planner import slots
from agent.planner.normalise import counts_in_words
from agent.planner.vocabulary import INSTANCE_POINTER, ROW_NOUN, SELECTION_REFERENT


@dataclass
class Query:
    text: str
    labels: list[str]
    state: ConversationState
    texts: list[str] = field(default_factory=list)
    same_tool: bool = False
    follow_up: bool = False
    beyond: Callable[[str, str], str] | None = None  # (tool, clause) -> tool

    @property
    def last_tool(self) -> str | None:
        return self.state.last_tool

    @property
    def last_args(self) -> dict[str, Any]:
        return dict(self.state.last_args or {})

    @property
    def last_layer(self) -> int | None:
        return self.state.last_layer

    @property
    def last_neuron(self) -> int | None:
        return self.state.last_neuron

    @property
    def last_id(self) -> int | None:
        return self.state.last_id

    @property
    def instance(self) -> dict[str, Any] | None:
        return self.state.instance()

    def ids(self) -> list[int]:
        return slots.find_ids(self.text)

    def labels_named(self) -> list[str]:
        return [label for label in self.labels if re.search(rf"\b{re.escape(label)}", self.text, re.I)]

    def layers(self) -> list[int]:
        return slots.find_layers(self.text)

    def neuron(self) -> int | None:
        return slots.find_neuron(self.text)

    def k(self) -> int | None:
        return slots.find_k(self.text)

    def singular_k(self) -> int | None:
        return slots.find_singular_k(self.text)

    def metric(self) -> str | None:
        return slots.find_metric(self.text)

    def metrics(self) -> list[str]:
        return slots.find_metrics(self.text)

    def counted_text(self) -> str:
        """The clause with counts in digits ('strength two' -> 'strength 2')."""
        return counts_in_words(self.text)

    def search(self, pattern: str) -> re.Match[str] | None:
        return re.search(pattern, self.text, re.I)

    def matches(self, tool: str) -> bool:
        from agent.planner.catalog import catalog

        return any(trigger.search(self.text) for trigger in catalog().tools[tool].triggers)

    def points_at_instance(self) -> bool:
        return bool(INSTANCE_POINTER.search(self.text))

    def points_at_selection(self) -> bool:
        return bool(SELECTION_REFERENT.search(self.text))

    def names_rows(self) -> bool:
        return bool(ROW_NOUN.search(self.text))

    def beyond_filters(self, tool: str) -> str:
        return self.beyond(tool, self.text) if self.beyond is not None else tool
