"""The Python API: `Assistant(...).ask(question)` plans, runs the tools and narrates one turn.

One Assistant is one conversation (its own plan state, label edits and history, optionally
persisted in SQLite) over a `Workspace` that several conversations may share (the web UI does:
one model in memory, many sessions). Every turn runs through the same agent loop
(`agent.loop`), whichever chat model plans it (`agent.chat_models`).
"""
from __future__ import annotations

import json
import time
from typing import Any, Iterator

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from agent.chat_models import PlannerChatModel, llm_kind, local_chat_model, openai_chat_model
from agent.comparisons import group_comparison, method_comparison
from agent.grounding import check
from agent.llm_fallback import FALLBACK_NOTE, fallback_sentence, uncovered_calls
from agent.memory import ConversationStore
from agent.narrator import narrate, narrate_step
from agent.plan import Call, ConversationState, Plan
from agent.planner import RulePlanner, planner_for
from agent.planner.catalog import catalog
from agent.premises import label_premise_note, premise_note
from agent.questions import usable_question
from agent.records import RunRecord, Step, done_step, run_step
from agent.what_if import baseline_args, what_if_note
from prompts import load_prompt
from tools.context import ToolContext, Workspace
from tools.registry import all_tools, run_tool
from tools.results import ToolResult
from tools.settings import Settings

MAX_STEPS = 8


