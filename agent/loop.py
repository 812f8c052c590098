"""The agent loop: LangChain `create_agent` over tools generated from the registry (one source of
truth), whatever the chat model (offline planner, OpenAI-compatible endpoint, local model).

Tool errors a model can fix (unknown id, bad argument, unknown tool) go back to it as
`ToolMessage(status="error")`; our own bugs raise. A step limit bounds every turn.
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

from agent.plan import Call
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


@wrap_tool_call
def tool_errors_to_messages(request: Any, handler: Any) -> ToolMessage:
    """A recoverable tool error goes back to the model as an error message, with the fix."""
    call = request.tool_call
    try:
        return handler(request)
    except (WhyboxError, ValidationError) as exc:
        text = str(exc) if isinstance(exc, WhyboxError) else "Invalid arguments: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors())
        return ToolMessage(content=f"Error: {text}", tool_call_id=call["id"], name=call["name"], status="error")


class AgentLoop:
    def __init__(self, context: ToolContext, model: BaseChatModel, system_prompt: str, max_steps: int = 8) -> None:
        self.max_steps = max_steps
        self.graph = create_agent(model, registry_tools(context), system_prompt=system_prompt,
                                  middleware=[tool_errors_to_messages])

    def run(self, question: str, history: list[BaseMessage]) -> Iterator[tuple[str, Any]]:
        """Yields ("call", (id, Call)), ("result", (id, ToolMessage)), ("answer", str), ("limit", str)."""
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
            for call in message.tool_calls:
                yield "call", (call["id"], Call(tool=call["name"], args=call.get("args") or {}))
            for bad in getattr(message, "invalid_tool_calls", []) or []:
                yield "invalid", bad
            if not message.tool_calls and message.content:
                yield "answer", str(message.content)
        elif isinstance(message, ToolMessage):
            yield "result", (message.tool_call_id, message)
