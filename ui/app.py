"""The Gradio web UI: a thin adapter over `agent.Assistant`.

Each browser session gets its own Assistant (conversation state, label edits, report), over a
Workspace shared by every session that uses the same model and data (one model in memory). Tool
calls appear as collapsible steps with their arguments, status and duration; the narration
follows, then the figures its results have (attribution heatmaps, logit lens, probe per layer)
and the reports it wrote, as downloads. Conversations are kept per browser (ui/conversations.py):
a reload or a server restart shows the current one again, and past ones can be reopened. A
clarifying answer's options are buttons under the chat (ui/choices.py).
"""
from __future__ import annotations

import json
import re
import threading
from html import escape
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from agent import Assistant
from agent.figures import figure_for_step
from agent.records import RunRecord
from tools.context import Workspace
from tools.data.dataset import peek_columns
from tools.errors import WhyboxError
from tools.paths import PathRoots
from tools.settings import Settings, parse_label_names
from ui.choices import choice_row, choice_updates
from ui.conversations import STORAGE_KEY, BrowserConversations, browser_secret, empty_saved
from ui.history_chatbot import history_chatbot
from ui.report_links import chat_narration, report_files
from ui.server_auth import LoginThrottle, check_address, throttled_app_kwargs

EXAMPLES = [
    "How many reviews are there?",
    "What's the accuracy?",
    "Show me 3 mistakes",
    "Why did it predict review 12 that way?",
    "What does the model predict for 'the battery died after a day'?",
    "How accurate is it on reviews that mention price?",
    "What would each layer predict next for 'The capital of France is'?",
    "Can I trust attention weights as explanations?",
    "What can you do?",
]


# Gradio floats a component's label over its top-left corner, and a figure message ignores
# show_label=False: the "attribute figure" badge sat on the figure's own title (issue 18). In the
# chat the badge becomes a caption line above the figure, covering nothing.
CSS = """
#chat .message.component label[data-testid="block-label"] {
  position: static; display: inline-flex; margin: 0 0 4px 0; box-shadow: none;
}
"""

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]()!#|~])")


def as_text(text: str) -> str:
    """User or data text shown as itself in the chat, which renders Markdown and HTML: HTML's
    three specials become entities and Markdown's punctuation is backslash-escaped, so
    `<img src=x>`, `<svg onload=...>` and `![q](http://...)` show as typed and fetch nothing."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", escape(str(text), quote=False))


def safe_narration(text: str) -> str:
    """Our narration keeps its Markdown (bold, lists, tables), but it quotes row and user text:
    raw HTML is escaped and no image or link can form, so nothing in the data reaches the
    browser as markup or makes it request a URL (issue 22)."""
    return escape(str(text), quote=False).replace("![", "!\\[").replace("](", "\\](")


def _code(args: Any) -> str:
    """Tool arguments as a code span (shown, never rendered); a backtick in them cannot close it."""
    return "`" + json.dumps(args).replace("`", "\\u0060") + "`"


class WorkspacePool:
    """One Workspace per (model, data): sessions that switch to the same pair share its model."""

    def __init__(self, settings: Settings, roots: PathRoots | None = None) -> None:
        self.default = settings
        self.roots = roots or PathRoots.for_server(settings)  # what a session may switch to (tools/paths.py)
        self._lock = threading.Lock()
        self._workspaces: dict[tuple, Workspace] = {}

    def get(self, model: str | None = None, data: str | None = None, text_column: str | None = None,
            label_column: str | None = None, label_names: str | None = None) -> Workspace:
        """The workspace for these choices; empty ones keep the defaults (a new data file without
        columns given gets 'text'/'label', as on the command line)."""
        d = self.default
        model = self.roots.confine((model or d.model).strip(), "model path")
        data = self.roots.confine((data or d.data).strip(), "data path")
        settings = d.with_(model=model, data=data,
                           text_column=(text_column or d.text_column).strip(),
                           label_column=(label_column or d.label_column or "").strip() or None,
                           label_names=parse_label_names(label_names) if label_names else d.label_names)
        key = (settings.model, settings.data, settings.text_column, settings.label_column, settings.label_names)
        with self._lock:
            if key not in self._workspaces:
                workspace = Workspace(settings, quiet=True)
                workspace.path_roots = self.roots  # tool arguments naming files are bound too
                workspace.check()  # a bad folder or file fails here, with its one-line message
                self._workspaces[key] = workspace
            return self._workspaces[key]


def session_info(workspace: Workspace) -> str:
    s = workspace.settings
    try:
        ds = workspace.dataset
        data = as_text(f"{ds.name}: {len(ds)} rows, labels {', '.join(ds.labels) or '(none)'}")
    except WhyboxError as exc:
        data = f"not loaded ({as_text(str(exc))})"
    llm = s.llm or "offline planner (no LLM)"
    return (f"**Model**: {workspace.model_id}  \n**Data**: {data}  \n**LLM**: {llm}  \n"
            "Answers come from tools run on the model; each step can be expanded.")


def _step_message(step: Any, pending: bool = False) -> gr.ChatMessage:
    """A collapsible step; its metadata id is the tool call's id (one tool may run twice a turn)."""
    detail = f"`{step.tool}` {_code(step.args)}"
    ids = {"id": step.call_id} if step.call_id else {}
    if pending:
        metadata = {"title": f"tool: {step.tool}", "status": "pending", **ids}
        return gr.ChatMessage(role="assistant", content=detail, metadata=metadata)
    if step.error:
        detail += f"\n\nerror: {as_text(step.error)}"
    title = f"tool: {step.tool}" if step.status == "done" else f"tool failed: {step.tool}"
    metadata = {"title": title, "status": "done", "duration": step.seconds, **ids}
    return gr.ChatMessage(role="assistant", content=detail, metadata=metadata)


