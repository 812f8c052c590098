"""The batch runner (issue 20): results written as they finish, a re-run skips finished rows, a
torn last line is redone, a SIGKILLed job resumed gives the table an uninterrupted job gives."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tools.batch import ResultTable, ToolWork, run_batch, table_for
from tools.context import ToolContext, Workspace
from tools.errors import WhyboxError
from tools.settings import Settings


def _ctx(tiny_models, tiny_data, kind: str = "causal", home: Path | None = None) -> ToolContext:
    """A context on a tiny model; another `home` has its own result cache (so nothing is reused)."""
    settings = Settings.from_env(model=str(tiny_models[kind]), data=str(tiny_data), home=home)
    return ToolContext(Workspace(settings, quiet=True))


def without_timings(value, drop=("seconds", "cached")):
    """Results minus wall-clock fields (`seconds`) and whether a step came from the result cache."""
    if isinstance(value, dict):
        return {k: without_timings(v, drop) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [without_timings(v, drop) for v in value]
    return value


def _table(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# ----- the table ---------------------------------------------------------------------------
def test_table_cuts_a_torn_tail_and_drops_a_damaged_line(tmp_path):
    with ResultTable(tmp_path, "t", {"job": 1}) as table:
        table.append([{"key": "a", "id": 1, "result": 1}, {"key": "b", "id": 2, "result": 2}])
        with open(table.path, "ab") as handle:
            handle.write(b'{"key": "c", "id": 3, "res')  # a kill in the middle of an append
        assert set(table.load()) == {"a", "b"}
        assert table.dropped_lines == 1
        assert table.path.read_bytes().endswith(b"\n")  # cut back to the last whole line
        table.append([{"key": "c", "id": 3, "result": 3}])
        assert [e["key"] for e in table.rows()] == ["a", "b", "c"]
        lines = table.path.read_bytes().splitlines(keepends=True)
        table.path.write_bytes(lines[0] + b"not json\n" + lines[1] + lines[2])
        assert set(table.load()) == {"a", "b", "c"} and table.dropped_lines == 1
        assert b"not json" not in table.path.read_bytes()  # rewritten without it
    assert json.loads((tmp_path / "t.job.json").read_text()) == {"job": 1}


def test_a_second_writer_of_one_table_is_refused(tmp_path):
    with ResultTable(tmp_path, "t", {}):
        with pytest.raises(WhyboxError, match="Another whybox batch job is writing"):
            with ResultTable(tmp_path, "t", {}):
                pass


# ----- the runner ----------------------------------------------------------------------------
def test_batch_predict_matches_the_tool_and_a_rerun_skips_every_row(tiny_models, tiny_data, tmp_path):
    from tools.registry import run_tool

    ctx = _ctx(tiny_models, tiny_data)
    rows = ctx.dataset.rows
    work = ToolWork("predict", batch_size=4)
    first = run_batch(ctx, work, rows, tmp_path)
    assert (first.rows, first.already_done, first.computed, first.errors) == (10, 0, 10, 0)
    for row in rows:
        single = run_tool(ctx, "predict", {"id": row.id}).output
        got = first.results[row.id]["output"]
        assert got["label"] == single["label"] and got["id"] == row.id
        assert got["probabilities"] == pytest.approx(single["probabilities"], abs=2e-6)
    again = run_batch(ctx, work, rows, tmp_path)
    assert (again.already_done, again.computed) == (10, 0)
    assert again.results == first.results
    assert [e["id"] for e in _table(first.table)] == [r.id for r in rows]


def test_a_changed_label_or_other_arguments_are_other_rows(tiny_models, tiny_data, tmp_path):
    ctx = _ctx(tiny_models, tiny_data)
    rows = ctx.dataset.rows[:4]
    run_batch(ctx, ToolWork("predict", batch_size=4), rows, tmp_path)
    ctx.label_edits[rows[0].id] = "negative" if rows[0].label == "positive" else "positive"
    rerun = run_batch(ctx, ToolWork("predict", batch_size=4), ctx.dataset.rows[:4], tmp_path)
    assert (rerun.already_done, rerun.computed) == (3, 1)  # the chunk is recomputed, one row written
    assert rerun.results[rows[0].id]["output"]["gold_label"] == ctx.label_edits[rows[0].id]
    other = run_batch(ctx, ToolWork("attribute", {"method": "occlusion"}, batch_size=4), rows, tmp_path)
    assert other.computed == 4 and other.table != rerun.table


def test_a_dataset_level_tool_or_bad_arguments_fail_in_one_line(tiny_models, tiny_data, tmp_path):
    with pytest.raises(WhyboxError, match="works on the whole dataset"):
        ToolWork("mistakes")
    with pytest.raises(WhyboxError, match="Unknown tool|unknown tool"):
        ToolWork("no_such_tool")
    ctx = _ctx(tiny_models, tiny_data)
    with pytest.raises(WhyboxError, match="method"):
        run_batch(ctx, ToolWork("attribute", {"method": "nonsense"}), ctx.dataset.rows, tmp_path)


@pytest.mark.parametrize("tear", [False, True], ids=["kill-between-appends", "kill-mid-append"])
def test_sigkill_then_rerun_equals_an_uninterrupted_run(tiny_models, tiny_data, tmp_path, tear):
    ctx = _ctx(tiny_models, tiny_data)
    work = ToolWork("attribute", {"method": "occlusion"}, batch_size=2)
    other = _ctx(tiny_models, tiny_data, home=tmp_path / "other-home")  # its result cache is not this one's
    whole = run_batch(other, work, other.dataset.rows, tmp_path / "whole")
    killed = tmp_path / "killed"
    cmd = [sys.executable, str(REPO / "tests" / "batch_kill_job.py"), str(tiny_models["causal"]), str(tiny_data),
           str(killed), "--kill-after", "2"] + (["--tear"] if tear else [])
    proc = subprocess.run(cmd, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]  # it really was SIGKILLed
    table = table_for(ctx, work, killed).path
    lines = table.read_bytes().splitlines(keepends=True)
    assert len([x for x in lines if x.endswith(b"\n")]) == 4  # two chunks of two rows survived
    assert (not lines[-1].endswith(b"\n")) == tear
    resumed = run_batch(ctx, work, ctx.dataset.rows, killed)
    assert (resumed.already_done, resumed.computed) == (4, 6)
    got, want = _table(table), _table(whole.table)
    assert [e["id"] for e in got] == [e["id"] for e in want]  # every row once, in selection order
    assert len({e["key"] for e in got}) == len(got) == 10
    assert [without_timings(e) for e in got] == [without_timings(e) for e in want]


# ----- whybox batch --------------------------------------------------------------------------
def test_whybox_batch_writes_then_resumes_and_refuses_bad_input_in_one_line(tiny_models, tiny_data, tmp_path,
                                                                            capsys):
    from ui.cli import main

    base = ["--model", str(tiny_models["causal"]), "--data", str(tiny_data), "--out", str(tmp_path), "--quiet"]
    where = ["--where", '{"label": "positive"}']
    assert main(["batch", "predict", *where, "--batch-size", "2", *base]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("whybox batch predict: 5 rows (0 already done, 5 computed, 0 errors)")
    assert "in-process" in line
    table = Path(line.rsplit("table: ", 1)[1])
    assert [e["result"]["output"]["gold_label"] for e in _table(table)] == ["positive"] * 5
    assert main(["batch", "predict", "--batch-size", "2", *base]) == 0  # all rows: the positive ones are done
    assert "10 rows (5 already done, 5 computed, 0 errors)" in capsys.readouterr().out
    for argv, message in [
        (["batch", "mistakes", *base], "works on the whole dataset"),
        (["batch", "predict", "--where", "[1]", *base], "--where must be a JSON object"),
        (["batch", "predict", "--where", '{"colour": "red"}', *base], "--where: colour"),
        (["batch", "predict", "--where", '{"includes": "zebra"}', *base], "No rows match"),
        (["batch", "attribute", "--json", '{"method": "nonsense"}', *base], "method"),
        (["batch", "predict", "--batch-size", "0", *base], "--batch-size must be at least 1"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("whybox: ") and message in err and "\n" not in err, (argv, err)


# ----- reports use the runner ----------------------------------------------------------------
def test_a_mistakes_report_explains_its_rows_through_the_runner_and_resumes(tiny_assistant):
    from agent.reports.content import mistakes_report

    ctx = tiny_assistant.context
    first = mistakes_report(ctx, None)
    tables = list((ctx.settings.cache_dir / "batch").glob("report-rows-*.jsonl"))
    assert len(tables) == 1
    entries = _table(tables[0])
    wrong = first.summary["mistakes"]
    assert wrong >= 1 and [e["id"] for e in entries] == [int(r.question.split("row ")[1].split("?")[0])
                                                         for r in first.records[1:]]
    kept = entries[:1]  # as if the report had been killed after its first row
    tables[0].write_text("".join(json.dumps(e) + "\n" for e in kept) + '{"key": "torn')
    again = mistakes_report(ctx, None)
    same = ("seconds", "cached", "created_at")  # the redone rows' steps now come from the result cache
    assert [without_timings(r.model_dump(), same) for r in again.records[1:]] == \
        [without_timings(r.model_dump(), same) for r in first.records[1:]]
    assert len(_table(tables[0])) == wrong  # the missing rows added once, the torn line gone


# ----- one batched capture pass for probes -----------------------------------------------------
@pytest.mark.parametrize("kind", ["causal", "classifier"])
def test_batched_hidden_states_equal_one_text_at_a_time(tiny_models, tiny_data, kind):
    from tools.internals.probing import pooled_states

    ctx = _ctx(tiny_models, tiny_data, kind)
    texts = [r.text for r in ctx.dataset.rows]  # 2 to 5 words: every batch pads
    batched = pooled_states(ctx.model, ctx.task, texts, batch_size=4)
    alone = pooled_states(ctx.model, ctx.task, texts, batch_size=1)
    assert batched.shape == (10, ctx.model.n_layers + 1, 32)
    assert abs(batched - alone).max() < 1e-5


# ----- cross-row attribution ------------------------------------------------------------------
def _no_per_row_scorer(*_args, **_kwargs):
    raise AssertionError("the fast path built a per-row scorer")


def _assert_close(got, want, path="result", tol=1e-6):
    """Equal structures; floats equal to `tol` (only the grouping of float sums differs)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (path, set(got) ^ set(want))
        for key in want:
            _assert_close(got[key], want[key], f"{path}.{key}", tol)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_close(g, w, f"{path}[{i}]", tol)
    elif isinstance(want, float) and not isinstance(want, bool):
        assert abs(got - want) <= tol * (1 + 1e-6), (path, got, want)
    elif isinstance(want, str) and isinstance(got, str) and got != want:
        _assert_same_rendering(got, want, path)
    else:
        assert got == want, (path, got, want)


