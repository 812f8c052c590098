"""Optional and slow: the real `openai` client against a real llama.cpp server serving the packaged
SmolLM2-135M GGUF (`make test-llamacpp` builds llama-cpp-python[server] into .venv-llama, ~10 min
once, then runs these). Skipped when that interpreter is absent; never part of `make test`.

SmolLM2-135M is a weak tool caller, so the assertions are about the product's code path, not the
model's wisdom: what the model wrote is kept, and the test asserts the one outcome the product
owes for it: arguments the schema accepts run and others fail with a clear message; a turn's
answer is kept only when the results ground it, else the template answer says why.
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
LLAMA_PYTHON = Path(os.environ.get("WHYBOX_LLAMA_PYTHON",
                                   Path(__file__).resolve().parents[1] / ".venv-llama" / "bin" / "python"))


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
    command = [str(LLAMA_PYTHON), "-m", "llama_cpp.server", "--model", str(default_gguf()), "--host", "127.0.0.1",
               "--port", str(port), "--chat_format", "chatml-function-calling", "--n_ctx", "8192",
               "--verbose", "false"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    """What SmolLM2 writes into the arguments is the model's doing; what whybox does with them is not:
    arguments the tool's `Params` accept run (and are what ran), any others come back as one
    InputError naming each bad field, the message the model would get back."""
    from langchain_openai import ChatOpenAI
    from pydantic import ValidationError

    from agent.loop import registry_tools
    from tools.errors import InputError
    from tools.registry import get_tool, run_tool

    helper = assistant(tiny_models, tiny_data, llama_server)
    tools = {t.name: t for t in registry_tools(helper.context)}
    model = ChatOpenAI(model="smollm2", base_url=llama_server, api_key="sk-test", temperature=0, max_tokens=128)
    reply = model.bind_tools([tools["count"]], tool_choice="count").invoke("How many reviews mention 'good'?")
    assert reply.tool_calls and reply.tool_calls[0]["name"] == "count"
    args = reply.tool_calls[0]["args"]
    try:
        params = get_tool("count").Params.model_validate(args)
    except ValidationError as exc:
        with pytest.raises(InputError, match=r"^Bad arguments for count: ") as raised:
            run_tool(helper.context, "count", args)
        assert all(".".join(map(str, e["loc"])) in str(raised.value) for e in exc.errors())
    else:
        result = run_tool(helper.context, "count", args)
        assert result.params == params.model_dump(mode="json", exclude_none=True)
        assert isinstance(result.output["count"], int) and 0 <= result.output["count"] <= 10


def test_a_full_turn_keeps_the_llm_answer_only_when_the_results_ground_it(tiny_models, tiny_data, llama_server,
                                                                          monkeypatch):
    """Which tools SmolLM2 calls and what it answers depend on the GGUF and the llama.cpp build, so
    the test does not guess them: it keeps every answer the grounding check is given, checks it
    again itself, and asserts the one narration the product owes for that answer. An LLM that
    calls no tool has nothing to ground its answer in: the offline plan's results are narrated."""
    import agent.assistant as turn
    from agent.grounding import check
    from agent.narrator import narrate

    checked = []
    real_check = turn.check

    def keep(answer, results, question):
        checked.append((answer, results, question))
        return real_check(answer, results, question)

    monkeypatch.setattr(turn, "check", keep)
    record = assistant(tiny_models, tiny_data, llama_server).ask("How many reviews mention good?")
    assert record.steps and all(step.status in {"done", "error"} for step in record.steps)
    template = narrate(record.steps, record.message)
    if not checked:  # no answer to check: the LLM called no tool (the offline plan ran) or wrote nothing
        assert record.grounding is None and record.narrated_by == "template"
        assert record.narration.startswith(template)
        return
    (answer, results, question), = checked
    verdict = check(answer, results, question)
    assert record.grounding == {"ok": verdict.ok, "unsupported": verdict.describe()}
    # What the product adds after the answer (agent.assistant): arguments it dropped, and the
    # offline planner's calls for what the LLM's calls did not cover (issue 23).
    from agent.llm_fallback import FALLBACK_NOTE, fallback_sentence

    changed = "The LLM's call was changed: "
    dropped = [c.removeprefix(changed).removesuffix(".") for s in record.steps for c in s.caveats
               if c.startswith(changed + "dropped ")]
    added = [s for s in record.steps if FALLBACK_NOTE in s.caveats]
    suffix = "\n\n(I changed the LLM's calls: " + "; ".join(dropped) + ".)" if dropped else ""
    if added and verdict.ok:
        suffix += "\n\n" + narrate(added, None)
    if added:
        suffix += "\n\n" + fallback_sentence(added, True)
    if verdict.ok:
        assert (record.narration, record.narrated_by) == (answer + suffix, "openai")
    else:
        note = (f"\n\n(The openai LLM's answer mentioned {verdict.describe()}, which the results do not contain, "
                "so this is the template answer instead.)")
        assert (record.narration, record.narrated_by) == (template + note + suffix, "template")