def _close_pending(history: list, pending: dict[str, int]) -> None:
    """Steps that started but never reported (the turn hit its step limit or failed) stop spinning."""
    for index in pending.values():
        message = history[index]
        metadata = {**message.metadata, "title": f"{message.metadata['title']} (no result)", "status": "done"}
        history[index] = gr.ChatMessage(role="assistant", content=message.content, metadata=metadata)
    pending.clear()


def figure_messages(record: RunRecord, folder: Path) -> list[gr.ChatMessage]:
    """One image message per figure of the turn's results."""
    messages = []
    for step in record.steps:
        path = figure_for_step(step, folder)
        if path is not None:
            image = gr.Image(value=str(path), label=f"{step.tool} figure", show_label=False,
                             elem_classes=["wb-figure"])
            messages.append(gr.ChatMessage(role="assistant", content=image))
    return messages


def answer_messages(record: RunRecord, home: Path) -> list[gr.ChatMessage]:
    """A turn's answer: the narration (report paths as file names), its figures, its report files
    as download links (files Gradio serves from the reports folder)."""
    text = safe_narration(chat_narration(record, home / "reports"))
    messages = [gr.ChatMessage(role="assistant", content=text), *figure_messages(record, home / "figures")]
    return messages + [gr.ChatMessage(role="assistant", content=gr.File(value=str(path), label=path.name,
                                                                        show_label=False, elem_classes=["wb-report"]))
                       for path in report_files(record, home / "reports")]


def conversation_messages(assistant: Assistant) -> list[gr.ChatMessage]:
    """A resumed conversation as the chat showed it: each question, its steps, its answer."""
    history: list[gr.ChatMessage] = []
    for record in assistant.history:
        history.append(gr.ChatMessage(role="user", content=as_text(record.question)))
        history += [_step_message(step) for step in record.steps]
        history += answer_messages(record, assistant.settings.home)
    return history