_PRINTED = re.compile(r"-?\d+\.(\d+)")


def _assert_same_rendering(got: str, want: str, path: str) -> None:
    """A rendered string (the heatmap's HTML) from floats equal to 1e-6: the same text, each printed number
    within one unit of its last digit (0.3675 may print as 0.367 on one path and 0.368 on the other)."""
    assert _PRINTED.split(got)[::2] == _PRINTED.split(want)[::2], (path, got, want)
    for g, w in zip(_PRINTED.finditer(got), _PRINTED.finditer(want)):
        unit = 10.0 ** -len(w.group(1))
        assert abs(float(g.group(0)) - float(w.group(0))) <= unit * 1.0001, (path, g.group(0), w.group(0))
    assert len(_PRINTED.findall(got)) == len(_PRINTED.findall(want)), path


@pytest.mark.parametrize("args", [{"method": "occlusion"}, {"method": "lime", "samples": 16},
                                  {"method": "occlusion", "target": "positive", "contrast": "negative"}],
                         ids=["occlusion", "lime", "contrast"])
def test_cross_row_attribution_equals_the_per_row_path(tiny_models, tiny_data, tmp_path, monkeypatch, args):
    """Every row's entry from the cross-row fast path (all rows' perturbations and faithfulness
    rows in shared forwards) equals `run_tool` row by row, to 1e-6, every row once."""
    from tools.attribution import scorers
    from tools.registry import run_tool

    alone = _ctx(tiny_models, tiny_data, home=tmp_path / "alone")
    want = {r.id: run_tool(alone, "attribute", {**args, "id": r.id}) for r in alone.dataset.rows}
    ctx = _ctx(tiny_models, tiny_data, home=tmp_path / "pooled")
    ctx.model  # loaded before the per-row scorer is forbidden

    monkeypatch.setattr(scorers.CausalScorer, "__init__", _no_per_row_scorer)
    summary = run_batch(ctx, ToolWork("attribute", args, batch_size=4), ctx.dataset.rows, tmp_path / "out")
    assert summary.computed == 10 and [e["id"] for e in _table(summary.table)] == [r.id for r in ctx.dataset.rows]
    for row in ctx.dataset.rows:
        got = summary.results[row.id]
        assert not got["cached"]
        _assert_close(without_timings(got["output"]), without_timings(want[row.id].output))
        assert got["caveats"] == want[row.id].caveats
    again = run_tool(ctx, "attribute", {**args, "id": ctx.dataset.rows[0].id})  # it went to the result cache
    assert again.provenance.cached


