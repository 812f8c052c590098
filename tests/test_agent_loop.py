"""The agent loop end to end: the offline planner as a chat model, and the real `openai` client
(through langchain-openai) against a scripted OpenAI-compatible server process on 127.0.0.1."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent import Assistant
from tools.settings import Settings

SERVER = Path(__file__).with_name("fake_openai_server.py")


@pytest.fixture
def openai_server(tmp_path):
    """Start the scripted server; `start(script)` returns (base_url, read_log)."""
    procs = []

    def start(script):
        script_path, log_path = tmp_path / "script.json", tmp_path / "log.jsonl"
        script_path.write_text(json.dumps(script))
        log_path.write_text("")
        proc = subprocess.Popen([sys.executable, str(SERVER), str(script_path), str(log_path)],
                                stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        port = int(proc.stdout.readline())
        return f"http://127.0.0.1:{port}/v1", lambda: [json.loads(line) for line in log_path.read_text().splitlines()]

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def llm_assistant(tiny_models, tiny_data, base_url, llm="openai:scripted"):
    settings = Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data), llm=llm,
                                 openai_base_url=base_url, openai_api_key="sk-test")
    return Assistant(settings, quiet=True)


def test_offline_planner_runs_through_the_agent_loop(tiny_assistant):
    record = tiny_assistant.ask("How many reviews mention 'good' and what is the label distribution?")
    assert [s.tool for s in record.steps] == ["count", "label_distribution"]
    assert record.steps[0].output["count"] == 4 and record.narrated_by == "template"
    assert "4 of the 10 rows" in record.narration


def test_openai_agent_calls_registry_tools_and_keeps_a_grounded_answer(tiny_models, tiny_data, openai_server):
    base_url, log = openai_server([
        {"content": None, "tool_calls": [{"name": "count", "arguments": {"where": {"includes": "good"}}}]},
        {"content": "4 of the 10 rows mention 'good'."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("How many reviews mention good?")
    assert record.steps[0].status == "done" and record.steps[0].output["count"] == 4
    assert record.narrated_by == "openai" and record.narration == "4 of the 10 rows mention 'good'."
    requests = log()
    tools = {t["function"]["name"]: t["function"] for t in requests[0]["tools"]}
    assert set(tools) >= {"count", "attribute", "explain_neuron", "probe"}  # generated from the registry
    assert "where" in tools["count"]["parameters"]["properties"]
    tool_message = next(m for m in requests[1]["messages"] if m["role"] == "tool")
    assert json.loads(tool_message["content"])["output"]["count"] == 4


def test_a_fabricated_number_is_caught_and_replaced_by_the_template(tiny_models, tiny_data, openai_server):
    base_url, _ = openai_server([
        {"content": None, "tool_calls": [{"name": "count", "arguments": {}}]},
        {"content": "There are 12 reviews, 83% of them positive."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("How many reviews are there?")
    assert record.narrated_by == "template"
    assert record.grounding == {"ok": False, "unsupported": "number 12, number 83%"}
    assert record.narration.startswith("There are 10 rows in the dataset.")
    assert "do not contain" in record.narration


def test_tool_errors_go_back_to_the_model_and_it_recovers(tiny_models, tiny_data, openai_server):
    base_url, log = openai_server([
        {"content": None, "tool_calls": [{"name": "show", "arguments": {"id": 999}},
                                         {"name": "shwo", "arguments": {}},
                                         {"name": "count", "arguments": {"where": {"min_words": "many"}}},
                                         {"name": "predict", "arguments": "{not json"}]},
        {"content": None, "tool_calls": [{"name": "show", "arguments": {"id": 100}}]},  # from "Ids run from 100"
        {"content": "Row 100 reads: 'the food was good'."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("show me row 999")
    errors = [m["content"] for m in log()[1]["messages"] if m["role"] == "tool"]
    assert any("no row with id 999" in e and "Ids run from 100 to 109" in e for e in errors)
    assert any("shwo" in e and "not a valid tool" in e for e in errors)
    assert any("min_words" in e for e in errors)
    done = [s for s in record.steps if s.status == "done"]
    assert [(s.tool, s.output["rows"][0]["id"]) for s in done] == [("show", 100)]
    assert any(s.tool == "predict" and "Malformed tool call" in s.error for s in record.steps if s.status == "error")
    assert record.narrated_by == "openai"


def test_streaming_responses_and_the_step_limit(tiny_models, tiny_data, openai_server):
    from langchain_openai import ChatOpenAI

    from agent.loop import AgentLoop

    base_url, _ = openai_server([{"content": None, "tool_calls": [{"name": "count", "arguments": {}}]}] * 20)
    assistant = llm_assistant(tiny_models, tiny_data, base_url)
    model = ChatOpenAI(model="scripted", base_url=base_url, api_key="sk-test", streaming=True)
    loop = AgentLoop(assistant.context, model, "system", max_steps=3)
    events = list(loop.run("count forever", []))
    assert [e for e, _ in events].count("call") >= 1
    assert events[-1][0] == "limit" and "3 steps" in events[-1][1]
    results = [message for event, (_, message) in (e for e in events if e[0] == "result")]
    assert results and all(m.status == "success" and json.loads(m.content)["output"]["count"] == 10 for m in results)


def test_streamed_tool_calls_parse_like_non_streamed(tiny_models, tiny_data, openai_server):
    from langchain_openai import ChatOpenAI

    from agent.loop import AgentLoop

    base_url, _ = openai_server([
        {"content": None,
         "tool_calls": [{"name": "label_distribution", "arguments": {"where": {"includes": "good"}}}]},
        {"content": "Among the 4 rows with good: positive 3, negative 1."},
    ])
    assistant = llm_assistant(tiny_models, tiny_data, base_url)
    loop = AgentLoop(assistant.context, ChatOpenAI(model="scripted", base_url=base_url, api_key="k", streaming=True),
                     "s")
    events = list(loop.run("labels of rows with good", []))
    calls = [v[1] for e, v in events if e == "call"]
    assert calls[0].tool == "label_distribution" and calls[0].args == {"where": {"includes": "good"}}
    assert events[-1] == ("answer", "Among the 4 rows with good: positive 3, negative 1.")


def test_conversations_persist_and_resume(tiny_models, tiny_data):
    settings = Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data))
    first = Assistant(settings, quiet=True, persist=True)
    first.ask("show review 103")
    first.ask("change its label to positive")
    resumed = Assistant(settings, quiet=True, conversation_id=first.conversation_id)
    assert [r.question for r in resumed.history] == ["show review 103", "change its label to positive"]
    assert resumed.context.label_edits == {103: "positive"}
    record = resumed.ask("what about without 'bad'?")
    assert record.calls[0].args == {"text": "the battery was"}
    other = Assistant(settings, quiet=True, persist=True)
    assert other.conversation_id != first.conversation_id and other.history == []


def test_an_llm_answer_without_any_tool_call_is_replaced_by_the_offline_plan(tiny_models, tiny_data, openai_server):
    """A weak LLM that answers a data question from nothing ('42 reviews') is not believed: the
    offline planner's calls run and the template answers, saying why."""
    base_url, _ = openai_server([{"content": "There are 42 reviews that mention good."},
                                 {"content": "Hello! Ask me about the model or the data."}])
    assistant = llm_assistant(tiny_models, tiny_data, base_url)
    record = assistant.ask("How many reviews mention good?")
    assert [(s.tool, s.status) for s in record.steps] == [("count", "done")] and record.steps[0].output["count"] == 4
    assert record.narrated_by == "template" and "42" not in record.narration
    assert "without calling any tool" in record.narration
    chat = assistant.ask("hello there")  # nothing to plan: the LLM's words stand
    assert chat.steps == [] and chat.narration == "Hello! Ask me about the model or the data."


def test_a_clarifying_question_offers_numbered_choices_and_a_number_runs_one(tiny_assistant):
    asked = tiny_assistant.ask("attribute review 101 with deeplift")
    assert not asked.steps and "no deeplift method" in asked.narration
    assert "1. attribute with integrated_gradients" in asked.narration
    assert "2. attribute with occlusion" in asked.narration
    picked = tiny_assistant.ask("2")
    assert [(s.tool, s.args) for s in picked.steps] == [("attribute", {"id": 101, "method": "occlusion"})]
    assert picked.steps[0].status == "done", picked.steps[0].error
