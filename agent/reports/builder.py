"""Render a report: a self-contained HTML file (figures embedded as base64 PNG, user text escaped
by jinja2's autoescape) and a PDF of the same HTML through WeasyPrint.

Files are written atomically and only inside the output folder: the file name is made from a
slug of the title, and any name that would resolve outside the folder is refused.
"""
from __future__ import annotations

import base64
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from agent.figures import figure_for_step
from agent.narrator import narrate_step
from agent.reports.content import ReportContent
from tools import __version__
from tools.atomic import remove_dead_temps, write_bytes_atomic
from tools.errors import InputError
from tools.registry import get_tool

PACKAGES = ("torch", "transformers", "captum", "scikit-learn", "chromadb", "gradio", "langchain-core", "weasyprint")


@dataclass
class ReportFiles:
    html: Path
    pdf: Path | None
    pages: int | None
    figures: int
    sections: int


def safe_path(folder: Path, name: str) -> Path:
    """`folder/name`, refusing anything that would land outside `folder` (.., absolute paths, links)."""
    root = folder.resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise InputError(f"Report file name {name!r} would be written outside the output folder {root}.")
    return path


def slug(title: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return (text or "report")[:60].rstrip("-")


def _packages() -> dict[str, str]:
    found = {"whybox": __version__}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _provenance(content: ReportContent, workspace: Any) -> dict[str, Any]:
    steps, first = [], {}
    for record in content.records:
        for step in record.steps:
            p = step.provenance or {}
            first = first or p
            candidates = (p.get("seed"), ((step.output or {}).get("faithfulness") or {}).get("seed"),
                          (step.output or {}).get("seed"))
            seed = next((c for c in candidates if c is not None), "")
            steps.append({"index": len(steps) + 1, "tool": step.tool,
                          "params": json.dumps(p.get("params", step.args), sort_keys=True),
                          "seed": seed, "seconds": step.seconds, "cached": p.get("cached", False)})
    return {
        "whybox": __version__, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model_id": first.get("model_id") or workspace.model_id,
        "model_hash": first.get("model_hash") or workspace.model_hash,
        "task": first.get("task") or "",
        "data_id": first.get("data_id") or workspace.dataset.name,
        "data_hash": first.get("data_hash") or workspace.dataset.content_hash(),
        "parameters": json.dumps(content.parameters, sort_keys=True, default=str),
        "packages": _packages(), "steps": steps,
        "seconds": round(sum(r.seconds for r in content.records), 3),
    }


def markdown_html(text: str) -> Markup:
    """The narration's Markdown (bold, lists, tables) as HTML. It quotes row and user text, so raw
    HTML in it is escaped, and images and links are not Markdown here: `![q](http://...)` in a
    row stays text, and the report (and the PDF renderer) fetches nothing (issue 22)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("table")
    md.disable(["image", "link", "autolink", "reference"])
    return Markup(md.render(text))


def _data_urls_only():
    """WeasyPrint's fetcher, allowed only the report's own embedded `data:` images: no http, file
    or other scheme, whatever the HTML names."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), allow_redirects=False)


def _view(content: ReportContent, figures_folder: Path) -> tuple[list[dict[str, Any]], int]:
    """Per record: the narration (an LLM's, or the template's per step next to its figure)."""
    records, n_figures = [], 0
    for record in content.records:
        per_step = record.narrated_by == "template" and not record.message
        steps = []
        for step in record.steps:
            figures = []
            path = figure_for_step(step, figures_folder)
            if path is not None:
                figures.append({"data": base64.b64encode(path.read_bytes()).decode("ascii"),
                                "caption": get_tool(step.tool).figure_caption or ""})
                n_figures += 1
            faith = (step.output or {}).get("faithfulness")  # attributions carry their check
            text = (markdown_html(narrate_step(step, with_caveats=False))
                    if per_step and step.status == "done" else None)
            steps.append({"tool": step.tool, "text": text, "error": step.error, "figures": figures,
                          "faithfulness": faith, "caveats": step.caveats})
        plan = [f"{c.tool}({json.dumps(c.args, sort_keys=True)})" for c in record.calls]
        narration = None if per_step else markdown_html(record.narration)
        records.append({"question": record.question, "plan": plan, "narration": narration, "steps": steps,
                        "narrated_by": record.narrated_by})
    return records, n_figures


def render_html(content: ReportContent, workspace: Any, figures_folder: Path) -> tuple[str, int]:
    env = jinja2.Environment(loader=jinja2.PackageLoader("agent.reports", "."), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    records, n_figures = _view(content, figures_folder)
    html = env.get_template("report.html.j2").render(
        title=content.title, records=records, summary=content.summary, provenance=_provenance(content, workspace))
    return html, n_figures


def _pdf_pages(pdf: bytes) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def report_folder(out_dir: str | Path) -> Path:
    """The folder reports go into, created if missing; one line, not a traceback, when it is an
    existing file or cannot be created (issue 22). Checked before any report work starts; report
    files are never overwritten (each name carries its UTC time) and are written atomically."""
    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {out_dir} is a file; it must be a folder (the report's HTML and PDF go into it).",
                         "Give a folder, e.g. --out whybox-reports.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the report folder {out_dir}: {exc.strerror or exc}.") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"Cannot write into the report folder {out_dir}: permission denied.")
    remove_dead_temps(folder)  # the half-written files of a report run that was killed
    return folder


def write_report(content: ReportContent, workspace: Any, out_dir: Path, pdf: bool = True) -> ReportFiles:
    """Write `<slug>-<UTC time>.html` (and `.pdf`) into `out_dir`; returns the paths and page count."""
    out_dir = report_folder(out_dir)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    stem = f"{slug(content.title)}-{stamp}"
    html, n_figures = render_html(content, workspace, workspace.settings.home / "figures")
    html_path = safe_path(out_dir, stem + ".html")
    write_bytes_atomic(html_path, html.encode("utf-8"))
    pdf_path, pages = None, None
    if pdf:
        try:
            import weasyprint
        except ImportError:
            pdf = False
        else:
            with tempfile.TemporaryDirectory() as base:  # no relative URL may reach outside the report
                data = weasyprint.HTML(string=html, base_url=base, url_fetcher=_data_urls_only()).write_pdf()
            pdf_path = safe_path(out_dir, stem + ".pdf")
            write_bytes_atomic(pdf_path, data)
            pages = _pdf_pages(data)
    return ReportFiles(html_path, pdf_path, pages, n_figures, len(content.records))
