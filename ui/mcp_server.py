"""`whybox mcp`: the whybox tools as a Model Context Protocol server (official `mcp` SDK, low level).

Why the low-level `Server` and not `MCPServer` decorators: the tools come from the registry
(tools/registry.py, the one source of truth), each with its pydantic `Params` schema, so they are
listed and dispatched by name here instead of being restated as Python functions. A call returns
the tool's output dict as structured content, the tool's own narration (with its caveats) as text
and its figure as a PNG image; a `WhyboxError` (bad id, unknown argument) is an error result with
our one-line message, and the server keeps serving. The model loads on the first call that needs
it, through the same `Assistant` and settings as the CLI.
"""
from __future__ import annotations

import base64
import json
import threading
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types

from tools.errors import WhyboxError

if TYPE_CHECKING:
    from agent import Assistant
    from agent.records import Step
    from tools.settings import Settings

ASK = "ask"  # the whole assistant (question -> plan -> tools -> narration) as one extra tool
CARD_URI = "whybox://cards/"
MODEL_URI = "whybox://model"
DATA_URI = "whybox://data"
_ASK_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string", "description": "a question about the model or the data"}},
    "required": ["question"],
    "additionalProperties": False,
}


class WhyboxMCP:
    """One assistant (one conversation, one model in memory) behind every request of the server."""

    def __init__(self, settings: Settings, data_dirs: tuple[str, ...] = ()) -> None:
        from tools.paths import PathRoots

        self.settings = settings
        self.roots = PathRoots.for_server(settings, data_dirs)  # files a client's arguments may name
        self._assistant: Assistant | None = None
        # Tool calls run in worker threads; one at a time, because `ask` moves the conversation on
        # and the CLI's Assistant is a single conversation.
        self._lock = threading.Lock()

    @property
    def assistant(self) -> Assistant:
        if self._assistant is None:  # lazily: listing tools or reading cards loads no model
            from agent import Assistant

            self._assistant = Assistant(self.settings, quiet=True)
            self._assistant.workspace.path_roots = self.roots
        return self._assistant

    # --- tools -------------------------------------------------------------------------------
    def tools(self) -> list[types.Tool]:
        from tools.registry import all_tools

        listed = [types.Tool(name=name, description=tool.description, input_schema=tool.Params.model_json_schema())
                  for name, tool in all_tools().items() if tool.available]
        listed.append(types.Tool(name=ASK, input_schema=_ASK_SCHEMA, description=(
            "Ask whybox a question in plain words: it plans which explanation tools to run, runs them "
            "and answers with their results.")))
        return listed

    def call(self, name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
        """Run one call to completion (blocking: called in a worker thread)."""
        with self._lock:
            try:
                if name == ASK:
                    return self._ask(arguments or {})
                return self._run(name, arguments or {})
            except WhyboxError as exc:
                return types.CallToolResult(content=[types.TextContent(text=str(exc))], is_error=True)

    def _run(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        from agent.narrator import narrate_step
        from agent.records import done_step

        result = self.assistant.run_tool(name, arguments)
        step = done_step(name, arguments, result, result.provenance.seconds)
        return types.CallToolResult(content=[types.TextContent(text=narrate_step(step)), *self._images([step])],
                                    structured_content=result.output)

    def _ask(self, arguments: dict[str, Any]) -> types.CallToolResult:
        question = arguments.get("question")
        extra = set(arguments) - {"question"}
        if not isinstance(question, str) or not question.strip() or extra:
            raise WhyboxError("ask takes one argument, `question` (a non-empty string).")
        record = self.assistant.ask(question)
        return types.CallToolResult(
            content=[types.TextContent(text=record.narration), *self._images(record.steps)],
            structured_content=record.model_dump(mode="json"),
        )

    def _images(self, steps: list[Step]) -> list[types.ImageContent]:
        from agent.figures import figure_for_step

        folder = self.settings.home / "figures"
        paths = [path for step in steps if (path := figure_for_step(step, folder)) is not None]
        return [types.ImageContent(data=base64.b64encode(p.read_bytes()).decode("ascii"), mime_type="image/png")
                for p in paths]

    # --- resources ---------------------------------------------------------------------------
    def resources(self) -> list[types.Resource]:
        from tools.knowledge.cards import packaged_cards

        listed = [
            types.Resource(uri=MODEL_URI, name="model", mime_type="text/plain",
                           description="The loaded model: architecture, task, labels (loads the model)."),
            types.Resource(uri=DATA_URI, name="dataset", mime_type="text/plain",
                           description="The loaded dataset: rows, columns, labels."),
        ]
        listed += [types.Resource(uri=f"{CARD_URI}{card_id}", name=card_id, title=card.title,
                                  mime_type="text/markdown", description=f"Knowledge card: {card.title}")
                   for card_id, card in packaged_cards().items()]
        return listed

    def read(self, uri: str) -> types.ReadResourceResult:
        from tools.builtin.describe_data import DescribeData
        from tools.builtin.describe_model import DescribeModel
        from tools.knowledge.cards import card_files

        if uri.startswith(CARD_URI):
            texts = dict(card_files())
            card_id = uri.removeprefix(CARD_URI)
            if card_id not in texts:
                raise WhyboxError(f"No knowledge card {card_id!r}.", f"Cards: {', '.join(sorted(texts))}.")
            return _text(uri, texts[card_id], "text/markdown")
        tool = {MODEL_URI: DescribeModel.name, DATA_URI: DescribeData.name}.get(uri)  # the tools that describe them
        if tool is None:
            raise WhyboxError(f"Unknown resource {uri!r}.", f"Resources: {MODEL_URI}, {DATA_URI}, {CARD_URI}<id>.")
        with self._lock:
            result = self._run(tool, {})
        text = result.content[0].text  # type: ignore[union-attr]
        return _text(uri, f"{text}\n\n{json.dumps(result.structured_content, indent=2)}", "text/plain")

    # --- the SDK server ----------------------------------------------------------------------
    def server(self) -> Any:
        from mcp.server.lowlevel import Server

        from tools import __version__

        async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
            return types.ListToolsResult(tools=self.tools())

        async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
            return await anyio.to_thread.run_sync(self.call, params.name, params.arguments)

        async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
            return types.ListResourcesResult(resources=self.resources())

        async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
            return await anyio.to_thread.run_sync(self.read, str(params.uri))

        return Server("whybox", version=__version__, instructions=(
            "Explainable-AI tools for the loaded model and dataset: attribution, counterfactuals, "
            "model internals, dataset scores. `ask` answers a plain question with the right tools."),
            on_list_tools=list_tools, on_call_tool=call_tool,
            on_list_resources=list_resources, on_read_resource=read_resource)


def _text(uri: str, text: str, mime: str) -> types.ReadResourceResult:
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, text=text, mime_type=mime)])


def serve_stdio(settings: Settings, data_dirs: tuple[str, ...] = ()) -> None:
    """Serve one client over stdin/stdout (what MCP clients start with `"command": "whybox"`)."""
    from mcp.server.stdio import stdio_server

    server = WhyboxMCP(settings, data_dirs).server()

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)


def serve_http(settings: Settings, host: str, port: int, token: str, data_dirs: tuple[str, ...] = ()) -> None:
    """Streamable HTTP on `host:port` (/mcp); every request must carry `Authorization: Bearer <token>`."""
    import uvicorn

    from ui.mcp_auth import require_bearer

    app = WhyboxMCP(settings, data_dirs).server().streamable_http_app(host=host)
    uvicorn.run(require_bearer(app, token), host=host, port=port, log_level="warning")
