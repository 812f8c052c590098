"""One tool, one module (design.md habits 13-14): everything about a tool lives in its module, the
rest of whybox reads it through the registry, and lists of names have one owner."""
from __future__ import annotations

import ast
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from agent.plan import ConversationState
from agent.planner import RulePlanner
from agent.planner.catalog import catalog
from tools.attribution.catalog import NAMES as METHOD_NAMES
from tools.base import Tool
from tools.data import load_dataset
from tools.errors import InputError
from tools.registry import all_tools
from tools.where import Where, select

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "prompts" / "cards"
# String constants in agent/ and ui/ that equal a tool name but do not name the tool.
NOT_TOOL_NAMES = {
    ("ui/cli.py", "report"),  # the `whybox report` subcommand and a pydantic error location
    ("ui/app.py", "report"),  # the Gradio endpoint of the "Write report" button
    ("agent/reports/builder.py", "report"),  # the file-name slug of an untitled report
    ("agent/reports/content.py", "mistakes"),  # a report kind and summary keys
    ("agent/reports/content.py", "count"),  # summary keys
    ("agent/planner/rules.py", "counterfactual"),  # a knowledge-base topic, not the tool
    ("agent/planner/dataset_slots.py", "similar"),  # an adjective that is no category value ("similar reviews")
    ("agent/planner/rules.py", "probe"),  # a knowledge-base topic (card probe.md), not the tool
    ("agent/planner/rules.py", "report"),  # a knowledge-base topic (card report.md), not the tool
    ("agent/planner/follow_ups.py", "count"),  # a `mode` value ("show two" after counting), not the tool
    ("agent/comparisons.py", "score"),  # a word's attribution score (AttributeOutput.words[].score)
}


def test_every_tool_is_one_module_with_its_output_narration_and_card():
    modules = {}
    for name, tool in all_tools().items():
        assert tool.__module__ == f"tools.builtin.{name}", f"{name} lives in {tool.__module__}"
        modules.setdefault(tool.__module__, []).append(name)
        assert tool.Output is not None, name
        assert tool.narrate is not Tool.narrate, f"{name} has no narrate"
        assert (CARDS / f"{tool.knowledge_card or name}.md").exists() or (CARDS / f"{name}.md").exists(), name
        if tool.figure_name is not None:
            assert tool.figure is not Tool.figure and tool.figure_caption, name
    assert all(len(names) == 1 for names in modules.values()), modules


def test_no_table_keyed_by_tool_names_outside_the_tools():
    names = set(all_tools())
    found = set()
    for path in [*ROOT.glob("agent/**/*.py"), *ROOT.glob("ui/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                found.add((str(path.relative_to(ROOT)), node.value))
    assert found <= NOT_TOOL_NAMES, sorted(found - NOT_TOOL_NAMES)


def test_tool_modules_and_the_planner_import_no_heavy_library():
    code = ("import sys\nimport tools.builtin\nfrom agent.planner import planner_for\n"
            "from agent.planner.catalog import catalog\ncatalog()\n"
            "heavy = ('torch', 'transformers', 'sklearn', 'matplotlib', 'chromadb')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


def test_kinds_of_tools_are_derived_from_their_params():
    cat = catalog()
    assert {"predict", "attribute", "adversarial", "logit_lens"} <= cat.instance
    assert "report" not in cat.instance and "report" in cat.where  # an instance is optional there
    assert {"show", "score", "mistakes"} <= cat.where
    assert "adversarial" in cat.k  # the drift the old K_TOOLS table had
    assert cat.no_args == {"describe_model", "describe_data", "capabilities"}
    for role in ("concept", "rows", "default", "help", "metric"):
        assert sum(1 for t in cat.tools.values() if t.planner_role == role) == 1, role


def test_k_reaches_adversarial_now_that_it_is_read_from_params():
    plan = RulePlanner(["negative", "positive"], short_words=8).plan("find 3 adversarial examples for review 5",
                                                                    ConversationState())
    assert [(c.tool, c.args) for c in plan.calls] == [("adversarial", {"id": 5, "k": 3})]


def test_method_names_have_one_owner():
    for tool in ("attribute", "report"):
        annotation = all_tools()[tool].Params.model_fields["method"].annotation
        literal = next(a for a in typing.get_args(annotation) if typing.get_origin(a) is typing.Literal)
        assert typing.get_args(literal) == METHOD_NAMES
    assert all(name in all_tools()["attribute"].description for name in METHOD_NAMES)


@pytest.fixture(scope="module")
def demo():
    return load_dataset("demo", "text", "label", "id")


def test_where_match_selects_by_another_column(demo):
    rows = select(demo, Where(match={"domain": "Film"}))
    assert len(rows) == sum(1 for r in demo.rows if r.extra.get("domain") == "film") == 51
    both = select(demo, Where(match={"domain": "film"}, label="negative"))
    assert both and all(r.label == "negative" and r.extra["domain"] == "film" for r in both)
    assert Where(match={"domain": "film"}).describe() == "rows with domain film"


def test_where_match_says_which_columns_and_values_exist(demo):
    with pytest.raises(InputError, match="no column 'domian'") as unknown_column:
        select(demo, Where(match={"domian": "film"}))
    assert "domain" in unknown_column.value.hint
    with pytest.raises(InputError, match="No row has domain = 'movies'") as unknown_value:
        select(demo, Where(match={"domain": "movies"}))
    assert "film, product, restaurant, service" in unknown_value.value.hint
