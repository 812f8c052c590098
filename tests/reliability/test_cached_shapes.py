"""Issue 22, item 1: a wrong-shaped result is never cached, and one already on disk is not served.
Version 2 of logit_lens cached a 61-row lens of a 30-block model (two concurrent calls' hooks had
filled one store); a later run served it for good. The tiny model here has 2 blocks: 3 rows."""
from __future__ import annotations

import json

import pytest

from tools.context import ToolContext, Workspace
from tools.registry import run_tool
from tools.settings import Settings


def _context(models, data, home) -> ToolContext:
    return ToolContext(Workspace(Settings.from_env(model=str(models["causal"]), data=str(data), home=str(home)),
                                 quiet=True))


def _entries(ctx: ToolContext) -> list:
    return sorted(ctx.cache.root.rglob("*.json"))


def _lens_entry(ctx: ToolContext):
    """The cache file holding the logit lens result (the only entry with `layers`)."""
    found = [p for p in _entries(ctx) if "layers" in json.loads(p.read_text())["value"]]
    assert len(found) == 1
    return found[0]


def test_a_wrong_shaped_lens_on_disk_is_recomputed_not_served(tiny_models, tiny_data, tmp_path):
    ctx = _context(tiny_models, tiny_data, tmp_path / "home")
    args = {"text": "the food was good", "top": 2}
    first = run_tool(ctx, "logit_lens", args)
    assert [row["layer"] for row in first.output["layers"]] == [-1, 0, 1]

    path = _lens_entry(ctx)
    entry = json.loads(path.read_text())
    rows = entry["value"]["layers"]
    doubled = rows + [dict(row) for row in rows[1:]] + [dict(row) for row in rows[1:]]  # 7 rows, as if interleaved
    for i, row in enumerate(doubled):
        row["layer"] = i - 1
    entry["value"]["layers"] = doubled
    path.write_text(json.dumps(entry))

    fresh = _context(tiny_models, tiny_data, tmp_path / "home")  # a new process: the model is not loaded yet
    again = run_tool(fresh, "logit_lens", args)
    assert not again.provenance.cached
    assert [row["layer"] for row in again.output["layers"]] == [-1, 0, 1]
    assert again.output == first.output
    assert len(json.loads(path.read_text())["value"]["layers"]) == 3  # overwritten with the right result
    assert run_tool(fresh, "logit_lens", args).provenance.cached


def test_a_wrong_shaped_lens_is_refused_before_caching(tiny_models, tiny_data, tmp_path, monkeypatch):
    import tools.internals.lens as lens

    real = lens.logit_lens

    def extra_row(*a, **kw):  # planted bug: one row too many, numbered consistently
        result = real(*a, **kw)
        result["layers"].append(dict(result["layers"][-1], layer=len(result["layers"]) - 1))
        return result

    monkeypatch.setattr(lens, "logit_lens", extra_row)
    ctx = _context(tiny_models, tiny_data, tmp_path / "home")
    with pytest.raises(RuntimeError, match=r"4 layer rows for a model of 2 blocks.*not cached"):
        run_tool(ctx, "logit_lens", {"text": "the food was good"})
    assert not [p for p in _entries(ctx) if "layers" in json.loads(p.read_text())["value"]]


def test_the_assistant_answers_the_issue_question_the_same_twice(tiny_assistant):
    """The issue's exact question (two rows, run as concurrent tool calls) gives one lens per row
    with one row per block plus the embeddings, first from the tools, then from the cache."""
    first = tiny_assistant.ask("logit lens for reviews 103 and 105")
    second = tiny_assistant.ask("logit lens for reviews 103 and 105")
    for answer in (first, second):
        assert "of 2 blocks" in answer.narration or "No layer ranks it first" in answer.narration, answer.narration
        assert "Traceback" not in answer.narration and "IndexError" not in answer.narration
    assert first.narration == second.narration
