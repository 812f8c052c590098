"""The Gradio web UI: a thin adapter over `agent.Assistant`.

Each browser session gets its own Assistant (conversation state, label edits) over one shared
Workspace (one model in memory). Tool calls appear as collapsible steps with their arguments,
status and duration; the narration follows.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

import gradio as gr

from agent import Assistant
from tools.context import Workspace
from tools.errors import WhyboxError
from tools.settings import Settings

EXAMPLES = [
    "How many reviews are there?",
    "What's the accuracy?",
    "Show me 3 mistakes",
    "What does the model predict for 'the battery died after a day'?",
    "How accurate is it on reviews that mention price?",
    "What can you do?",
]


def _side_panel(workspace: Workspace) -> str:
    s = workspace.settings
    try:
        ds = workspace.dataset
        data = f"{ds.name}: {len(ds)} rows, labels {', '.join(ds.labels) or '(none)'}"
    except WhyboxError as exc:
        data = f"not loaded ({exc})"
    llm = s.llm or "offline planner (no LLM)"
    return (
        f"**Model**: {workspace.model_id}  \n**Data**: {data}  \n**LLM**: {llm}  \n"
        f"Answers come from tools run on the model; each step can be expanded."
    )


def respond(question: str, history: list, assistant: Assistant | None, workspace: Workspace) -> Iterator[tuple[str, list, Assistant]]:
    """Stream one turn: the question, a pending step per tool call, then the narration."""
    if assistant is None:
        assistant = Assistant(workspace=workspace)
    history = list(history or [])
    question = (question or "").strip()
    if not question:
        yield "", history, assistant
        return
    history.append(gr.ChatMessage(role="user", content=question))
    yield "", history, assistant
    pending: dict[str, int] = {}
    try:
        for kind, value in assistant.stream(question):
            if kind == "step_start":
                history.append(gr.ChatMessage(
                    role="assistant", content=f"`{value.tool}` {json.dumps(value.args)}",
                    metadata={"title": f"tool: {value.tool}", "status": "pending"},
                ))
                pending[value.tool] = len(history) - 1
                yield "", history, assistant
            elif kind == "step":
                index = pending.pop(value.tool, None)
                if index is not None:
                    detail = f"`{value.tool}` {json.dumps(value.args)}"
                    detail += f"\n\nerror: {value.error}" if value.error else ""
                    title = f"tool: {value.tool}" if value.status == "done" else f"tool failed: {value.tool}"
                    history[index] = gr.ChatMessage(
                        role="assistant", content=detail,
                        metadata={"title": title, "status": "done", "duration": value.seconds},
                    )
                yield "", history, assistant
            elif kind == "record":
                history.append(gr.ChatMessage(role="assistant", content=value.narration))
                yield "", history, assistant
    except WhyboxError as exc:  # e.g. the model could not be loaded: say so, keep the chat going
        history.append(gr.ChatMessage(role="assistant", content=f"I could not answer: {exc}"))
        yield "", history, assistant


def build_app(workspace: Workspace) -> gr.Blocks:
    with gr.Blocks(title="whybox") as demo:
        gr.Markdown("# whybox\nAsk a model *why*: chat about its predictions and the data.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", height=560, elem_id="chat")
                question = gr.Textbox(placeholder="Ask about the model or the data…", show_label=False, elem_id="question", autofocus=True)
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("New conversation", elem_id="clear")
            with gr.Column(scale=1):
                gr.Markdown(_side_panel(workspace), elem_id="session-info")
                gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[question], label="Try")
        state = gr.State(None)

        def _respond(q: str, history: list, assistant: Assistant | None):
            yield from respond(q, history, assistant, workspace)

        question.submit(_respond, [question, chatbot, state], [question, chatbot, state], api_name="ask")
        ask.click(_respond, [question, chatbot, state], [question, chatbot, state])
        clear.click(lambda: ([], None), None, [chatbot, state])
    return demo


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None, block: bool = True) -> Any:
    workspace = Workspace(settings)
    workspace.dataset  # a bad --data fails now, with its one-line message
    demo = build_app(workspace)
    demo.queue(default_concurrency_limit=4)
    print(f"whybox: web UI on http://{host}:{port} (model {workspace.model_id}; the model loads on the first question that needs it)", flush=True)
    return demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block, show_error=True)
