"""The agent loop: LangChain `create_agent` over tools generated from the registry (one source of
truth), whatever the chat model (offline planner, OpenAI-compatible endpoint, local model).

Tool errors a model can fix (unknown id, bad argument, unknown tool, an argument it invented) go
back to it as `ToolMessage(status="error")`; our own bugs raise. A step limit bounds every turn.
An LLM is wrapped in `agent.repairing_model.RepairingChatModel`, which reads text tool calls,
grounds arguments and allows one retry after a failed round.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from langchain.agents import create_agent
from langchain.agents.middleware import wrap_tool_call
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool
from langgraph.errors import GraphRecursionError
from pydantic import ValidationError

from agent.plan import Call, Plan
from tools.context import ToolContext
from tools.errors import WhyboxError
from tools.registry import all_tools, run_tool

MAX_TOOL_OUTPUT_CHARS = 6000  # what the LLM sees of a result; the full result stays in the artifact


def registry_tools(context: ToolContext) -> list[StructuredTool]:
    """One LangChain tool per registered tool: its name, description and pydantic `Params`."""
    made = []
    for name, tool in all_tools().items():
        def run(_name: str = name, **kwargs: Any) -> tuple[str, Any]:
            result = run_tool(context, _name, kwargs)
            content = json.dumps({"output": result.output, "caveats": result.caveats}, ensure_ascii=False, default=str)
            return content[:MAX_TOOL_OUTPUT_CHARS], result

        description = tool.description + ("" if tool.available else " (not implemented in this version yet)")
        made.append(StructuredTool.from_function(func=run, name=name, description=description, args_schema=tool.Params,
                                                 response_format="content_and_artifact"))
    return made


def _invalid_arguments(name: str, exc: ValidationError) -> str:
    """Pydantic's complaint in one line, with the arguments the tool does take (the fix)."""
    text = "Invalid arguments: " + "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors())
    return f"{text}. {_takes(name)}" if name in all_tools() else text


def _takes(name: str) -> str:
    names = ", ".join(all_tools()[name].Params.model_fields) or "no arguments"
    return f"`{name}` takes: {names}; call it again fixed."


def tool_error_middleware(questioned: dict[str, str]) -> Any:
    """A recoverable tool error goes back to the model as an error message, with the fix; so does a
    call whose arguments `RepairingChatModel` questioned (ids `questioned` maps to the reason)."""

    @wrap_tool_call
    def tool_errors_to_messages(request: Any, handler: Any) -> ToolMessage:
        call = request.tool_call
        reason = questioned.pop(call["id"], None)
        if reason is not None:
            return ToolMessage(content=f"Error: not run: {reason}. Fix the call, or ask the person.",
                               tool_call_id=call["id"], name=call["name"], status="error")
        try:
            message = handler(request)
        except (WhyboxError, ValidationError) as exc:
            text = str(exc) if isinstance(exc, WhyboxError) else _invalid_arguments(call["name"], exc)
            return ToolMessage(content=f"Error: {text}", tool_call_id=call["id"], name=call["name"], status="error")
        refused = getattr(message, "status", None) == "error" and "takes:" not in str(message.content)
        if refused and call["name"] in all_tools():  # langchain's own validation message: add the fix
            message.content = f"{message.content} {_takes(call['name'])}"
        return message

    return tool_errors_to_messages


class AgentLoop:
    def __init__(self, context: ToolContext, model: BaseChatModel, system_prompt: str, max_steps: int = 8) -> None:
        from agent.chat_models import PlannerChatModel
        from agent.repairing_model import RepairingChatModel

        self.max_steps = max_steps
        if not isinstance(model, (PlannerChatModel, RepairingChatModel)):
            model = RepairingChatModel(inner=model)
        questioned = model.memory.questioned if isinstance(model, RepairingChatModel) else {}
        self.graph = create_agent(model, registry_tools(context), system_prompt=system_prompt,
                                  middleware=[tool_error_middleware(questioned)])

    def run(self, question: str, history: list[BaseMessage]) -> Iterator[tuple[str, Any]]:
        """Yields ("call", (id, Call)), ("result", (id, ToolMessage)), ("answer", str), ("limit", str),
        ("note", (id, str)) for a call the wrapper changed, ("clarification", Plan) when the LLM asks
        back, ("stopped", str) when a failed retry ended the turn."""
        config = {"recursion_limit": 2 * self.max_steps + 1}
        inputs = {"messages": [*history, HumanMessage(question)]}
        try:
            for update in self.graph.stream(inputs, config=config, stream_mode="updates"):
                for node_output in update.values():
                    for message in (node_output or {}).get("messages", []):
                        yield from self._events(message)
        except GraphRecursionError:
            yield "limit", f"I stopped after {self.max_steps} steps without finishing; ask a narrower question."

    @staticmethod
    def _events(message: BaseMessage) -> Iterator[tuple[str, Any]]:
        if isinstance(message, AIMessage):
            meta = message.response_metadata or {}
            for call_id, notes in (meta.get("whybox_notes") or {}).items():
                for note in notes:
                    yield "note", (call_id, note)
            if meta.get("whybox_stopped"):
                yield "stopped", meta["whybox_stopped"]
            if meta.get("whybox_clarification"):
                yield "clarification", Plan.model_validate(meta["whybox_clarification"])
            for call in message.tool_calls:
                yield "call", (call["id"], Call(tool=call["name"], args=call.get("args") or {}))
            for bad in getattr(message, "invalid_tool_calls", []) or []:
                yield "invalid", bad
            if not message.tool_calls and message.content:
                yield "answer", str(message.content)
        elif isinstance(message, ToolMessage):
            yield "result", (message.tool_call_id, message)
