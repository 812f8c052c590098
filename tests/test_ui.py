"""The Gradio app driven in-process through gradio_client: streamed steps and answers, inline
figures, one conversation per session, reports as downloads, switching model/data with clear
errors, and the 127.0.0.1 default."""
import socket
from pathlib import Path

import pytest

gradio = pytest.importorskip("gradio")
from gradio_client import Client  # noqa: E402

from tools.paths import PathRoots  # noqa: E402
from tools.settings import Settings  # noqa: E402
from ui.app import WorkspacePool, build_app  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app_url(tiny_models, tiny_data, isolated_home, tmp_path):
    settings = Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data))
    demo = build_app(WorkspacePool(settings, PathRoots.for_server(settings, [tmp_path])))  # tests' files
    demo.queue()
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                allowed_paths=[str(settings.home / "figures"), str(settings.home / "reports")])
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def _text(message: dict) -> str:
    """A message's text parts (Gradio 6 sends content as a list of typed parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def _texts(history: list) -> list[str]:
    return [_text(m) for m in history]


def _figures(history: list) -> list:
    return [part for m in history if not isinstance(m["content"], str)
            for part in m["content"] if part.get("type") != "text"]


def _ask(client: Client, question: str) -> list:
    _, history = client.predict(question, [], api_name="/ask")
    return history


def test_chat_streams_steps_answers_and_figures(app_url):
    client = Client(app_url, verbose=False)
    history = _ask(client, "how many reviews are there?")
    assert history[0]["role"] == "user" and _text(history[0]) == "how many reviews are there?"
    step = history[1]
    assert step["metadata"]["title"] == "tool: count" and step["metadata"]["status"] == "done"
    assert step["metadata"]["duration"] >= 0
    assert "There are 10 rows" in _text(history[2])
    history = _ask(client, "why did it predict review 100 that way? use gradient x input")
    figures = _figures(history)
    assert len(figures) == 1 and "attribution-" in str(figures[0])  # the heatmap PNG, inline
    print(figures[0])
    failed = _ask(client, "show review 99999")
    assert any("There is no row with id 99999" in t for t in _texts(failed))
    assert "There are 10 rows" in _texts(_ask(client, "how many reviews are there?"))[-1]  # the chat goes on


def test_sessions_are_isolated(app_url):
    first, second = Client(app_url, verbose=False), Client(app_url, verbose=False)
    _ask(first, "change the label of review 100 to negative")
    counts = []
    for client in (first, second):
        text = _texts(_ask(client, "how many reviews are labelled positive?"))[-1]
        counts.append(int(text.split(" of the ")[0]))
    assert counts[0] == counts[1] - 1  # the edit lives only in the first session


def test_report_download_and_switching(app_url, tmp_path):
    client = Client(app_url, verbose=False)
    _, _, status = client.predict(api_name="/report")
    assert "Ask something first" in status
    _ask(client, "what's the accuracy?")
    pdf, html, status = client.predict(api_name="/report")
    assert status.startswith("Report ready: 1 sections") and pdf["visible"] and html["visible"]
    assert pdf["value"].endswith(".pdf") and html["value"].endswith(".html")
    with open(pdf["value"], "rb") as handle:  # the file gradio serves for the download
        assert handle.read(5) == b"%PDF-"
    info, _, message = client.predict(str(tmp_path / "not-a-model"), "", "", "", "", api_name="/switch")
    assert message.startswith("Could not switch:") and "not-a-model" in message
    info, _, message = client.predict("", str(tmp_path / "missing.csv"), "", "", "", api_name="/switch")
    assert message.startswith("Could not switch:") and "missing.csv" in message


def test_switching_to_a_file_with_its_own_text_and_label_columns(app_url, tmp_path):
    """Issue 18: a file with `dialog`/`act` columns; the column fields fill from the file."""
    data = tmp_path / "dialog.csv"
    data.write_text("id,dialog,act\n0,what is the price,question\n1,the food was good,inform\n"
                    "2,please open it,directive\n3,i will do it,commissive\n")
    client = Client(app_url, verbose=False)
    text_box, label_box, note = client.predict(str(data), api_name="/columns")
    assert (text_box["value"], label_box["value"]) == ("dialog", "act") and note == "Columns: id, dialog, act."
    assert [c[0] for c in text_box["choices"]] == ["id", "dialog", "act"]
    _, _, message = client.predict("", str(data), "", "", "", api_name="/switch")
    assert message.startswith("Could not switch:") and "Unknown text column 'text'" in message
    info, _, message = client.predict("", str(data), "dialog", "act", "", api_name="/switch")
    assert message.endswith("causal on dialog.csv.") and "labels commissive, directive, inform, question" in info
    _, _, message = client.predict("", str(data), "dialog", "act", "inform=informs,nope=x", api_name="/switch")
    assert message.startswith("Could not switch:") and "'nope', which is not a label" in message


class _TwoCallsPlanner:
    """Plans two calls to one tool, whatever the question (the offline planner's shape)."""

    def plan(self, question, state):
        from agent.plan import Call, Plan

        calls = [Call(tool="predict", args={"id": 100}), Call(tool="predict", args={"id": 101})]
        return Plan(question=question, calls=calls)


def _statuses(history: list) -> list:
    return [(m.metadata or {}).get("status") for m in history if getattr(m, "metadata", None)]


def test_two_calls_to_one_tool_in_a_turn_each_end_their_own_step(tiny_assistant):
    from ui.app import respond

    tiny_assistant._planner = _TwoCallsPlanner()
    *_, (_, history, _) = respond("predict reviews 100 and 101", [], tiny_assistant, pool=None)
    steps = [m for m in history if m.metadata and m.metadata.get("title", "").startswith("tool")]
    assert [m.metadata["title"] for m in steps] == ["tool: predict", "tool: predict"]
    assert "pending" not in _statuses(history) and _statuses(history) == ["done", "done"]
    ids = [m.metadata["id"] for m in steps]
    assert len(set(ids)) == 2 and all(ids)
    assert ['{"id": 100}' in m.content for m in steps] == [True, False]
    assert ['{"id": 101}' in m.content for m in steps] == [False, True]
    assert [s.call_id for s in tiny_assistant.history[-1].steps] == ids  # the run record carries the ids too


class _ScriptedAssistant:
    """Stream events as the agent loop sends them when a turn's calls finish out of order."""

    def __init__(self, tmp_path):
        from types import SimpleNamespace

        self.settings = SimpleNamespace(home=tmp_path)

    def stream(self, question):
        from agent.records import RunRecord, Step

        def step(call_id, row, status):
            seconds = 0.5 if status != "running" else 0.0
            return Step(tool="show", args={"id": row}, status=status, call_id=call_id, seconds=seconds)

        yield "step_start", step("a", 1, "running")
        yield "step_start", step("b", 2, "running")
        yield "step_start", step("c", 3, "running")  # never reports (the turn hit its step limit)
        yield "step", step("b", 2, "done")
        yield "step", step("a", 1, "error")
        yield "record", RunRecord(question=question, narration="done")


def test_steps_are_matched_to_their_call_by_id(tmp_path):
    from ui.app import respond

    *_, (_, history, _) = respond("show 1, 2 and 3", [], _ScriptedAssistant(tmp_path), pool=None)
    steps = {m.metadata["id"]: m for m in history if m.metadata}
    assert list(steps) == ["a", "b", "c"]
    assert steps["a"].metadata["title"] == "tool failed: show" and '{"id": 1}' in steps["a"].content
    assert steps["b"].metadata["title"] == "tool: show" and '{"id": 2}' in steps["b"].content
    assert steps["c"].metadata["title"] == "tool: show (no result)"
    assert "pending" not in _statuses(history)
    assert history[-1].content == "done"


# ---------- issue 21: conversations kept per browser, report links, choices ----------

def test_a_browser_lists_and_reopens_only_its_own_conversations(isolated_home):
    from agent.records import RunRecord
    from ui.conversations import BrowserConversations

    kept = BrowserConversations(isolated_home)
    first = kept.saved(None)  # a browser that has never been here gets a long random id
    second = kept.saved({"browser": "short", "current": None})  # a malformed id is not used either
    assert len(first["browser"]) >= 24 and second["browser"] != "short" and first["browser"] != second["browser"]
    mine = kept.start(first["browser"])
    kept.store.append(mine, RunRecord(question="what does the model predict for review 101?"))
    empty = kept.start(first["browser"])  # opened, nothing asked yet: not listed
    assert kept.saved({**first, "current": mine}) == {**first, "current": mine}
    titles = kept.choices(first["browser"])
    assert [cid for _, cid in titles] == [mine] and empty != mine
    assert titles[0][0].startswith("what does the model predict for review 101? · 20")
    assert titles[0][0].endswith(" UTC")
    assert kept.choices(second["browser"]) == []
    assert kept.saved({**second, "current": mine}) == {**second, "current": None}  # not its conversation
    assert not kept.owns(second["browser"], mine) and not kept.owns(first["browser"], "../etc/passwd")


def test_a_conversations_database_from_before_owners_gets_the_column(tmp_path):
    import sqlite3

    from agent.memory import ConversationStore

    path = tmp_path / "conversations.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE conversations (id TEXT PRIMARY KEY, created REAL NOT NULL, title TEXT NOT NULL "
                   "DEFAULT '')")
        db.execute("INSERT INTO conversations VALUES ('0123456789ab', 1.0, 'old one')")
    store = ConversationStore(path)
    assert store.owner("0123456789ab") is None and store.list() == [("0123456789ab", "old one")]
    cid = store.new(owner="browser-a")
    assert store.owner(cid) == "browser-a" and [row[0] for row in store.owned("browser-a")] == [cid]


