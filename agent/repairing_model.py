"""An LLM behind the agent, made robust to how small instruct models call tools.

`RepairingChatModel` wraps the OpenAI-compatible chat model (Ollama, llama.cpp, vLLM, OpenAI) and
turns each reply into calls the agent loop can trust:

- calls written as text (fenced JSON, bare JSON, `<tool_call>` tags, other shapes) become native
  tool calls (`agent.call_formats`);
- every argument is checked against the question and the conversation (`agent.call_grounding`):
  invented ids, texts, layers and neurons are dropped (said in the step's notes) or questioned;
- a questioned call, an unknown tool or arguments its `Params` refuse go back to the model as a
  fixable error (`Error: ...` tool message) once; if its retry fails too, the turn stops there and
  the offline planner covers what is left (agent.assistant);
- a reply in the clarification contract (tools.md: `calls: []`, `message`, `choices`) becomes the
  same numbered choices as the offline planner's, and answering "2" runs the second reading.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from agent.call_formats import parse_text_calls
from agent.call_grounding import Conversation, ground_call
from agent.chat_models import picked_choice, with_choices
from agent.plan import Call, Choice, Plan

MAX_ERROR_ROUNDS = 2  # the first failed round goes back to the model; a failed retry ends the turn


@dataclass
class RepairMemory:
    """State shared by every bound copy of the model: the last clarification's readings and the
    calls questioned in this round (the tool middleware answers those with the error)."""

    choices: list[Choice] = field(default_factory=list)
    questioned: dict[str, str] = field(default_factory=dict)


def error_rounds(messages: list[BaseMessage]) -> int:
    """How many of this turn's tool rounds (since the last human message) returned an error."""
    rounds, errored = 0, False
    for message in messages:
        if isinstance(message, HumanMessage):
            rounds, errored = 0, False
        elif isinstance(message, AIMessage):
            rounds += errored
            errored = False
        elif isinstance(message, ToolMessage) and message.status == "error":
            errored = True
    return rounds + errored


def conversation_of(messages: list[BaseMessage]) -> Conversation:
    """The question, earlier turns and this turn's tool results (not the system prompt)."""
    return Conversation([str(m.content) for m in messages if not isinstance(m, SystemMessage)])


class RepairingChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    inner: Any  # the unbound chat model (ChatOpenAI)
    bound: Any = None  # the inner model with the tools bound
    schemas: dict[str, Any] = {}  # tool name -> its Params class
    memory: Any = None  # a RepairMemory, shared by the copies bind_tools makes

    def model_post_init(self, _context: Any) -> None:
        if self.memory is None:
            self.memory = RepairMemory()

    @property
    def _llm_type(self) -> str:
        return "whybox-repairing"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "RepairingChatModel":
        schemas = {t.name: t.args_schema for t in tools if getattr(t, "name", None)}
        return self.model_copy(update={"bound": self.inner.bind_tools(tools, **kwargs), "schemas": schemas})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        last = messages[-1] if messages else None
        choice = picked_choice(str(last.content), self.memory.choices) if isinstance(last, HumanMessage) else None
        if choice is not None:
            self.memory.choices = []
            return _result(AIMessage(content="", tool_calls=[_tool_call(c.tool, c.args) for c in choice.calls]))
        if error_rounds(messages) >= MAX_ERROR_ROUNDS:
            message = AIMessage(content="", response_metadata={"whybox_stopped": (
                "The LLM's calls failed again after one fix, so they were not retried.")})
            return _result(message)
        reply = (self.bound or self.inner).invoke(messages, stop=stop, **kwargs)
        return _result(self.repair(reply, messages))

    def repair(self, reply: AIMessage, messages: list[BaseMessage]) -> AIMessage:
        """The reply with text calls read, arguments grounded and a clarification made numbered choices."""
        calls = [dict(c) for c in reply.tool_calls]
        content = str(reply.content or "")
        metadata: dict[str, Any] = {}
        if not calls and not reply.invalid_tool_calls and content:
            found = parse_text_calls(content)
            if found.clarification is not None:
                plan = self._clarification(found.clarification)
                self.memory.choices = list(plan.choices)
                return AIMessage(content=with_choices(plan),
                                 response_metadata={"whybox_clarification": plan.model_dump(mode="json")})
            if found.calls:
                calls = [_tool_call(name, args) for name, args in found.calls]
                metadata["whybox_notes"] = {c["id"]: [f"read from the LLM's text ({_form(content)}), "
                                                      "not a native tool call"] for c in calls}
                content = ""
        conversation = conversation_of(messages)
        for call in calls:
            schema = self.schemas.get(call["name"])
            required = {n for n, f in schema.model_fields.items() if f.is_required()} if schema else set()
            checked = ground_call(call.get("args") or {}, conversation, required)
            call["args"] = checked.args
            if checked.dropped:
                notes = metadata.setdefault("whybox_notes", {}).setdefault(call["id"], [])
                notes += [f"dropped {d}" for d in checked.dropped]
            if checked.questioned:
                self.memory.questioned[call["id"]] = "; ".join(checked.questioned)
        return AIMessage(content=content, tool_calls=calls, invalid_tool_calls=reply.invalid_tool_calls,
                         response_metadata={**reply.response_metadata, **metadata}, id=reply.id)

    def _clarification(self, data: dict[str, Any]) -> Plan:
        """The LLM's clarifying question in the offline planner's shape; unknown tools are left out."""
        choices = []
        for item in data.get("choices") or []:
            if not isinstance(item, dict):
                continue
            found = parse_text_calls(_json({"calls": item.get("calls") or []}))
            calls = [Call(tool=n, args=a) for n, a in found.calls if n in self.schemas]
            if calls:
                choices.append(Choice(label=str(item.get("label") or ", ".join(c.tool for c in calls)), calls=calls))
        message = str(data.get("message") or "Which of these do you mean?")
        return Plan(question="", message=message, choices=choices)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _form(content: str) -> str:
    if "<tool_call>" in content.lower() or "<function" in content.lower():
        return "tags"
    return "fenced JSON" if "```" in content else "bare JSON"


def _tool_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "args": dict(args), "id": f"call_{uuid.uuid4().hex[:10]}", "type": "tool_call"}


def _result(message: AIMessage) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=message)])
