"""The Gradio app driven in-process through gradio_client: streamed steps and answers, inline
figures, one conversation per session, reports as downloads, switching model/data with clear
errors, and the 127.0.0.1 default."""
import socket

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
