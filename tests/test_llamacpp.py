"""Optional and slow: the real `openai` client against a real llama.cpp server serving the packaged
SmolLM2-135M GGUF (`make test-llamacpp` builds llama-cpp-python[server] into .venv-llama, ~10 min
once, then runs these). Skipped when that interpreter is absent; never part of `make test`.

SmolLM2-135M is a weak tool caller, so the assertions are about the product's code path, not the
model's wisdom: a named tool call from a real server parses into a registry call that validates
or fails with a clear message, and a full turn ends with either a grounded LLM answer or the
template answer with the note saying why.
"""
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_agent_loop import llm_assistant

pytestmark = [pytest.mark.llamacpp, pytest.mark.slow]
LLAMA_PYTHON = Path(os.environ.get("WHYBOX_LLAMA_PYTHON", Path(__file__).resolve().parents[1] / ".venv-llama" / "bin" / "python"))


def _has_server() -> bool:
    if not LLAMA_PYTHON.exists():
        return False
    return subprocess.run([str(LLAMA_PYTHON), "-c", "import llama_cpp.server"], capture_output=True).returncode == 0


@pytest.fixture(scope="module")
def llama_server():
    if not _has_server():
        pytest.skip("llama-cpp-python[server] not built (make test-llamacpp builds it into .venv-llama)")
    from tools.models.loading import default_gguf

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(LLAMA_PYTHON), "-m", "llama_cpp.server", "--model", str(default_gguf()), "--host", "127.0.0.1",
                             "--port", str(port), "--chat_format", "chatml-function-calling", "--n_ctx", "8192", "--verbose", "false"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/models", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama.cpp server exited at start-up")
            time.sleep(1)
    else:
        proc.terminate()
        pytest.fail("llama.cpp server did not answer within 180 s")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


def assistant(tiny_models, tiny_data, base_url):
    return llm_assistant(tiny_models, tiny_data, base_url, llm="openai:smollm2")


def test_a_named_tool_call_from_llamacpp_parses_into_a_registry_call(tiny_models, tiny_data, llama_server):
    from langchain_openai import ChatOpenAI

    from agent.loop import registry_tools
    from tools.errors import WhyboxError
    from tools.registry import run_tool

    helper = assistant(tiny_models, tiny_data, llama_server)
    tools = {t.name: t for t in registry_tools(helper.context)}
    model = ChatOpenAI(model="smollm2", base_url=llama_server, api_key="sk-test", temperature=0, max_tokens=128)
    reply = model.bind_tools([tools["count"]], tool_choice="count").invoke("How many reviews mention 'good'?")
    assert reply.tool_calls and reply.tool_calls[0]["name"] == "count"
    try:
        result = run_tool(helper.context, "count", reply.tool_calls[0]["args"])
    except WhyboxError as exc:  # arguments the schema rejects: the message the model would get back
        assert str(exc).strip() and "Traceback" not in str(exc)
    else:
        assert isinstance(result.output["count"], int) and 0 <= result.output["count"] <= 10


def test_a_full_turn_is_grounded_or_falls_back_to_the_template(tiny_models, tiny_data, llama_server):
    record = assistant(tiny_models, tiny_data, llama_server).ask("How many reviews mention good?")
    assert record.narration.strip() and record.steps  # the LLM's calls, or the offline plan's when it made none
    assert all(step.status in {"done", "error"} for step in record.steps)
    if record.narrated_by == "openai":
        assert record.grounding and record.grounding["ok"] is True  # every number and quote was checked
    else:
        assert record.narrated_by == "template"
        if record.grounding and not record.grounding["ok"]:
            assert "LLM's answer mentioned" in record.narration  # the fallback says why
