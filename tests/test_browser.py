"""The web UI end to end: a real `whybox ui` server and Debian's Chromium driven by Playwright."""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REAL_HOME, REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(real_workspace):
    port = _free_port()
    env = os.environ.copy()
    env["WHYBOX_HOME"] = str(REAL_HOME)
    whybox = shutil.which("whybox") or str(Path(sys.executable).parent / "whybox")
    proc = subprocess.Popen([whybox, "ui", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (make browser-deps)")
def test_chat_in_a_real_browser(server, real_workspace):
    from playwright.sync_api import expect, sync_playwright

    table = real_workspace.predictions()
    ds = real_workspace.dataset
    accuracy = sum(table.predicted[r.id] == r.label for r in ds) / len(ds)
    expected_label = real_workspace.task.labels[
        int(real_workspace.task.predict_proba(["the battery died after a day"])[0][0].argmax())]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server)
        box = page.locator("#question textarea")
        chat = page.locator("#chat")
        for question, answer in [
            ("How many reviews are there?", "There are 218 rows"),
            ("What's the accuracy?", f"{accuracy:.3f}"),
            ("Show me 3 mistakes", "3 most confident mistakes"),
            ("What does the model predict for 'the battery died after a day'?", f"predicts {expected_label}"),
        ]:
            box.fill(question)
            box.press("Enter")
            expect(chat).to_contain_text(answer, timeout=120_000)
        expect(chat).to_contain_text("score")  # the collapsible tool step
        box.fill("Why did it predict review 12 that way?")
        box.press("Enter")
        expect(chat).to_contain_text("Faithfulness", timeout=180_000)
        heatmap = chat.locator("img[src*='attribution-']").last
        expect(heatmap).to_be_visible(timeout=60_000)  # the heatmap PNG, inline in the answer
        assert heatmap.evaluate("img => img.naturalWidth") > 200
        page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)
        page.locator("#make-report").click()
        expect(page.locator("#report-status")).to_contain_text("Report ready: 5 sections", timeout=180_000)
        with page.expect_download(timeout=60_000) as download_info:
            page.locator("#download-pdf").click()
        pdf = ARTIFACTS / "conversation-report.pdf"
        download_info.value.save_as(pdf)
        browser.close()
    import pypdfium2
    import pypdfium2.raw as pdfium_raw

    document = pypdfium2.PdfDocument(str(pdf))
    pages = len(document)
    images = sum(len(list(page.get_objects(filter=(pdfium_raw.FPDF_PAGEOBJ_IMAGE,)))) for page in document)
    document[0].render(scale=1.0).to_pil().save(ARTIFACTS / "conversation-report-page1.png")
    document.close()
    assert pages >= 2 and images >= 1, (pages, images)  # five turns and the heatmap figure