def test_a_resumed_conversation_still_answers_a_number_with_its_choices(tiny_models, tiny_data, isolated_home):
    from agent import Assistant
    from tools.settings import Settings

    settings = Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data))
    asked = Assistant(settings, quiet=True, persist=True)
    record = asked.ask("attribute review 101 with deeplift")
    assert [c.label for c in record.choices] == [  # every method the message names, as the newcomer expected
        "attribute with integrated_gradients", "attribute with occlusion", "attribute with gradient_x_input",
        "attribute with kernel_shap", "attribute with lime", "attribute with attention"]
    resumed = Assistant(settings, quiet=True, conversation_id=asked.conversation_id)  # a reload, a restart
    assert [c.label for c in resumed.history[-1].choices] == [c.label for c in record.choices]
    picked = resumed.ask("2")
    assert [(s.tool, s.args) for s in picked.steps] == [("attribute", {"id": 101, "method": "occlusion"})]
    assert picked.choices == []


def test_choice_buttons_follow_the_turn(tmp_path):
    from agent.plan import Call, Choice
    from agent.records import RunRecord
    from ui.choices import MAX_BUTTONS, choice_updates

    record = RunRecord(question="q", choices=[Choice(label=f"probe at layer {n}", calls=[Call(tool="probe")])
                                              for n in range(8)])
    row, *buttons = choice_updates(record)
    assert row.visible is True and len(buttons) == MAX_BUTTONS and all(b.visible for b in buttons)
    assert [b.value for b in buttons[:2]] == ["1. probe at layer 0", "2. probe at layer 1"]
    row, *buttons = choice_updates(RunRecord(question="q"))
    assert row.visible is False and not any(b.visible for b in buttons)


