"""Notebook display: run records and tool results show as escaped HTML (narration, figure inline,
steps folded) and readable text; examples/quickstart.ipynb runs top to bottom with nbclient."""
from __future__ import annotations

import os
from html import escape
from pathlib import Path

import pytest

from agent.records import RunRecord, Step

REPO = Path(__file__).resolve().parent.parent
ROW = "great <img src=x onerror=alert(1)> & cheap"


def test_record_html_escapes_every_piece_of_data_text():
    record = RunRecord(question=f"why {ROW}?", narration=f"It says: {ROW}",
                       steps=[Step(tool="attribute", args={"text": ROW}, status="error", error=f"bad {ROW}")])
    html = record._repr_html_()
    assert "<img src=x" not in html and "onerror=alert(1)>" not in html
    assert html.count(escape(ROW)) == 4  # title, narration, the step's args, its error
    assert "<details><summary>1 step</summary>" in html
    pretty = []

    class Printer:
        def text(self, value: str) -> None:
            pretty.append(value)

    record._repr_pretty_(Printer(), False)
    assert pretty == [f'Q: why {ROW}?\nIt says: {ROW}\n  - attribute({{"text": "{ROW}"}}): bad {ROW}']
    assert repr(record) == f"<RunRecord {f'why {ROW}?'!r}: {f'It says: {ROW}'!r}>"


def test_tool_result_html_has_the_narration_and_the_figure(tiny_assistant):
    result = tiny_assistant.run_tool("attribute", {"id": 103, "method": "occlusion"})
    html = result._repr_html_()
    from agent.narrator import narrate_step
    from agent.records import done_step

    expected = narrate_step(done_step("attribute", result.params, result, 0.0))
    assert escape(expected.split("\n")[0]) in html
    assert html.count('<img src="data:image/png;base64,') == 1
    assert repr(result).startswith("<ToolResult attribute: ")


def test_quickstart_notebook_runs_and_shows_html(tiny_models, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("WHYBOX_MODEL", str(tiny_models["causal"]))  # the kernel inherits the environment
    notebook = nbformat.read(REPO / "examples" / "quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO)}}).execute(env=dict(os.environ))
    ask = [o for o in notebook.cells[2].outputs if o.output_type == "execute_result"][0]
    plain, html = ask.data["text/plain"], ask.data["text/html"]
    assert plain.startswith("Q: why is review 3 positive?\n")
    narration_start = plain.split("\n")[1]
    assert escape(narration_start) in html
    assert '<img src="data:image/png;base64,' in html and "<details>" in html
    count = [o for o in notebook.cells[3].outputs if o.output_type == "execute_result"][0]
    assert "negative" in count.data["text/html"]
