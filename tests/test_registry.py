import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from tools.base import Params, Tool
from tools.errors import InputError, ToolUnavailable, UnknownToolError
from tools.registry import all_tools, get_tool, run_tool

CATALOGUE = Path(__file__).resolve().parents[2] / "shared" / "docs" / "tools.md"
EXPECTED = {
    "describe_model": set(), "describe_data": set(), "capabilities": set(), "explain_concept": {"topic"},
    "show": {"id", "where", "k"}, "count": {"where"}, "label_distribution": {"where"}, "keywords": {"k", "where"},
    "score": {"metric", "where"}, "mistakes": {"mode", "k", "where"}, "edit_label": {"id", "label"},
    "predict": {"id", "text"}, "attribute": {"id", "text", "method", "k", "target"},
    "counterfactual": {"id", "text", "target", "k"}, "adversarial": {"id", "text"}, "augment": {"id", "text", "k"},
    "rationalize": {"id", "text"}, "similar": {"id", "text", "k"}, "influence": {"id", "text", "k"},
    "logit_lens": {"id", "text", "position"}, "top_neurons": {"id", "text", "k", "layer"},
    "explain_neuron": {"layer", "neuron"}, "probe": {"concept", "layers"}, "report": {"id", "text", "where"},
}
IMPLEMENTED = set(EXPECTED)  # every catalogue tool runs in this version


def test_registry_holds_the_whole_catalogue_with_its_argument_names():
    tools = all_tools()
    assert set(tools) == set(EXPECTED)
    for name, args in EXPECTED.items():
        assert args <= set(tools[name].Params.model_fields), name
        assert tools[name].Params.model_config["extra"] == "forbid"
    assert {n for n, t in tools.items() if t.available} == IMPLEMENTED


@pytest.mark.skipif(not CATALOGUE.exists(), reason="shared/docs not beside the checkout")
def test_registry_matches_the_catalogue_document():
    names = set(re.findall(r"^\| `([a-z_]+)` \|", CATALOGUE.read_text(), re.M))
    assert names == set(all_tools())


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
