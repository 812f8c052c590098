"""`whybox mcp` through the SDK's own client: stdio in a subprocess (one server for the module) and
streamable HTTP with its bearer token. The server runs the tiny random causal LM of conftest on the
demo data, so results are compared exactly with the same tool run in this process."""
from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("mcp")

from mcp import ClientSession, StdioServerParameters, stdio_client  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO_ROW = 3


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


def _whybox() -> list[str]:
    script = Path(sys.executable).parent / "whybox"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ui.cli"]


@pytest.fixture(scope="module")
def server_env(tmp_path_factory, tiny_models) -> dict[str, str]:
    """The server's environment: a temp WHYBOX_HOME of its own (the autouse home is per test, the
    server lives for the module), the tiny causal model, and no WHYBOX_* settings of the caller."""
    home = tmp_path_factory.mktemp("mcp-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHYBOX_", "OPENAI_"))}
    env.update(WHYBOX_HOME=str(home / "whybox"), XDG_CACHE_HOME=str(home / "xdg"),
               WHYBOX_MODEL=str(tiny_models["causal"]), WHYBOX_DATA="demo", PYTHONPATH=str(REPO))
    return env


@pytest.fixture(scope="module")
async def session(server_env):
    params = StdioServerParameters(command=_whybox()[0], args=[*_whybox()[1:], "mcp"], env=server_env, cwd=str(REPO))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as client:
            await client.initialize()
            yield client


@pytest.fixture(scope="module")
def local(server_env):
    """The same model, data and home in this process, to compare the server's answers with (the
    home's prediction cache spares predicting the demo rows twice)."""
    from agent import Assistant
    from tools.settings import Settings

    settings = Settings.from_env(model=server_env["WHYBOX_MODEL"], data="demo", home=server_env["WHYBOX_HOME"])
    return Assistant(settings, quiet=True)


@pytest.mark.anyio
async def test_lists_every_registry_tool_with_its_schema(session):
    from tools.registry import all_tools

    listed = {tool.name: tool for tool in (await session.list_tools()).tools}
    registry = {name: cls for name, cls in all_tools().items() if cls.available}
    assert set(listed) == set(registry) | {"ask"}
    for name, cls in registry.items():
        assert listed[name].input_schema == cls.Params.model_json_schema()
        assert listed[name].description == cls.description
    assert listed["attribute"].input_schema["properties"]["id"]["description"] == "row id of the loaded dataset"


@pytest.mark.anyio
async def test_score_returns_the_output_and_the_narration(session, local):
    from agent.narrator import narrate_step
    from agent.records import done_step

    result = await session.call_tool("score", {})
    assert not result.is_error
    expected = local.run_tool("score", {})
    assert result.structured_content == expected.output
    assert result.structured_content["rows"] == 218
    narration = narrate_step(done_step("score", {}, expected, 0.0))
    assert [c.text for c in result.content if c.type == "text"] == [narration]


@pytest.mark.anyio
async def test_attribute_one_row_returns_a_png(session):
    result = await session.call_tool("attribute", {"id": DEMO_ROW, "method": "occlusion"})
    assert not result.is_error, result.content
    images = [c for c in result.content if c.type == "image"]
    assert len(images) == 1 and images[0].mime_type == "image/png"
    assert base64.b64decode(images[0].data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.structured_content["id"] == DEMO_ROW


@pytest.mark.anyio
async def test_errors_are_one_line_results_and_the_server_goes_on(session):
    missing = await session.call_tool("attribute", {"id": 999999})
    assert missing.is_error and "999999" in missing.content[0].text and "\n" not in missing.content[0].text
    unknown = await session.call_tool("score", {"colour": "red"})
    assert unknown.is_error
    assert unknown.content[0].text.startswith("Bad arguments for score: colour: unknown argument.")
    no_tool = await session.call_tool("scroe", {})
    assert no_tool.is_error and "Did you mean 'score'?" in no_tool.content[0].text
    again = await session.call_tool("count", {})
    assert not again.is_error and again.structured_content["count"] == 218


@pytest.mark.anyio
async def test_resources_are_the_cards_and_the_data(session):
    uris = {str(r.uri) for r in (await session.list_resources()).resources}
    assert {"whybox://model", "whybox://data", "whybox://cards/occlusion"} <= uris
    card = await session.read_resource("whybox://cards/occlusion")
    assert card.contents[0].text == (REPO / "prompts" / "cards" / "occlusion.md").read_text(encoding="utf-8")
    data = await session.read_resource("whybox://data")
    assert "218" in data.contents[0].text


@pytest.mark.anyio
async def test_ask_runs_the_assistant(session):
    result = await session.call_tool("ask", {"question": "how many reviews are there?"})
    assert not result.is_error
    assert result.structured_content["steps"][0]["tool"] == "count"
    assert "218" in result.content[0].text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_http_refuses_to_start_without_a_token(server_env):
    done = subprocess.run([*_whybox(), "mcp", "--http"], env=server_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--http needs a bearer token: set WHYBOX_MCP_TOKEN or pass --token-file FILE." in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.anyio
async def test_http_needs_the_bearer_token(server_env, tmp_path):
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    port = _free_port()
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    proc = subprocess.Popen([*_whybox(), "mcp", "--http", "--port", str(port), "--token-file", str(token_file)],
                            env=server_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.2)
        async with httpx2.AsyncClient() as raw:
            denied = await raw.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
            wrong = await raw.post(url, json={}, headers={"Authorization": "Bearer nope"})
        assert denied.status_code == 401 and wrong.status_code == 401
        async with httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret-token"},
                                      timeout=httpx2.Timeout(30, read=300)) as authed:
            async with streamable_http_client(url, http_client=authed) as (read, write):
                async with ClientSession(read, write) as client:
                    await client.initialize()
                    result = await client.call_tool("count", {})
        assert result.structured_content["count"] == 218
    finally:
        proc.terminate()
        proc.wait(timeout=20)
