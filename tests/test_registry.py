import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from tools.base import Params, Tool
from tools.errors import InputError, ToolUnavailable, UnknownToolError
from tools.registry import all_tools, get_tool, run_tool
from tools.where import Where

CATALOGUE = Path(__file__).resolve().parents[2] / "shared" / "docs" / "tools.md"
needs_catalogue = pytest.mark.skipif(not CATALOGUE.exists(), reason="shared/docs not beside the checkout")


def catalogue() -> dict[str, set[str]]:
    """tools.md's catalogue table: tool name -> the argument names of its `args` column."""
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]*) \|", CATALOGUE.read_text(), re.M)
    return {name: set(re.findall(r"`([a-z_]+)`", args)) for name, args in rows}


@needs_catalogue
def test_registry_is_the_catalogue_with_its_argument_names():
    expected, tools = catalogue(), all_tools()
    assert len(expected) >= 28  # the table was read
    assert set(tools) == set(expected)
    for name, args in expected.items():
        assert args <= set(tools[name].Params.model_fields), (name, args - set(tools[name].Params.model_fields))
        assert tools[name].Params.model_config["extra"] == "forbid"
    assert all(tool.available for tool in tools.values())  # every catalogue tool runs in this version


@needs_catalogue
def test_where_has_the_catalogue_keys():
    text = CATALOGUE.read_text()
    keys = re.search(r"`where` \(object.*?selects dataset rows:(.*?)\n- `k`", text, re.S).group(1)
    assert set(re.findall(r"`([a-z_]+)`", keys)) <= set(Where.model_fields)


def test_unknown_tool_suggests_and_lists():
    with pytest.raises(UnknownToolError, match=r"Did you mean 'predict'.*Tools: .*score"):
        get_tool("predcit")


def test_malformed_tools_fail_at_definition():
    class Loose(BaseModel):
        x: int = 0

    with pytest.raises(TypeError, match="forbid extra"):
        class Bad(Tool):  # noqa: F841
            name = "bad_tool"
            description = "bad"
            Params = Loose

            def run(self, ctx, params):
                return {}

    with pytest.raises(TypeError, match="snake_case"):
        class Bad2(Tool):  # noqa: F841
            name = "Bad Name"
            description = "bad"
            Params = Params

            def run(self, ctx, params):
                return {}


def test_bad_arguments_and_unavailable_tools_are_user_errors(tiny_assistant):
    ctx = tiny_assistant.context
    with pytest.raises(InputError, match="unknown argument"):
        run_tool(ctx, "count", {"filter": {}})
    with pytest.raises(InputError, match="either `id` or `text`, not both"):
        run_tool(ctx, "predict", {"id": 100, "text": "good"})
    with pytest.raises(InputError, match="give a row `id` or a `text`"):
        run_tool(ctx, "predict", {})
    with pytest.raises(InputError, match="metric"):
        run_tool(ctx, "score", {"metric": "bleu"})
    from tools.base import REGISTRY

    class PlannedTool(Tool):  # a catalogue entry whose implementation has not landed
        name = "planned_tool"
        description = "Planned."
        Params = Params
        available = False

        def run(self, ctx, params):
            raise AssertionError("never called")

    try:
        with pytest.raises(ToolUnavailable, match="not implemented in this version"):
            run_tool(ctx, "planned_tool", {})
    finally:
        REGISTRY.pop("planned_tool", None)


def test_results_are_json_with_provenance(tiny_assistant):
    result = run_tool(tiny_assistant.context, "predict", {"id": 100})
    data = result.model_dump(mode="json")
    assert data["provenance"]["tool"] == "predict"
    assert len(data["provenance"]["model_hash"]) == 16
    assert data["provenance"]["task"].startswith("label_words|classify@")
    assert data["provenance"]["params"] == {"id": 100}
    again = run_tool(tiny_assistant.context, "predict", {"id": 100})
    assert again.provenance.cached and again.output == result.output