def test_cross_row_attribution_leaves_refused_rows_their_own_error(tiny_models, tiny_data, tmp_path):
    ctx = _ctx(tiny_models, tiny_data)
    label = ctx.task.labels[0]
    summary = run_batch(ctx, ToolWork("attribute", {"method": "occlusion", "target": label, "contrast": label}),
                        ctx.dataset.rows[:3], tmp_path)
    assert summary.errors == 3
    assert all("contrast label is the explained label" in r["error"] for r in summary.results.values())


def test_hidden_states_from_the_shared_template_equal_the_whole_prompt(tiny_models, tiny_data):
    """The capture runs the template once (KV cache) and stops after the text: each layer's mean
    over the text's tokens equals the whole prompt run through the whole model."""
    import torch

    from tools.internals.capture import captured_residual
    from tools.internals.probing import _shared_template, pooled_states

    ctx = _ctx(tiny_models, tiny_data)
    texts = [r.text for r in ctx.dataset.rows]
    encoded = [ctx.task.encode(t) for t in texts]
    prefix, cut, _ = _shared_template(ctx.model, encoded)
    assert prefix and any(c < len(e.input_ids) for c, e in zip(cut, encoded))  # both savings apply
    got = pooled_states(ctx.model, ctx.task, texts, batch_size=4)
    for i, e in enumerate(encoded):
        with torch.no_grad(), captured_residual(ctx.model.model) as states:
            ctx.model.model(input_ids=torch.tensor([e.input_ids]))
        mask = torch.tensor(e.content_mask)
        want = torch.stack([s[0][mask].mean(0) for s in states]).numpy()
        assert abs(got[i] - want).max() < 1e-5