def respond(question: str, history: list, assistant: Assistant | None,
            pool: WorkspacePool) -> Iterator[tuple[str, list, Assistant]]:
    """Stream one turn: the question, a pending step per tool call, the narration, the figures."""
    if assistant is None:
        assistant = Assistant(workspace=pool.get())
    history = list(history or [])
    question = (question or "").strip()
    if not question:
        yield "", history, assistant
        return
    history.append(gr.ChatMessage(role="user", content=as_text(question)))
    yield "", history, assistant
    pending: dict[str, int] = {}  # call id -> index of its step message
    try:
        for kind, value in assistant.stream(question):
            if kind == "step_start":
                history.append(_step_message(value, pending=True))
                pending[value.call_id] = len(history) - 1
            elif kind == "step":
                index = pending.pop(value.call_id, None)
                if index is not None:
                    history[index] = _step_message(value)
                else:  # a step that never started (a malformed call): shown as it ends
                    history.append(_step_message(value))
            elif kind == "record":
                _close_pending(history, pending)
                history += answer_messages(value, assistant.settings.home)
            yield "", history, assistant
    except WhyboxError as exc:  # e.g. the model could not be loaded: say so, keep the chat going
        _close_pending(history, pending)
        history.append(gr.ChatMessage(role="assistant", content=f"I could not answer: {as_text(str(exc))}"))
        yield "", history, assistant


def write_report(assistant: Assistant | None) -> tuple[Any, Any, str]:
    """The conversation so far as a PDF and an HTML file, offered as downloads."""
    from tools.builtin.report import ReportParams

    if assistant is None or not assistant.history:
        hint = "Ask something first; the report writes up the conversation."
        return gr.DownloadButton(visible=False), gr.DownloadButton(visible=False), hint
    try:
        result = assistant.write_report(ReportParams())
    except WhyboxError as exc:
        return gr.DownloadButton(visible=False), gr.DownloadButton(visible=False), f"No report: {exc}"
    pdf = gr.DownloadButton("Download PDF", value=result["pdf"], visible=bool(result["pdf"]))
    html = gr.DownloadButton("Download HTML", value=result["html"], visible=True)
    pages = f", {result['pages']} pages" if result["pages"] else ""
    return pdf, html, f"Report ready: {result['sections']} sections, {result['figures']} figures{pages}."


def columns_for(data: str, pool: WorkspacePool) -> tuple[Any, Any, str]:
    """Fill the text and label column choices from the data file's columns (likely ones chosen)."""
    try:
        columns, text, label = peek_columns(pool.roots.confine((data or pool.default.data).strip(), "data path"))
    except WhyboxError as exc:
        return gr.skip(), gr.skip(), f"Cannot read the columns: {as_text(str(exc))}"
    note = f"Columns: {', '.join(columns)}."
    return (gr.Dropdown(choices=columns, value=text), gr.Dropdown(choices=[""] + columns, value=label or ""), note)


def switch(model: str, data: str, text_column: str, label_column: str, label_names: str,
           assistant: Assistant | None, pool: WorkspacePool) -> tuple[str, list, Assistant | None, str]:
    """Start a new conversation on another local model folder, data file, columns or label names."""
    try:
        workspace = pool.get(model or None, data or None, text_column or None, label_column or None,
                             label_names or None)
        workspace.label_words  # a label name for a label the data lacks fails here
    except WhyboxError as exc:
        current = assistant.workspace if assistant is not None else pool.get()
        return session_info(current), gr.skip(), assistant, f"Could not switch: {as_text(str(exc))}"
    switched = f"Switched to {workspace.model_id} on {workspace.dataset.name}."
    return session_info(workspace), [], Assistant(workspace=workspace), switched


def _ready_box() -> Any:
    """The question box once the page knows its conversation."""
    return gr.Textbox(interactive=True, placeholder="Ask about the model or the data…")


