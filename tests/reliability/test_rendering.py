"""Issue 22, item 2: row and user text is shown as text, never rendered, in reports and in the
chat; writing a report fetches no URL named by the data (a listener on 127.0.0.1 must receive
nothing); the HTML report embeds only `data:` images."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from markdown_it import MarkdownIt

from agent import Assistant
from tools.builtin.report import ReportParams
from tools.settings import Settings


@pytest.fixture
def listener():
    """A local HTTP server that records every request path it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _hostile_rows(url: str) -> list[str]:
    return [f"the food was good ![q]({url}/from-text.png)",
            f'the movie was bad <img src="{url}/raw-img.png"> <svg onload=alert(1)>',
            f"good price [link]({url}/link) <{url}/autolink>"]


@pytest.fixture
def hostile_assistant(tiny_models, tmp_path, listener):
    url, _ = listener
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t, "label": "positive" if i % 2 == 0 else "negative"}) + "\n"
                            for i, t in enumerate(_hostile_rows(url) * 2)))
    return Assistant(Settings.from_env(model=str(tiny_models["causal"]), data=str(path)), quiet=True)


def test_a_report_on_hostile_rows_fetches_nothing_and_embeds_only_data_images(hostile_assistant, listener, tmp_path):
    url, seen = listener
    for i in range(3):
        result = hostile_assistant.write_report(ReportParams(id=i, method="gradient_x_input"), out_dir=tmp_path / "r")
        assert result["pdf"] and result["pages"] >= 1
        html = open(result["html"], encoding="utf-8").read()
        assert re.findall(r"<img [^>]*src=\"(?!data:)", html) == []
        assert "<svg" not in html and f'href="{url}' not in html
        assert url in html  # the row's text is in the report, shown as text
    text = f"the food was good ![quoted]({url}/from-question.png)"
    result = hostile_assistant.write_report(ReportParams(text=text, method="gradient_x_input"), out_dir=tmp_path / "t")
    assert re.findall(r"<img [^>]*src=\"(?!data:)", open(result["html"], encoding="utf-8").read()) == []
    assert seen == []


def test_the_pdf_renderer_fetches_only_data_urls(listener):
    import weasyprint

    from agent.reports.builder import _data_urls_only

    url, seen = listener
    pixel = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    html = (f'<p>x</p><img src="{url}/a.png"><img src="file:///etc/passwd">'
            f'<link rel="stylesheet" href="{url}/s.css"><img src="data:image/png;base64,{pixel}">')
    pdf = weasyprint.HTML(string=html, url_fetcher=_data_urls_only()).write_pdf()
    assert pdf.startswith(b"%PDF") and seen == []


def _rendered(content: str) -> str:
    """Chat content as a Markdown renderer that passes raw HTML (as the browser's does) shows it."""
    return MarkdownIt("commonmark", {"html": True}).render(content)


def test_the_chat_shows_row_and_user_text_as_text(hostile_assistant, listener):
    from ui.app import WorkspacePool, respond

    url, _ = listener
    pool = WorkspacePool(hostile_assistant.settings)
    history: list = []
    typed = f"what does it predict for 'good <img src=x> ![a]({url}/q.png)'"
    for question in ("show review 1", "show review 0", typed):
        *_, (_, history, _) = respond(question, history, hostile_assistant, pool)
    texts = [m.content for m in history if isinstance(m.content, str)]
    shown = "".join(_rendered(t) for t in texts)
    assert "<img" not in shown and "<svg" not in shown and "<a " not in shown
    assert "&lt;svg onload=alert(1)&gt;" in shown  # shown as typed
    assert any("raw-img.png" in t for t in texts)  # the row text is there, as text


def test_as_text_round_trips_through_markdown():
    from ui.app import as_text

    typed = r"a *b* _c_ `d` [e](f) ![g](h) <i> & \ # | ~"
    assert MarkdownIt("commonmark", {"html": True}).render(as_text(typed)) == (
        "<p>a *b* _c_ `d` [e](f) ![g](h) &lt;i&gt; &amp; \\ # | ~</p>\n")