def test_a_report_rows_attributions_equal_the_per_row_tool(tiny_assistant, tiny_models, tiny_data, tmp_path,
                                                           monkeypatch):
    """The report's rows share their attribution forwards; each attribute step equals the tool alone."""
    from agent.reports.content import mistakes_report
    from tools.attribution import scorers
    from tools.registry import run_tool

    with monkeypatch.context() as patch:  # the report's attributions never build a per-row scorer
        patch.setattr(scorers.CausalScorer, "__init__", _no_per_row_scorer)
        content = mistakes_report(tiny_assistant.context, None)
    alone = _ctx(tiny_models, tiny_data, home=tmp_path / "alone")
    steps = [s for r in content.records[1:] for s in r.steps if s.tool == "attribute"]
    assert steps and all(s.status == "done" for s in steps)
    for step in steps:
        want = run_tool(alone, "attribute", step.args).output
        _assert_close(without_timings(step.output), without_timings(want))


def test_batched_perplexity_equals_one_text_per_forward(tiny_models, tiny_data):
    """The counterfactual's fluency check runs its texts together: each equals the text alone."""
    import math

    import torch

    from tools.counterfactuals.search import perplexity

    ctx = _ctx(tiny_models, tiny_data)
    handle = ctx.model
    texts = [r.text for r in ctx.dataset.rows] + [""]
    got = perplexity(handle, texts, batch_size=4)
    bos = handle.tokenizer.bos_token_id
    for text, value in zip(texts, got):
        ids = ([bos] if bos is not None else []) + handle.tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(ids) < 2:
            assert math.isnan(value)
            continue
        with torch.no_grad():
            logits = handle.model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
        want = math.exp(float(torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]))))
        assert value == pytest.approx(want, rel=1e-5)


def test_rows_the_pool_cannot_serve_are_computed_once_alone(tiny_models, tiny_data, tmp_path):
    """A classifier head (and any method the pool does not serve) runs row by row: not computed
    during the collect pass, so its entries are fresh, not result-cache hits, and equal the tool."""
    from tools.registry import run_tool

    alone = _ctx(tiny_models, tiny_data, "classifier", home=tmp_path / "alone")
    ctx = _ctx(tiny_models, tiny_data, "classifier", home=tmp_path / "batch")
    rows = ctx.dataset.rows[:4]
    summary = run_batch(ctx, ToolWork("attribute", {"method": "occlusion"}, batch_size=4), rows, tmp_path / "out")
    for row in rows:
        got = summary.results[row.id]
        assert got["cached"] is False
        want = run_tool(alone, "attribute", {"method": "occlusion", "id": row.id}).output
        _assert_close(without_timings(got["output"]), without_timings(want))


@pytest.mark.parametrize("model_type", ["qwen2", "gemma2", "gemma3_text", "phi3", "gpt2", "gpt_neox", "opt"])
def test_cross_row_attribution_equals_the_per_row_path_on_other_architectures(model_type, tiny_data, tmp_path,
                                                                             monkeypatch):
    """Holes in the attention mask and explicit positions mean the same on every causal family."""
    from tests.test_architectures import _save_tiny
    from tools.attribution import scorers
    from tools.registry import run_tool

    folder = _save_tiny(model_type, tmp_path / "model")

    def context(home: str) -> ToolContext:
        return ToolContext(Workspace(Settings.from_env(model=str(folder), data=str(tiny_data),
                                                       home=str(tmp_path / home)), quiet=True))

    alone, ctx = context("alone"), context("pooled")
    rows = ctx.dataset.rows[:5]
    ctx.model
    with monkeypatch.context() as patch:  # really the pooled path
        patch.setattr(scorers.CausalScorer, "__init__", _no_per_row_scorer)
        summary = run_batch(ctx, ToolWork("attribute", {"method": "occlusion"}, batch_size=5), rows, tmp_path / "out")
    for row in rows:
        want = run_tool(alone, "attribute", {"method": "occlusion", "id": row.id}).output
        _assert_close(without_timings(summary.results[row.id]["output"]), without_timings(want), tol=2e-6)
