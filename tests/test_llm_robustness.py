"""Small LLMs behind the agent (issue 23): each failure shape a small instruct model served by
Ollama / llama.cpp / vLLM produces, replayed by the scripted OpenAI-compatible server through the
real `openai` client, and the exact calls whybox runs for it."""
import json

import pytest

from tests import test_agent_loop
from tests.test_agent_loop import llm_assistant

openai_server = test_agent_loop.openai_server  # the scripted server fixture


def ran(record):
    return [(s.tool, s.args, s.status) for s in record.steps]


def tool_errors(request):
    return [m["content"] for m in request["messages"] if m["role"] == "tool" and m["content"].startswith("Error")]


@pytest.mark.parametrize("content, form", [
    ('```json\n{"name": "count", "arguments": {"where": {"includes": "good"}}}\n```', "fenced JSON"),
    ('{"tool": "count", "args": {"where": {"includes": "good"}}}', "bare JSON"),
    ('<tool_call>\n{"name": "count", "arguments": "{\\"where\\": {\\"includes\\": \\"good\\"}}"}\n</tool_call>',
     "tags"),
    ('Sure! {"type": "function", "function": {"name": "count", "parameters": {"where": {"includes": "good"}}}}',
     "bare JSON"),
    ('[TOOL_CALLS] [{"name": "count", "where": {"includes": "good"}}]', "bare JSON"),
])
def test_text_tool_calls_in_common_formats_run_as_calls(tiny_models, tiny_data, openai_server, content, form):
    base_url, log = openai_server([{"content": content}, {"content": "4 of the 10 rows mention good."}])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("How many reviews mention good?")
    assert ran(record) == [("count", {"where": {"includes": "good"}}, "done")]
    assert record.steps[0].output["count"] == 4
    assert f"read from the LLM's text ({form})" in " ".join(record.steps[0].caveats)
    assert record.narrated_by == "openai" and record.narration == "4 of the 10 rows mention good."
    sent = log()[1]["messages"]  # the second request carries the call as a native one and its result
    assert any(m["role"] == "assistant" and m.get("tool_calls") for m in sent)
    assert json.loads(next(m for m in sent if m["role"] == "tool")["content"])["output"]["count"] == 4


