"""The `whybox` command: ask, chat, plan, tool, ui. Every subcommand takes the same model and data
options. Recoverable problems print one line ("whybox: ...") and exit 2, never a traceback."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Sequence

from tools.errors import WhyboxError
from tools.settings import DEVICE_MAPS, DEVICES, DTYPES
from ui.batch_cli import add_parser as add_batch_parser
from ui.batch_cli import cmd_batch


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and data")
    group.add_argument("--model", help="'smollm2' (default), a local Hugging Face folder, or a .gguf file")
    group.add_argument("--data", help="'demo' (default) or a .csv/.json/.jsonl file")
    group.add_argument("--text-column", help="column holding the text (default: text)")
    group.add_argument("--label-column", help="column holding the gold label (default: label)")
    group.add_argument("--labels", help="comma-separated labels; for a causal LM also its label words")
    group.add_argument("--label-names", metavar="MAP",
                       help='causal LMs: the words to answer for each gold label, e.g. "0=not offensive,1=offensive"')
    group.add_argument("--task", choices=["auto", "classify", "generate"], help="what the model does (default: auto)")
    group.add_argument("--home", help="WHYBOX_HOME: caches, converted models, stores")
    group.add_argument("--device", choices=DEVICES,
                       help="where the model runs (default: cpu; auto picks a GPU when there is one)")
    group.add_argument("--dtype", choices=DTYPES,
                       help="the weights' precision (default: float32; attribution sums stay float32)")
    group.add_argument("--device-map", choices=DEVICE_MAPS, help="spread a model over the GPUs with accelerate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="whybox", description="Ask a model why: a conversational XAI assistant.")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the run record as JSON")
    _common(ask)

    chat = sub.add_parser("chat", help="a conversation in the terminal (saved; continue it with --resume ID)")
    _common(chat)
    chat.add_argument("--resume", metavar="ID", help="continue a saved conversation")

    plan = sub.add_parser("plan", help="plan questions without running anything")
    plan.add_argument("questions", nargs="+")
    plan.add_argument("--json", action="store_true", help="one JSON object per question (the tools.md contract)")
    plan.add_argument("--independent", action="store_true", help="each question starts a fresh conversation")
    _common(plan)

    tool = sub.add_parser("tool", help="run one tool directly")
    tool.add_argument("name", nargs="?")
    tool.add_argument("--json", dest="args", default="{}", help="the tool's arguments as a JSON object")
    tool.add_argument("--list", action="store_true", help="list the tools and their arguments")
    _common(tool)

    report = sub.add_parser("report", help="write an explanation report (HTML and PDF)")
    what = report.add_mutually_exclusive_group()
    what.add_argument("--id", type=int, help="explain one dataset row")
    what.add_argument("--text", help="explain a free text")
    what.add_argument("--conversation", metavar="ID", help="write up a saved conversation (see `whybox chat`)")
    report.add_argument("--where", help='rows to report on, as JSON, e.g. \'{"includes": "price"}\'')
    report.add_argument("--mistakes", action="store_true",
                        help="explain every misclassified row (of --where if given)")
    report.add_argument("--k", type=int, help="explain at most this many rows")
    report.add_argument("--method", help="attribution method (default: attribute's default)")
    report.add_argument("--out", default="whybox-reports", help="output folder (default: ./whybox-reports)")
    report.add_argument("--json", action="store_true", help="print the result as JSON")
    _common(report)

    ui = sub.add_parser("ui", help="start the web UI")
    ui.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1: this machine only)")
    ui.add_argument("--port", type=int, default=7860)
    ui.add_argument("--auth", help="USER:PASSWORD for a login (visible in ps: prefer WHYBOX_UI_AUTH or --auth-file)")
    ui.add_argument("--auth-file", help="file holding USER:PASSWORD, readable by its owner only (chmod 600)")
    ui.add_argument("--allow-no-auth", action="store_true",
                    help="serve a non-loopback --host without a login (refused otherwise)")
    ui.add_argument("--data-dir", action="append", metavar="DIR",
                    help="a folder whose models and data files sessions may switch to (repeatable; "
                         "the working directory and WHYBOX_HOME always are)")
    _common(ui)

    mcp = sub.add_parser("mcp", help="serve the tools to MCP clients (stdio; --http for streamable HTTP)")
    mcp.add_argument("--http", action="store_true", help="streamable HTTP at /mcp instead of stdio (needs a token)")
    mcp.add_argument("--host", default="127.0.0.1", help="interface to bind with --http (default 127.0.0.1)")
    mcp.add_argument("--port", type=int, default=8765, help="port with --http (default 8765)")
    mcp.add_argument("--token-file", help="file holding the bearer token (else WHYBOX_MCP_TOKEN); never on argv")
    mcp.add_argument("--data-dir", action="append", metavar="DIR",
                     help="a folder tool arguments may name files in (repeatable; the working directory and "
                          "WHYBOX_HOME always are)")
    _common(mcp)
    add_batch_parser(sub, _common)
    return parser


def _settings(ns: argparse.Namespace):
    from tools.settings import Settings

    settings = Settings.from_env(
        model=ns.model, data=ns.data, text_column=ns.text_column, label_column=ns.label_column,
        labels=ns.labels, label_names=ns.label_names, task=ns.task, home=ns.home,
        device=getattr(ns, "device", None), dtype=getattr(ns, "dtype", None),
        device_map=getattr(ns, "device_map", None),
    )
    if settings.device != "cpu" or settings.device_map:
        settings.placement()  # "cuda requested but no GPU" now, in one line, not at the first tool
    return settings


def _terminal(markdown: str) -> str:
    """Narration as a terminal shows it (ui/terminal_text.py): no raw **bold**."""
    from ui.terminal_text import for_terminal

    return for_terminal(markdown, tty=sys.stdout.isatty())


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def cmd_ask(ns: argparse.Namespace) -> int:
    from agent import Assistant

    assistant = Assistant(_settings(ns), quiet=ns.json)
    assistant.workspace.dataset  # fail early on a bad data option
    record = assistant.ask(ns.question)
    if ns.json:
        _print_json(record.model_dump(mode="json"))
    else:
        print(_terminal(record.narration))
        _print_figures(record, assistant.settings.home / "figures")
    return 0


def _print_figures(record, folder) -> None:
    """A tool's terminal figure (an attribution heatmap) when it has one, and where each figure's
    PNG (and its HTML side file, when the tool writes one) is."""
    from agent.figures import figure_for_step, terminal_figure

    for step in record.steps:
        path = figure_for_step(step, folder)
        if path is None:
            continue
        text = terminal_figure(step)
        if text is not None:
            print(text)
        side = path.with_suffix(".html")
        also = f" (and {side.name})" if side.exists() else ""
        print(f"{'Heatmap' if text is not None else 'Figure'}: {path}{also}")


def cmd_plan(ns: argparse.Namespace) -> int:
    """Plans with the dataset only: no Assistant, so neither torch nor the model is loaded."""
    from agent.plan import ConversationState
    from agent.planner import planner_for
    from agent.questions import usable_question
    from tools.data import load_dataset
    from tools.model_shape import shape_for_spec

    s = _settings(ns)
    dataset = load_dataset(s.data, s.text_column, s.label_column, s.id_column)
    planner = planner_for(dataset, list(s.labels) if s.labels else dataset.labels, shape_for_spec(s.model))
    state = ConversationState()
    for question in ns.questions:
        if ns.independent:
            state = ConversationState()
        plan = planner.plan(usable_question(question), state)
        plan.question = question
        state.remember(plan)
        if ns.json:
            data = plan.model_dump(mode="json")
            if not data["choices"]:  # tools.md: `choices` is optional, present only with a clarifying message
                data.pop("choices")
            _print_json(data)
        else:
            calls = "; ".join(f"{c.tool}({json.dumps(c.args)})" for c in plan.calls) or f"(no call) {plan.message}"
            print(f"{question} -> {calls}")
            for number, choice in enumerate(plan.choices, 1):
                print(f"  {number}. {choice.label}: "
                      + "; ".join(f"{c.tool}({json.dumps(c.args)})" for c in choice.calls))
    return 0


def cmd_tool(ns: argparse.Namespace) -> int:
    from tools.registry import all_tools

    if ns.list or not ns.name:
        for name, tool in all_tools().items():
            status = "" if tool.available else "  [not implemented yet]"
            print(f"{name}({', '.join(tool.Params.model_fields)}): {tool.description}{status}")
        return 0
    from tools.base import check_json_depth

    check_json_depth(ns.args, "--json")
    try:
        args = json.loads(ns.args)
    except json.JSONDecodeError as exc:
        raise WhyboxError(f"--json is not valid JSON: {exc.msg} at character {exc.pos}.") from None
    if not isinstance(args, dict):
        raise WhyboxError("--json must be a JSON object, e.g. '{\"id\": 12}'.")
    from agent import Assistant

    assistant = Assistant(_settings(ns), quiet=True)
    result = assistant.run_tool(ns.name, args)
    _print_json(result.model_dump(mode="json"))
    return 0


def cmd_chat(ns: argparse.Namespace) -> int:
    from agent import Assistant

    assistant = Assistant(_settings(ns), conversation_id=ns.resume, persist=True)
    turns = len(assistant.history)
    print(f"whybox chat {assistant.conversation_id}" + (f" (resumed, {turns} earlier turns)" if ns.resume else "")
          + ": ask about the model and the data. Empty line or Ctrl-D to quit.")
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not question or question.lower() in {"quit", "exit", ":q"}:
            break
        try:
            for kind, value in assistant.stream(question):
                if kind == "step_start":
                    print(f"  [tool] {value.tool} {json.dumps(value.args)}", flush=True)
                elif kind == "record":
                    print(f"whybox> {_terminal(value.narration)}", flush=True)
                    _print_figures(value, assistant.settings.home / "figures")
                    print(flush=True)
        except WhyboxError as exc:
            print(f"whybox> {exc}\n")
    print(f"(saved; continue with: whybox chat --resume {assistant.conversation_id})")
    return 0


def cmd_ui(ns: argparse.Namespace) -> int:
    from ui.server_auth import check_address, check_exposure, read_credentials

    auth = read_credentials(ns.auth, ns.auth_file)
    check_exposure(ns.host, auth, ns.allow_no_auth)  # before gradio and torch are imported
    check_address(ns.host, ns.port)
    try:
        from ui.app import launch
    except ImportError as exc:
        raise WhyboxError(f"The web UI needs gradio ({exc.name} is missing).", "pip install 'whybox[ui]'.") from None
    launch(_settings(ns), host=ns.host, port=ns.port, auth=auth, data_dirs=tuple(ns.data_dir or ()))
    return 0


def cmd_report(ns: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from agent import Assistant
    from tools.builtin.report import ReportParams
    from tools.errors import InputError

    where: dict[str, Any] | None = None
    if ns.where:
        from tools.base import check_json_depth

        check_json_depth(ns.where, "--where")
        try:
            where = json.loads(ns.where)
        except json.JSONDecodeError as exc:
            raise InputError(f"--where is not valid JSON: {exc}.") from None
    if ns.mistakes:
        where = {**(where or {}), "correct": False}
    if ns.conversation and (where or ns.k):
        raise InputError("--conversation writes up a saved conversation; it does not take --where, --mistakes or --k.")
    if not (ns.conversation or ns.id is not None or ns.text or where):
        raise InputError("Say what to report on: --id, --text, --where, --mistakes or --conversation ID.")
    args = {"id": ns.id, "text": ns.text, "where": where, "k": ns.k, "method": ns.method}
    try:
        params = ReportParams(**{key: v for key, v in args.items() if v is not None})
    except ValidationError as exc:
        problems = (f"{'.'.join(map(str, e['loc'])) or 'report'}: {e['msg']}" for e in exc.errors())
        raise InputError("; ".join(problems)) from None
    from agent.reports.builder import report_folder

    report_folder(ns.out)  # an --out that is a file is refused before any report work
    assistant = Assistant(_settings(ns), conversation_id=ns.conversation, quiet=ns.json)
    result = assistant.write_report(params, out_dir=ns.out)
    if ns.json:
        _print_json(result)
    else:
        from tools.builtin.report import Report

        print(_terminal(Report().narrate(Report.typed_output(result), {})))
    return 0


def cmd_mcp(ns: argparse.Namespace) -> int:
    try:
        from ui import mcp_server
    except ImportError as exc:
        raise WhyboxError(f"whybox mcp needs the MCP SDK ({exc.name} is missing).",
                          "pip install 'whybox[mcp]'.") from None

    if ns.http:
        from ui.mcp_auth import read_token

        mcp_server.serve_http(_settings(ns), ns.host, ns.port, read_token(ns.token_file), tuple(ns.data_dir or ()))
    else:
        mcp_server.serve_stdio(_settings(ns), tuple(ns.data_dir or ()))
    return 0


COMMANDS = {"ask": cmd_ask, "plan": cmd_plan, "tool": cmd_tool, "chat": cmd_chat, "report": cmd_report, "ui": cmd_ui,
            "mcp": cmd_mcp, "batch": lambda ns: cmd_batch(ns, _settings(ns))}


def check_text_arguments(ns: argparse.Namespace) -> None:
    """Bytes in argv that are not UTF-8 arrive as lone surrogates, which no file name, message or
    JSON output can carry: one line naming the option instead of a UnicodeEncodeError (issue 22)."""
    for name, value in vars(ns).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    option = {"question": "the question", "questions": "a question", "name": "the tool name",
                              "args": "--json"}.get(name, "--" + name.replace("_", "-"))
                    raise WhyboxError(f"The value of {option} is not valid Unicode text (bytes that are not "
                                      "UTF-8); type it again as plain text, or rename the file.") from None


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        check_text_arguments(ns)
        return COMMANDS[ns.command](ns)
    except WhyboxError as exc:
        print(f"whybox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
