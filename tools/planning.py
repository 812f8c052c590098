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
    exact: bool = False  # a phrase only this tool's requests use: the learned model never overrides its match
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.pattern, re.I))

    def search(self, clause: str) -> re.Match[str] | None:
        return self.compiled.search(clause)


class NeedsClarification(Exception):
    """Raised by a `plan_args` hook when the question lacks something only the user can give
    ("which neuron?"): the planner asks this message instead of guessing. `asks_for` names the
    missing slot and `partial` the arguments understood so far, so the user's answer ("in layer
    14") completes the call."""

    def __init__(self, message: str, asks_for: str | None = None, partial: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.asks_for = asks_for
        self.partial = dict(partial or {})


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
    def labels_named(self) -> list[str]: ...  # the dataset's labels the clause names
    def layers(self) -> list[int]: ...
    def neuron(self) -> int | None: ...
    def k(self) -> int | None: ...
    def singular_k(self) -> int | None: ...
    def metric(self) -> str | None: ...
    def metrics(self) -> list[str]: ...
    def search(self, pattern: str) -> re.Match[str] | None: ...
    def counted_text(self) -> str: ...  # the clause with counts in digits ("strength two" -> "strength 2")
    def matches(self, tool: str) -> bool: ...  # does one of that tool's triggers match the clause?
    def points_at_instance(self) -> bool: ...  # "that review", "it", "this one"
    def points_at_selection(self) -> bool: ...  # "those", "them", "among these"
    def names_rows(self) -> bool: ...  # "reviews", "rows", "examples"...
    def beyond_filters(self, tool: str) -> str: ...  # the tool asked for once filter words are removed


def alternatives(*parts: str) -> str:
    """One regex from alternatives written one per line (design.md habit 12)."""
    return "|".join(parts)


# "what is steering?", "what does activation patching tell you?", "how does it work": a question
# about a method itself. A tool whose trigger names its method sends such a question, when it points
# at no instance, to the concept tool (its `reroute` hook); one owner for the wordings.
ASKS_WHAT = alternatives(
    r"^\W*(?:so |and |ok(?:ay)?,? )?what(?:'s| is| are| does)\b(?! (?:happens|would|will))",
    r"^\W*(?:so |and |ok(?:ay)?,? )?(?:explain|describe|define|tell me (?:about|more))\b",
    r"^\W*(?:can|could) you (?:explain|describe|tell me about)\b",
    r"\bhow (?:does|do|is|are) .*\b(?:work|works|computed|built|done)\b",
    r"\bhow (?:does|do|is|are) .*\bdiffer(?:s|ent)? (?:from|to)\b",  # "how is patching different from ..."
    r"\bwhat does .* mean\b",
)


def asks_about_method(query: PlanQuery) -> bool:
    """The clause asks what a method is or how it works and points at nothing to run it on."""
    return not (query.ids() or query.texts or query.points_at_instance()) and bool(query.search(ASKS_WHAT))


# A request to change the model ("can u do rlhf on it so its less biased", "fine-tune it to remove
# the gender bias"), which whybox never does (tools.md: out of scope, no calls and a message). A
# tool whose trigger shares words with such requests ("bias") excludes them with `unless`.
CHANGES_THE_MODEL = alternatives(
    r"\brlhf\b",  # reinforcement learning from human feedback
    r"\breinforcement learning\b",
    r"\bfine[- ]?tun\w*",
    r"\bre-?train\w*",
    r"\btrain(?:s|ed|ing)? (?:it|the model|the classifier|on|with)\b",
    r"\bde-?bias\w*",
    r"\bunlearn\w*",
    r"\b(?:make|get) (?:it|the model|the classifier|them) (?:less|un)[- ]?bias",
    r"\b(?:remove|reduce|fix|eliminate|get rid of|mitigate) (?:the |its |this |that |any )?(?:\w+ )?bias",
)


def unless(excluded: str, pattern: str) -> str:
    """`pattern`, except in a clause where `excluded` matches anywhere (a trigger's exclusion)."""
    return rf"^(?!.*(?:{excluded})).*?(?:{pattern})"