def build_app(pool: WorkspacePool) -> gr.Blocks:
    default = pool.get()
    with gr.Blocks(title="whybox") as demo:
        gr.Markdown("# whybox\nAsk a model *why*: chat about its predictions, its insides and the data.")
        with gr.Row():
            with gr.Column(scale=3):
                own = [str(pool.default.home / "figures"), str(pool.default.home / "reports")]
                chatbot = history_chatbot(own, label="Conversation", height=620, elem_id="chat")
                row, buttons = choice_row()
                # Asking waits for the page's load event: it knows the browser and its conversation.
                question = gr.Textbox(placeholder="Opening your conversation…", show_label=False,
                                      elem_id="question", autofocus=True, interactive=False)
                with gr.Row():
                    ask = gr.Button("Ask", variant="primary", elem_id="ask", interactive=False)
                    clear = gr.Button("New conversation", elem_id="clear")
            with gr.Column(scale=1):
                info = gr.Markdown(session_info(default), elem_id="session-info")
                past = gr.Dropdown(label="Past conversations (this browser)", choices=[], value=None,
                                   elem_id="past-conversations")
                with gr.Accordion("Report", open=True):
                    make_report = gr.Button("Write report of this conversation", elem_id="make-report")
                    report_status = gr.Markdown("", elem_id="report-status")
                    pdf_button = gr.DownloadButton("Download PDF", visible=False, elem_id="download-pdf")
                    html_button = gr.DownloadButton("Download HTML", visible=False, elem_id="download-html")
                examples = gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[question], label="Try")
                with gr.Accordion("Model and data", open=False):
                    model_box = gr.Textbox(label="Model: 'smollm2' or a local Hugging Face folder",
                                           value=default.settings.model, elem_id="model-path")
                    data_box = gr.Textbox(label="Data: 'demo' or a .csv/.json/.jsonl file",
                                          value=default.settings.data, elem_id="data-path")
                    columns = default.dataset.columns
                    text_box = gr.Dropdown(label="Text column", choices=columns, allow_custom_value=True,
                                           value=default.settings.text_column, elem_id="text-column")
                    label_box = gr.Dropdown(label="Label column", choices=[""] + columns,
                                            allow_custom_value=True, value=default.settings.label_column or "",
                                            elem_id="label-column")
                    names_box = gr.Textbox(label="Label names (causal LMs), e.g. 0=not offensive,1=offensive",
                                           value=",".join(f"{k}={v}" for k, v in default.settings.label_names or ()),
                                           elem_id="label-names")
                    load = gr.Button("Load", elem_id="load")
                    load_status = gr.Markdown("", elem_id="load-status")
        state = gr.State(None)
        browser = gr.State(None)  # this page's browser id, read from its BrowserState on load
        turn = gr.State(None)  # the record of the turn just run (None when it failed)
        saved = gr.BrowserState(empty_saved(), storage_key=STORAGE_KEY, secret=browser_secret(pool.default.home))
        kept = BrowserConversations(pool.default.home)
        extras = [saved, past, row, *buttons]

        def _kept(browser_id: str | None, assistant: Assistant | None, record: RunRecord | None) -> list:
            """What the browser keeps (its id, the current conversation), its past conversations
            and the choice buttons of the turn shown last."""
            current = assistant.conversation_id if assistant is not None and assistant.store is not None else None
            listed = kept.choices(browser_id) if browser_id else []
            value = current if any(cid == current for _, cid in listed) else None
            return [{"browser": browser_id, "current": current}, gr.Dropdown(choices=listed, value=value),
                    *choice_updates(record)]

        def _respond(q: str, history: list, assistant: Assistant | None, browser_id: str | None,
                     progress=gr.Progress(track_tqdm=True)):
            # declaring gr.Progress(track_tqdm=True) here is what shows the tools' tqdm bars
            if (q or "").strip() and (assistant is None or assistant.store is None):  # a conversation's first question
                workspace = assistant.workspace if assistant is not None else pool.get()
                assistant = Assistant(workspace=workspace, conversation_id=kept.start(browser_id))
            before = len(assistant.history) if assistant is not None else 0
            for answer, history, assistant in respond(q, history, assistant, pool):
                record = assistant.history[-1] if len(assistant.history) > before else None
                yield answer, history, assistant, record

        def _reopen(browser_id: str, conversation_id: str | None, workspace: Workspace) -> list:
            """A conversation of this browser shown as it was, and continued from where it stopped; a
            browser without one gets a new one at once, so a reload during its first turn finds it."""
            try:
                assistant = Assistant(workspace=workspace, conversation_id=conversation_id or kept.start(browser_id))
                history = conversation_messages(assistant)
            except WhyboxError as exc:
                assistant, history = None, [gr.ChatMessage(
                    role="assistant", content=f"I could not reopen that conversation: {as_text(str(exc))}")]
            record = assistant.history[-1] if assistant is not None and assistant.history else None
            return [history, assistant, *_kept(browser_id, assistant, record)]

        def _restore(saved_value: Any) -> list:
            safe = kept.saved(saved_value)
            ready = [_ready_box(), gr.Button(interactive=True)]
            return [*ready, safe["browser"], *_reopen(safe["browser"], safe["current"], pool.get())]

        def _open(conversation_id: str, browser_id: str | None, assistant: Assistant | None, history: list) -> list:
            # The list also sends its value when it loses focus: the conversation shown stays as it
            # is (given back as it came: skipping these outputs breaks the page's next event).
            shown = assistant is not None and assistant.conversation_id == conversation_id
            if shown or not browser_id or not kept.owns(browser_id, conversation_id):
                record = assistant.history[-1] if assistant is not None and assistant.history else None
                return [history, assistant, *_kept(browser_id, assistant, record)]
            return _reopen(browser_id, conversation_id, assistant.workspace if assistant is not None else pool.get())

        def _choose(number: str):
            def choose(history: list, assistant: Assistant | None, browser_id: str | None,
                       progress=gr.Progress(track_tqdm=True)):
                yield from _respond(number, history, assistant, browser_id)
            return choose

        def _new(assistant: Assistant | None, browser_id: str | None):
            workspace = assistant.workspace if assistant is not None else pool.get()
            fresh = Assistant(workspace=workspace, conversation_id=kept.start(browser_id)) if browser_id else None
            hidden = gr.DownloadButton(visible=False)
            return [], fresh or Assistant(workspace=workspace), hidden, gr.DownloadButton(visible=False), ""

        after_turn = {"fn": _kept, "inputs": [browser, state, turn], "outputs": extras, "api_name": False}
        question.submit(_respond, [question, chatbot, state, browser], [question, chatbot, state, turn],
                        api_name="ask").then(**after_turn)
        ask.click(_respond, [question, chatbot, state, browser], [question, chatbot, state, turn],
                  api_name=False).then(**after_turn)
        for number, button in enumerate(buttons, 1):  # button n asks "n", as typing the number does
            button.click(_choose(str(number)), [chatbot, state, browser], [question, chatbot, state, turn],
                         api_name=False).then(**after_turn)
        demo.load(_restore, [saved], [question, ask, browser, chatbot, state, *extras], api_name=False)
        # An example click sets the box with the props it was built with (locked, "Opening your
        # conversation…"), so the question could not be edited: once the page is ready it opens again.
        examples.load_input_event.then(lambda b: _ready_box() if b else gr.skip(), [browser], [question],
                                       api_name=False, queue=False, show_progress="hidden")
        past.input(_open, [past, browser, state, chatbot], [chatbot, state, *extras], api_name=False,
                   show_progress="hidden")
        clear.click(_new, [state, browser], [chatbot, state, pdf_button, html_button, report_status],
                    api_name="new_conversation").then(lambda b, a: _kept(b, a, None), [browser, state], extras,
                                                      api_name=False)
        make_report.click(write_report, [state], [pdf_button, html_button, report_status], api_name="report")
        data_box.blur(lambda d: columns_for(d, pool), [data_box], [text_box, label_box, load_status],
                      api_name="columns")
        data_box.submit(lambda d: columns_for(d, pool), [data_box], [text_box, label_box, load_status],
                        api_name=False)
        load.click(lambda m, d, t, lc, n, a: switch(m, d, t, lc, n, a, pool),
                   [model_box, data_box, text_box, label_box, names_box, state],
                   [info, chatbot, state, load_status], api_name="switch")
    return demo


def launch(settings: Settings, host: str = "127.0.0.1", port: int = 7860, auth: Any = None,
           block: bool = True, data_dirs: tuple[str, ...] = (), throttle: LoginThrottle | None = None) -> Any:
    check_address(host, port)
    pool = WorkspacePool(settings, PathRoots.for_server(settings, data_dirs))
    workspace = pool.get()  # a bad --model or --data fails now, with its one-line message
    demo = build_app(pool)
    demo.queue(default_concurrency_limit=4)
    print(f"whybox: web UI on http://{host}:{port} (model {workspace.model_id}; "
          "the model loads on the first question that needs it)", flush=True)
    allowed = [str(settings.home / "figures"), str(settings.home / "reports")]
    app_kwargs = throttled_app_kwargs(throttle) if auth else None  # failed logins slowed per client
    return demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block, show_error=True,
                       allowed_paths=allowed, quiet=True, app_kwargs=app_kwargs, css=CSS)