def test_report_answers_name_files_and_offer_only_files_in_the_reports_folder(tmp_path):
    from agent.records import RunRecord, Step
    from ui.app import answer_messages
    from ui.report_links import WITHHELD, chat_narration, report_files

    reports = tmp_path / "reports"
    reports.mkdir()
    html, pdf, outside = reports / "r.html", reports / "r.pdf", tmp_path / "secret.pdf"
    for path in (html, pdf, outside):
        path.write_bytes(b"%PDF-1.7")
    narration = f"I wrote the report.\nHTML: {html}\nPDF: {outside}"
    step = Step(tool="report", args={}, status="done", output={"html": str(html), "pdf": str(outside)})
    record = RunRecord(question="report", steps=[step], narration=narration)
    assert report_files(record, reports) == [html.resolve()]
    text = chat_narration(record, reports)
    assert text == f"I wrote the report.\nHTML: r.html (download below)\nPDF: {WITHHELD}"
    step.output["pdf"] = str(reports / ".." / "reports" / "r.pdf")
    messages = answer_messages(RunRecord(question="report", steps=[step], narration="done"), tmp_path)
    files = [m.content.value for m in messages if isinstance(m.content, gradio.File)]
    assert [Path(f["path"]).name for f in files] == ["r.html", "r.pdf"]


def test_a_report_answer_links_its_files_and_the_chat_goes_on(app_url, isolated_home):
    client = Client(app_url, verbose=False)
    history = _ask(client, "how many reviews are there?")
    _, history = client.predict("summarise everything we found in a report", history, api_name="/ask")
    files = [Path(str(part["value"][0])) for m in history if not isinstance(m["content"], str)
             for part in m["content"] if part.get("component") == "file"]  # each downloaded by the client
    assert sorted(f.suffix for f in files) == [".html", ".pdf"], files
    assert next(f for f in files if f.suffix == ".pdf").read_bytes()[:5] == b"%PDF-"
    text = "\n".join(_texts(history))
    assert "(download below)" in text and str(isolated_home) not in text  # file names, no server paths
    _, history = client.predict("how many reviews are there?", history, api_name="/ask")  # the history goes back
    assert "There are 10 rows" in _texts(history)[-1]
    assert sum(part.get("component") == "file" for m in history if not isinstance(m["content"], str)
               for part in m["content"]) == 2  # the report files taken back by name, still offered