def test_an_invented_id_next_to_a_quoted_text_is_dropped_and_said(tiny_models, tiny_data, openai_server):
    base_url, _ = openai_server([
        {"content": None, "tool_calls": [{"name": "predict", "arguments": {"id": 1, "text": "the food was good"}}]},
        {"content": "Done."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("what does it predict for 'the food was good'?")
    assert ran(record) == [("predict", {"text": "the food was good"}, "done")]
    assert any("dropped id 1 (not in the question or the conversation" in c for c in record.steps[0].caveats)
    assert record.narration == ("Done.\n\n(I changed the LLM's calls: dropped id 1 (not in the question or the "
                                "conversation; the quoted text was used).)")


def test_an_invented_text_next_to_a_given_id_is_dropped(tiny_models, tiny_data, openai_server):
    base_url, _ = openai_server([
        {"content": None, "tool_calls": [{"name": "predict", "arguments": {"id": 104, "text": "I hated it"}}]},
        {"content": "Done."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("predict review 104")
    assert ran(record) == [("predict", {"id": 104}, "done")]
    assert any("dropped text 'I hated it'" in c for c in record.steps[0].caveats)


def test_an_invented_id_alone_is_questioned_and_the_model_fixes_it(tiny_models, tiny_data, openai_server):
    base_url, log = openai_server([
        {"content": None, "tool_calls": [{"name": "predict", "arguments": {"id": 7}}]},
        {"content": None, "tool_calls": [{"name": "show", "arguments": {"where": {"includes": "battery"}}}]},
        {"content": "The battery review is row 103."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("find the review about the battery")
    assert ran(record) == [("predict", {"id": 7}, "error"), ("show", {"where": {"includes": "battery"}}, "done")]
    assert "not run: row id 7 appears neither in the question nor in the conversation" in record.steps[0].error
    assert [e for e in tool_errors(log()[1])] == [f"Error: {record.steps[0].error}"]
    assert record.steps[1].output["rows"][0]["id"] == 103


def test_an_invented_layer_is_dropped_for_the_default(tiny_models, tiny_data, openai_server):
    base_url, _ = openai_server([
        {"content": None, "tool_calls": [{"name": "top_neurons", "arguments": {"id": 101, "layer": 7}}]},
        {"content": "Done."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("which neurons fire most for review 101?")
    assert ran(record) == [("top_neurons", {"id": 101}, "done")]
    assert any("dropped layer 7 (not asked for; the tool's default applies)" in c for c in record.steps[0].caveats)


def test_arguments_params_refuse_go_back_once_with_the_fix(tiny_models, tiny_data, openai_server):
    base_url, log = openai_server([
        {"content": None, "tool_calls": [{"name": "count", "arguments": {"where": {"includes": "good"},
                                                                         "label_distribution": True}}]},
        {"content": None, "tool_calls": [{"name": "count", "arguments": {"where": {"includes": "good"}}}]},
        {"content": "4 rows mention good."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("How many reviews mention good?")
    assert ran(record) == [("count", {"where": {"includes": "good"}, "label_distribution": True}, "error"),
                           ("count", {"where": {"includes": "good"}}, "done")]
    [error] = tool_errors(log()[1])
    assert "label_distribution: Extra inputs are not permitted" in error and "`count` takes: where" in error


def test_a_failed_retry_ends_the_llm_turn_and_the_planner_covers_it(tiny_models, tiny_data, openai_server):
    base_url, log = openai_server([
        {"content": None, "tool_calls": [{"name": "count", "arguments": {"where": {"min_words": "many"}}}]},
        {"content": None, "tool_calls": [{"name": "count", "arguments": {"where": {"min_words": "lots"}}}]},
        {"content": "never requested"},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask("How many reviews mention good?")
    assert len(log()) == 2  # one retry, then no third request
    assert ran(record) == [("count", {"where": {"min_words": "many"}}, "error"),
                           ("count", {"where": {"min_words": "lots"}}, "error"),
                           ("count", {"where": {"includes": "good"}}, "done")]
    assert "Run by the offline planner" in " ".join(record.steps[2].caveats)
    assert record.narrated_by == "template" and "4 of the 10 rows" in record.narration
    assert "offline planner's calls ran for: count" in record.narration


def test_two_asks_one_call_the_planner_runs_the_other(tiny_models, tiny_data, openai_server):
    base_url, _ = openai_server([
        {"content": None, "tool_calls": [{"name": "count", "arguments": {"where": {"includes": "good"}}}]},
        {"content": "4 of the 10 rows mention good."},
    ])
    record = llm_assistant(tiny_models, tiny_data, base_url).ask(
        "How many reviews mention 'good' and what is the label distribution?")
    good = {"where": {"includes": "good"}}  # the planner reads "the label distribution" of those rows
    assert ran(record) == [("count", good, "done"), ("label_distribution", good, "done")]
    assert record.steps[0].caveats == [] and "Run by the offline planner" in " ".join(record.steps[1].caveats)
    assert record.narration.startswith("4 of the 10 rows mention good.")
    assert "positive" in record.narration and "offline planner's calls ran for: label_distribution" in record.narration


def test_an_llm_clarification_offers_the_planners_choices_and_a_number_runs_one(tiny_models, tiny_data,
                                                                                 openai_server):
    ask_back = {"calls": [], "message": "Which method do you want for review 101?", "choices": [
        {"label": "attribute with integrated_gradients",
         "calls": [{"tool": "attribute", "args": {"id": 101, "method": "integrated_gradients"}}]},
        {"label": "attribute with occlusion",
         "calls": [{"tool": "attribute", "args": {"id": 101, "method": "occlusion"}}]},
        {"label": "a tool that does not exist", "calls": [{"tool": "deeplift", "args": {"id": 101}}]},
    ]}
    base_url, log = openai_server([{"content": "```json\n" + json.dumps(ask_back) + "\n```"},
                                   {"content": "Occlusion ran on review 101."}])
    assistant = llm_assistant(tiny_models, tiny_data, base_url)
    asked = assistant.ask("explain review 101")
    assert asked.steps == [] and asked.calls == []
    assert asked.narration == ("Which method do you want for review 101?\n1. attribute with integrated_gradients\n"
                               "2. attribute with occlusion\n(Answer with a number to run that one.)")
    assert [c.label for c in asked.choices] == ["attribute with integrated_gradients", "attribute with occlusion"]
    assert asked.choices[1].calls[0].args == {"id": 101, "method": "occlusion"}
    picked = assistant.ask("2")
    assert ran(picked) == [("attribute", {"id": 101, "method": "occlusion"}, "done")]
    assert len(log()) == 2  # the pick ran without asking the LLM; its narration is the second reply
