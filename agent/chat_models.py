"""Chat models behind one interface (LangChain `BaseChatModel`), chosen by `WHYBOX_LLM`:

- unset / "offline": `PlannerChatModel`, the offline rule planner speaking the tool-call protocol,
  so the agent loop, streaming, memory and run records are the same with or without an LLM;
- "openai:MODEL": `ChatOpenAI` against OPENAI_BASE_URL (OpenAI, vLLM, llama.cpp server, Ollama);
- "local" or "local:/path/to/chat-model": a transformers chat model on CPU (default: the packaged
  SmolLM2-135M-Instruct). It cannot call tools reliably, so the planner plans and it only writes
  the narration (checked by `agent.grounding`).
"""
from __future__ import annotations

import re
import uuid
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict

from agent.plan import ConversationState, Plan
from tools.errors import InputError
from tools.settings import Settings

_PICK = re.compile(r"\W*(?:option|choice|number|no\.?)?\s*(\d)\W*", re.I)


def picked_choice(text: str, choices: list[Any]) -> Any | None:
    """The choice a reply such as "2" or "option 2" picks among the last clarification's, if any."""
    picked = _PICK.fullmatch(text)
    return choices[int(picked.group(1)) - 1] if picked and 1 <= int(picked.group(1)) <= len(choices) else None


def with_choices(plan: Plan) -> str:
    """The plan's message, with its choices as numbered options to answer with a number."""
    if not plan.choices:
        return plan.message or ""
    options = "\n".join(f"{n}. {choice.label}" for n, choice in enumerate(plan.choices, 1))
    return f"{plan.message}\n{options}\n(Answer with a number to run that one.)"


class PlannerChatModel(BaseChatModel):
    """The offline planner as a chat model: a human turn becomes tool calls (or a message); once
    the tools have answered, it ends the turn with an empty message (the narrator writes prose)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    planner: Any
    state: ConversationState
    choices: list[Any] = []  # the readings the last clarifying question offered; "2" picks the second

    @property
    def _llm_type(self) -> str:
        return "whybox-planner"

    def bind_tools(self, tools: Any, **kwargs: Any) -> "PlannerChatModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage) or not isinstance(last, HumanMessage):
            message = AIMessage(content="")
        else:
            text = str(last.content)
            picked = picked_choice(text, self.choices)
            if picked is not None:
                plan = Plan(question=text, calls=picked.calls)
            else:
                plan = self.planner.plan(text, self.state)
            self.choices = list(plan.choices)
            self.state.remember(plan)
            calls = [{"name": c.tool, "args": c.args, "id": f"call_{uuid.uuid4().hex[:10]}", "type": "tool_call"}
                     for c in plan.calls]
            message = AIMessage(content=with_choices(plan), tool_calls=calls)
        return ChatResult(generations=[ChatGeneration(message=message)])


class LocalChatModel(BaseChatModel):
    """A local transformers chat model (greedy decoding, CPU). Text only: no tool calls."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    handle: Any
    max_new_tokens: int = 120

    @property
    def _llm_type(self) -> str:
        return "whybox-local"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        import torch

        roles = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}
        chat = [{"role": roles.get(type(m), "user"), "content": str(m.content)} for m in messages]
        tokenizer, model = self.handle.tokenizer, self.handle.model
        ids = tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=self.max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
        text = tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def llm_kind(settings: Settings) -> str:
    """'offline', 'openai' or 'local'; a clear error for anything else."""
    spec = (settings.llm or "offline").strip()
    kind = spec.split(":", 1)[0].lower()
    if kind in {"offline", "none", "rules", ""}:
        return "offline"
    if kind == "openai":
        if ":" not in spec or not spec.split(":", 1)[1]:
            raise InputError("WHYBOX_LLM=openai needs a model name, e.g. openai:gpt-4o-mini.")
        return "openai"
    if kind == "local":
        return "local"
    raise InputError(f"Unknown WHYBOX_LLM {spec!r}.",
                     "Use openai:MODEL, local, local:/path/to/chat-model, or leave it unset.")


def openai_chat_model(settings: Settings, streaming: bool = False) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    model = settings.llm.split(":", 1)[1]
    return ChatOpenAI(model=model, base_url=settings.openai_base_url, api_key=settings.openai_api_key or "not-needed",
                      temperature=0, timeout=120, max_retries=1, streaming=streaming)


def local_chat_model(settings: Settings) -> LocalChatModel:
    from tools.models.handle import load_model

    spec = settings.llm or "local"
    source = spec.split(":", 1)[1] if ":" in spec else "smollm2"
    return LocalChatModel(handle=load_model(source or "smollm2", settings.models_dir, quiet=True))
