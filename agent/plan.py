"""Plan types and the conversation state that follow-up questions resolve against."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Call(BaseModel):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class Choice(BaseModel):
    """One likely reading of an unclear question, offered as a button / numbered option."""

    label: str
    calls: list[Call] = Field(default_factory=list)


class Plan(BaseModel):
    """One question's plan: the contract of `whybox plan --json` (tools.md). `choices` only comes
    with a clarifying `message` (no calls): the readings the user can pick from."""

    question: str
    calls: list[Call] = Field(default_factory=list)
    message: str | None = None
    choices: list[Choice] = Field(default_factory=list)
    # What a clarifying question was about, so the answer ("oops, layer 25", "use lime then") can
    # complete it: the calls as far as they were understood, and the slot asked for. Not part of
    # the printed contract.
    pending: list[Call] = Field(default_factory=list, exclude=True)
    asks_for: str | None = Field(default=None, exclude=True)


class ConversationState(BaseModel):
    """What earlier turns established: the last instance, selection, tool and its arguments."""

    last_id: int | None = None
    last_text: str | None = None
    last_where: dict[str, Any] | None = None
    last_tool: str | None = None
    last_args: dict[str, Any] = Field(default_factory=dict)
    last_layer: int | None = None
    last_neuron: int | None = None
    history: list[Call] = Field(default_factory=list)  # the last calls, newest last (a few turns back)
    # the last turn's clarifying question: what it was about, what it asked for, the readings offered
    pending: list[Call] = Field(default_factory=list)
    asks_for: str | None = None
    offered: list[Choice] = Field(default_factory=list)

    def instance(self) -> dict[str, Any] | None:
        if self.last_id is not None:
            return {"id": self.last_id}
        if self.last_text is not None:
            return {"text": self.last_text}
        return None

    def remember(self, plan: Plan) -> None:
        asked = not plan.calls
        self.pending = list(plan.pending) if asked else []
        self.asks_for = plan.asks_for if asked else None
        self.offered = list(plan.choices) if asked else []
        for call in plan.calls:
            args = call.args
            if "id" in args:
                self.last_id, self.last_text = args["id"], None
            elif "text" in args:
                self.last_id, self.last_text = None, args["text"]
            if "where" in args:
                self.last_where = args["where"]
                ids = args["where"].get("ids")
                if ids and len(ids) == 1:
                    self.last_id, self.last_text = ids[0], None
            elif (call.tool == self.last_tool and "where" in self.last_args
                  and not ({"id", "text"} & set(args))):
                self.last_where = None  # "and on everything": the same tool without its selection drops it
            if "layer" in args:
                self.last_layer = args["layer"]
            if "neuron" in args:
                self.last_neuron = args["neuron"]
            self.last_tool, self.last_args = call.tool, dict(args)
            self.history = [*self.history, Call(tool=call.tool, args=dict(args))][-12:]