class Assistant:
    def __init__(self, settings: Settings | None = None, workspace: Workspace | None = None, quiet: bool = False,
                 conversation_id: str | None = None, persist: bool = False, **overrides: Any) -> None:
        if workspace is None:
            workspace = Workspace(settings or Settings.from_env(**overrides), quiet=quiet)
        self.workspace = workspace
        self.context = ToolContext(workspace)
        self.state = ConversationState()
        self.history: list[RunRecord] = []
        self._planner: RulePlanner | None = None
        self._loop: Any = None
        self._planner_model: PlannerChatModel | None = None  # the offline planner's, when it plans
        self._narrator_llm: Any = None
        self.kind = llm_kind(self.settings)
        persisted = persist or conversation_id
        self.store = ConversationStore(self.settings.home / "conversations.sqlite") if persisted else None
        self.conversation_id = conversation_id
        self.reports_dir = self.settings.home / "reports"
        self.context.reporter = self.write_report
        if self.kind in ("openai", "local"):  # tools that write text (explain_neuron) use the same LLM
            self.context.llm = (self._llm_text, str(self.settings.llm))
        if conversation_id:
            self._resume(conversation_id)
        elif self.store is not None:
            self.conversation_id = self.store.new()

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def planner(self) -> RulePlanner:
        if self._planner is None:
            from tools.model_shape import shape_for_spec

            self._planner = planner_for(self.workspace.dataset, self.workspace.labels,
                                        shape_for_spec(str(self.settings.model)))
        return self._planner

    def _resume(self, conversation_id: str) -> None:
        assert self.store is not None
        for record in self.store.records(conversation_id):
            self.history.append(record)
            self.state.remember(Plan(question=record.question, calls=record.calls))
            for step in record.steps:
                if step.status == "done" and step.output and step.tool in all_tools():
                    all_tools()[step.tool]().restore(self.context, step.output)  # e.g. label edits

    def plan(self, question: str, remember: bool = True) -> Plan:
        """Plan one turn with the offline planner, without running anything (no model weights load)."""
        question = usable_question(question)
        plan = self.planner.plan(question, self.state)
        plan.question = question
        if remember:
            self.state.remember(plan)
        return plan

    def run_tool(self, name: str, args: dict[str, Any] | None = None) -> ToolResult:
        return run_tool(self.context, name, args)

    def write_report(self, params: Any, out_dir: Any = None) -> dict[str, Any]:
        """Write a report (the `report` tool's arguments) into `out_dir` (default WHYBOX_HOME/reports)."""
        from pathlib import Path

        from agent.reports import write_report
        from agent.reports.content import content_for

        content = content_for(self.context, params, self.history, quiet=self.workspace.quiet)
        files = write_report(content, self.workspace, Path(out_dir) if out_dir else self.reports_dir)
        return {"title": content.title, "kind": content.kind, "html": str(files.html),
                "pdf": str(files.pdf) if files.pdf else None, "pages": files.pages, "figures": files.figures,
                "sections": files.sections, "summary": content.summary}

    # ---------- the turn ----------
    def _agent(self) -> Any:
        if self._loop is None:
            from agent.loop import AgentLoop

            if self.kind == "openai":
                model = openai_chat_model(self.settings)
            else:
                last = self.history[-1].choices if self.history else []  # "2" after a resume
                model = self._planner_model = PlannerChatModel(planner=self.planner, state=self.state,
                                                               choices=list(last))
            labels = ", ".join(self.workspace.labels or []) or "none"
            system = load_prompt("agent").render("system", model=self.settings.model,
                                                 data=self.workspace.dataset.name, labels=labels)
            self._loop = AgentLoop(self.context, model, system, max_steps=MAX_STEPS)
        return self._loop

    def _history_messages(self) -> list[BaseMessage]:
        if self.kind != "openai":
            return []  # the planner keeps its own conversation state
        messages: list[BaseMessage] = []
        for record in self.history[-10:]:
            messages += [HumanMessage(record.question), AIMessage(record.narration)]
        return messages

    def stream(self, question: str) -> Iterator[tuple[str, Any]]:
        """Yield ("step_start", Step) when a tool call starts (status "running") and ("step", Step)
        when it ends, both with the call's `call_id` (a turn may call one tool twice), then
        ("record", RunRecord)."""
        question = usable_question(question)
        start = time.perf_counter()
        record = RunRecord(question=question)
        pending: dict[str, tuple[Call, float]] = {}
        index: dict[str, int] = {}  # call id -> call order; tools may finish in another order
        ordered: list[tuple[int, Step]] = []
        answer: str | None = None
        notes: dict[str, list[str]] = {}
        clarification: Plan | None = None
        for event, value in self._agent().run(question, self._history_messages()):
            if event == "call":
                call_id, call = value
                record.calls.append(call)
                pending[call_id] = (call, time.perf_counter())
                index[call_id] = len(index)
                yield "step_start", _started(call, call_id)
            elif event == "result":
                call_id, message = value
                call, t0 = pending.pop(call_id, (Call(tool=message.name or "?", args={}), time.perf_counter()))
                step = _step(call, message, round(time.perf_counter() - t0, 4), call_id)
                ordered.append((index.get(call_id, len(index)), step))
                yield "step", step
            elif event == "invalid":
                bad = Step(tool=str(value.get("name")), args={}, status="error", call_id=value.get("id"),
                           error=f"Malformed tool call: {value.get('error')}")
                ordered.append((len(index) + len(ordered), bad))
            elif event == "answer":
                answer = value
            elif event == "limit":
                record.message = value
            elif event == "note":  # an argument the LLM invented and the wrapper dropped, a text call read
                notes.setdefault(value[0], []).append(value[1])
            elif event == "clarification":  # the LLM asked back, in the planner's choices shape
                clarification = value
        record.steps = [step for _, step in sorted(ordered, key=lambda pair: pair[0])]
        for step in record.steps:
            step.caveats = [*step.caveats, *(f"The LLM's call was changed: {n}." for n in notes.get(step.call_id, []))]
        if clarification is not None and answer:
            record.message = answer
            record.choices = list(clarification.choices)  # the same shape as the planner's
        if self._planner_model is not None:
            record.choices = list(self._planner_model.choices)  # the options this turn offered, if any
        if not record.calls and answer and record.message is None:
            record.message = answer if self.kind != "openai" else None
        added: list[Step] = []
        llm_called = bool(record.calls)
        if self.kind == "openai" and record.message is None:
            added = yield from self._offline_fallback(question, record)
        if clarification is not None or (added and not llm_called):
            answer = None  # a clarifying question is its own answer; one from nothing is not narrated
        self._narrate(record, answer)
        dropped = [n for step_notes in notes.values() for n in step_notes if n.startswith("dropped ")]
        if dropped:
            record.narration += "\n\n(I changed the LLM's calls: " + "; ".join(dropped) + ".)"
        if added:
            if record.narrated_by != "template":  # the LLM's words cover its own steps only
                record.narration += "\n\n" + narrate(added, None)
            record.narration += "\n\n" + fallback_sentence(added, llm_called)
        record.seconds = round(time.perf_counter() - start, 4)
        if self.kind == "openai":  # the offline fallback resolves follow-ups against the LLM's calls too
            self.state.remember(Plan(question=question, calls=record.calls))
        self.history.append(record)
        if self.store is not None and self.conversation_id:
            self.store.append(self.conversation_id, record)
        yield "record", record

    def _offline_fallback(self, question: str, record: RunRecord) -> Iterator[tuple[str, Any]]:
        """An LLM that answers a data question without calling a tool has nothing to ground its
        answer in (a weak model such as SmolLM2-135M often does), and one that calls a tool for
        one of two requests leaves the other unanswered. The offline planner's calls that the
        LLM's steps do not cover run here (agent.llm_fallback). Returns the added steps."""
        plan = self.planner.plan(question, self.state.model_copy(deep=True))
        added: list[Step] = []
        for number, call in enumerate(uncovered_calls(plan.calls, record.steps)):
            call_id = f"fallback-{number}"
            yield "step_start", _started(call, call_id)
            step = run_step(self.context, call.tool, call.args, call_id)
            step.caveats = [*step.caveats, FALLBACK_NOTE]
            record.calls.append(call)
            record.steps.append(step)
            added.append(step)
            yield "step", step
        return added

    def _narrate(self, record: RunRecord, answer: str | None) -> None:
        # "review 12 is not a mistake: ...", "the model does not call review 12 negative: ..." come first
        note = (premise_note(record.question, record.steps) or label_premise_note(record.question, record.steps)
                or group_comparison(record.question, record.steps))  # "is it worse on film ...?": yes / no first
        compared = method_comparison(record.steps) or self._what_if_change(record)  # at the end
        template = narrate(record.steps, record.message)
        template = f"{note}\n\n{template}" if note else template
        template = f"{template}\n\n{compared}" if compared else template
        record.narration, record.narrated_by = template, "template"
        if self.kind == "offline" or (self.kind == "local" and not record.steps):
            return
        if self.kind == "local":
            answer = self._local_narration(record)
        if not answer:
            return
        results = [{"tool": s.tool, "args": s.args, "output": s.output, "error": s.error} for s in record.steps]
        grounding = check(answer, results, record.question)
        record.grounding = {"ok": grounding.ok, "unsupported": grounding.describe()}
        if grounding.ok:
            answer = f"{answer}\n\n{compared}" if compared else answer
            record.narration, record.narrated_by = (f"{note}\n\n{answer}" if note else answer), self.kind
        else:
            record.narration = (template + f"\n\n(The {self.kind} LLM's answer mentioned {grounding.describe()}, "
                                "which the results do not contain, so this is the template answer instead.)")

    def _what_if_change(self, record: RunRecord) -> str | None:
        """'what if I swap X for Y in "..."': the original predicted too, so the answer says what the edit changed."""
        args = baseline_args(record.question, record.steps, getattr(self.planner, "text_of", None))
        default = catalog().role("default")
        after = next((s.output for s in record.steps if s.tool == default and s.status == "done"), None)
        if args is None or not after or after.get("kind") != "classification":
            return None
        before = run_step(self.context, default, args)
        return what_if_note(before.output, after) if before.status == "done" and before.output else None

    def _llm_text(self, system: str, user: str) -> str:
        """One completion from the configured LLM (the endpoint, or the local chat model)."""
        if self._narrator_llm is None:
            make = openai_chat_model if self.kind == "openai" else local_chat_model
            self._narrator_llm = make(self.settings)
        return str(self._narrator_llm.invoke([SystemMessage(system), HumanMessage(user)]).content)

    def _local_narration(self, record: RunRecord) -> str:
        if self._narrator_llm is None:
            self._narrator_llm = local_chat_model(self.settings)
        prompt = load_prompt("narrate")
        outputs = [{"tool": s.tool, "output": s.output} for s in record.steps if s.output]
        results = json.dumps(outputs, default=str)[:3000]
        facts = narrate(record.steps, None)[:1500]
        messages = [SystemMessage(prompt.render("system")),
                    HumanMessage(prompt.render("user", question=record.question, results=results, facts=facts))]
        return str(self._narrator_llm.invoke(messages).content).strip()

    def ask(self, question: str) -> RunRecord:
        record = None
        for kind, value in self.stream(question):
            if kind == "record":
                record = value
        assert record is not None
        return record


def _started(call: Call, call_id: str) -> Step:
    """The "step_start" event's value: the call as a running step."""
    return Step(tool=call.tool, args=call.args, status="running", call_id=call_id)


def _step(call: Call, message: Any, seconds: float, call_id: str | None = None) -> Step:
    result = getattr(message, "artifact", None)
    if message.status == "error" or not isinstance(result, ToolResult):
        error = str(message.content).removeprefix("Error: ")
        return Step(tool=call.tool, args=call.args, status="error", error=error, seconds=seconds, call_id=call_id)
    return done_step(call.tool, call.args, result, seconds, call_id)


__all__ = ["Assistant", "narrate_step"]
