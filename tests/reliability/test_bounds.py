"""Issue 22, item 3: every layer argument is checked against the model before any work, with one
clear line; booleans are not row ids. The tiny model has 2 blocks (0 and 1)."""
from __future__ import annotations

import time

import pytest

from tools.context import ToolContext, Workspace
from tools.errors import InputError
from tools.registry import run_tool
from tools.settings import Settings


@pytest.fixture
def ctx(tiny_models, tiny_data, tmp_path) -> ToolContext:
    return ToolContext(Workspace(Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data),
                                                   home=str(tmp_path / "home")), quiet=True))


@pytest.mark.parametrize(("name", "args", "message"), [
    ("probe", {"layers": [999]}, "Layer 999 is out of range: the model has 2 layers (0 to 1)."),
    ("probe", {"layers": [99999999999999999999, 2]},
     "Layer 999999... (20 digits) is out of range: the model has 2 layers (0 to 1)."),
    ("probe", {"layers": [-5]}, "Layer -5 is out of range: the model has 2 layers (0 to 1)."),
    ("probe", {"layers": []}, "`layers` is empty"),
    ("top_neurons", {"text": "good", "layer": 7}, "Layer 7 is out of range: the model has 2 layers (0 to 1)."),
    ("steer", {"text": "good", "target": "positive", "layer": 2},
     "Layer 2 is out of range: the model has 2 layers (0 to 1)."),
    ("similar", {"id": 100, "layer": 2}, "Layer 2 is out of range: the model has 2 layers (-1 to 1)."),
    ("patch", {"id": 100, "contrast_id": 103, "layers": [0, 5]},
     "Layer 5 is out of range: the model has 2 layers (0 to 1)."),
])
def test_layers_out_of_range_are_refused_before_any_work(ctx, name, args, message):
    start = time.perf_counter()
    with pytest.raises(InputError) as caught:
        run_tool(ctx, name, args)
    assert str(caught.value).startswith(message)
    assert time.perf_counter() - start < 2
    assert not ctx.workspace.model_loaded  # refused from the model's files, before any forward pass


def test_in_range_layers_still_run(ctx):
    result = run_tool(ctx, "similar", {"id": 100, "layer": -1, "k": 2})
    assert result.output["layer"] == -1 and len(result.output["by_model"]) == 2


def test_a_boolean_is_not_a_row_id(ctx):
    with pytest.raises(InputError, match=r"Bad arguments for show: arguments: `id` is a number, not true/false"):
        run_tool(ctx, "show", {"id": True})
