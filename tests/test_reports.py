"""Reports: HTML with embedded figures and escaped user text, a PDF with pages and a figure,
mistake summaries that match the predictions, conversation write-ups, paths kept inside the
output folder, and clear messages when there is nothing to report."""
import base64
import json
import re
import subprocess
import sys

import pypdfium2
import pypdfium2.raw as pdfium_raw
import pytest

from agent.reports import safe_path
from agent.reports.builder import slug
from tools.builtin.report import ReportParams
from tools.errors import InputError, WhyboxError
from tools.registry import run_tool


def _pdf_images(path) -> tuple[int, int]:
    """(pages, image objects over all pages) of a PDF."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        images = sum(len(list(page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_IMAGE,)))) for page in document)
        return len(document), images
    finally:
        document.close()


def test_instance_report_has_plan_figure_faithfulness_provenance_and_a_pdf(tiny_assistant, tmp_path):
    out = tmp_path / "out"
    result = tiny_assistant.write_report(ReportParams(id=100, method="gradient_x_input"), out_dir=out)
    html = open(result["html"], encoding="utf-8").read()
    assert result["kind"] == "instance" and result["sections"] == 1 and result["figures"] == 1
    assert "predict({&#34;id&#34;: 100})" in html  # the plan, escaped
    png = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG")  # the heatmap is embedded, not linked
    assert "comprehensiveness (higher is better)" in html and "random ranking" in html
    assert tiny_assistant.workspace.model_hash in html and tiny_assistant.workspace.dataset.content_hash() in html
    assert "transformers" in html and "Caveat:" in html
    pages, images = _pdf_images(result["pdf"])
    assert pages == result["pages"] >= 1 and images >= 1
    assert sorted(p.suffix for p in out.iterdir()) == [".html", ".pdf"]  # nothing half-written left behind


def test_user_text_is_escaped_in_the_html(tiny_assistant, tmp_path):
    text = "the food was good <script>alert(1)</script> <img src=x onerror=alert(2)>"
    result = tiny_assistant.write_report(ReportParams(text=text, method="gradient_x_input"), out_dir=tmp_path)
    html = open(result["html"], encoding="utf-8").read()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_mistakes_report_summarises_what_the_errors_share(tiny_assistant, tmp_path):
    ctx = tiny_assistant.context
    predicted = ctx.predictions().predicted
    wrong = [r for r in ctx.dataset if predicted[r.id] != r.label]
    assert wrong, "the tiny random model should make mistakes"
    result = tiny_assistant.write_report(ReportParams(where={"correct": False}, method="gradient_x_input"),
                                         out_dir=tmp_path)
    summary = result["summary"]
    assert result["kind"] == "mistakes" and summary["mistakes"] == len(wrong) == summary["explained"]
    assert result["sections"] == 1 + len(wrong)  # an overview, then every mistake explained
    assert sum(c["count"] for c in summary["confusions"]) == len(wrong)
    assert {c["pair"] for c in summary["confusions"]} == {f"{r.label} → {predicted[r.id]}" for r in wrong}
    html = open(result["html"], encoding="utf-8").read()
    assert "What the mistakes share" in html and html.count('<section class="record">') == 1 + len(wrong)
    limited = tiny_assistant.write_report(ReportParams(where={"correct": False}, k=1, method="gradient_x_input"),
                                          out_dir=tmp_path)
    assert limited["sections"] == 2 and limited["summary"]["mistakes"] == len(wrong)


def test_conversation_report_from_the_chat(tiny_assistant):
    nothing = tiny_assistant.ask("make a report of this conversation")
    assert nothing.steps[0].status == "error" and "nothing to report yet" in nothing.steps[0].error
    tiny_assistant.ask("how many reviews are there?")
    tiny_assistant.ask("what's the accuracy?")
    record = tiny_assistant.ask("export this conversation as a report")
    step = record.steps[0]
    assert step.tool == "report" and step.status == "done", step.error
    assert step.output["kind"] == "conversation" and step.output["sections"] == 2  # report-only turns are left out
    assert "I wrote the report" in record.narration and step.output["pdf"] in record.narration
    html = open(step.output["html"], encoding="utf-8").read()
    assert "how many reviews are there?" in html and "There are 10 rows" in html
    assert str(tiny_assistant.settings.home / "reports") in step.output["html"]


def test_report_paths_stay_inside_the_output_folder(tmp_path):
    assert safe_path(tmp_path, "ok.html") == (tmp_path / "ok.html").resolve()
    for name in ["../evil.html", "/etc/evil.html", "sub/../../evil.html", "sub/x.html"]:
        with pytest.raises(InputError, match="outside the output folder"):
            safe_path(tmp_path, name)
    assert slug("../../etc/passwd <b>") == "etc-passwd-b" and slug("???") == "report"


def test_report_errors_are_clear(tiny_assistant):
    with pytest.raises(WhyboxError, match="No rows match"):
        tiny_assistant.write_report(ReportParams(where={"includes": "zebra"}))
    with pytest.raises(InputError, match="not both"):
        run_tool(tiny_assistant.context, "report", {"id": 100, "text": "good"})
    with pytest.raises(WhyboxError, match="no row with id 99999"):
        tiny_assistant.write_report(ReportParams(id=99999))


def test_whybox_report_cli(tiny_models, tiny_data, tmp_path):
    base = [sys.executable, "-m", "ui.cli", "report", "--model", str(tiny_models["causal"]),
            "--data", str(tiny_data)]
    out = subprocess.run(base + ["--where", '{"includes": "food"}', "--k", "1", "--method", "gradient_x_input",
                                 "--out", str(tmp_path / "r"), "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["kind"] == "selection" and result["sections"] == 2 and result["pdf"].startswith(str(tmp_path / "r"))
    bad = subprocess.run(base + ["--where", "{oops"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--where is not valid JSON" in bad.stderr
    empty = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert empty.returncode == 2 and "Say what to report on" in empty.stderr


def test_lens_and_probe_figures_are_drawn_once_per_result(tiny_assistant, tmp_path):
    from agent.figures import figure_for_step
    from agent.records import Step

    lens = run_tool(tiny_assistant.context, "logit_lens", {"text": "the food was"}).output
    step = Step(tool="logit_lens", args={}, status="done", output=lens)
    path = figure_for_step(step, tmp_path)
    assert path.name.startswith("logit-lens-") and path.read_bytes().startswith(b"\x89PNG")
    mtime = path.stat().st_mtime_ns
    assert figure_for_step(step, tmp_path) == path and path.stat().st_mtime_ns == mtime  # reused, not redrawn
    row = {"layer": 0, "name": "block 0", "accuracy": 0.8, "ci95": [0.6, 0.9], "control_accuracy": 0.5,
           "selectivity": 0.3, "c": 1.0, "val_accuracy": 0.8, "codelength_bits": 10.0, "compression": 1.5}
    probe = {"concept": "labels", "labels_mean": "the dataset's gold labels", "classes": ["negative", "positive"],
             "rows_total": 40, "split": [24, 8, 8], "majority_label": "negative", "best_layer": 0, "seed": 0,
             "embeddings": {**row, "layer": -1, "name": "embeddings", "accuracy": 0.6, "ci95": [0.4, 0.75]},
             "layers": [row, {**row, "layer": 1, "name": "block 1"}], "majority_baseline": 0.5}
    probe_path = figure_for_step(Step(tool="probe", args={}, status="done", output=probe), tmp_path)
    assert probe_path.name.startswith("probe-") and probe_path != path
    assert figure_for_step(Step(tool="count", args={}, status="done", output={"count": 1}), tmp_path) is None
    assert figure_for_step(Step(tool="probe", args={}, status="error", error="x"), tmp_path) is None
