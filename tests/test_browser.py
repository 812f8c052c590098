"""The web UI end to end: a real `whybox ui` server and Debian's Chromium driven by Playwright."""
import os
import re
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


def start_ui(home: Path, port: int, *args: str) -> subprocess.Popen:
    """`whybox ui` in its own process on 127.0.0.1:port, once it accepts connections. A port just
    freed by a stopped server may be held for a moment, so a refused start is tried again."""
    env = os.environ.copy()
    env["WHYBOX_HOME"] = str(home)
    command = [shutil.which("whybox") or str(Path(sys.executable).parent / "whybox"), "ui", "--port", str(port), *args]
    for _ in range(30):
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc
            except OSError:
                time.sleep(0.5)
        if proc.poll() is None:
            stop_ui(proc)
            raise AssertionError(f"whybox ui did not start on port {port} in 120 s")
        output = proc.stdout.read()
        assert "Cannot listen" in output, output
        time.sleep(2)
    raise AssertionError(f"port {port} stayed busy")


def stop_ui(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])


@pytest.fixture(scope="module")
def server(real_workspace):
    port = _free_port()
    proc = start_ui(REAL_HOME, port)
    yield f"http://127.0.0.1:{port}/"
    stop_ui(proc)


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
        browser = launch_chromium(p)
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


SHOTS = Path(os.environ.get("WHYBOX_SHOTS", ARTIFACTS / "ui-keeps"))  # screenshots of each stage


def _ask(page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")


def _turns(store, n: int, conversation_id: str | None = None, timeout: float = 120) -> list:
    """The records of the server's conversation once it has `n` turns (the server writes each turn
    to WHYBOX_HOME/conversations.sqlite when it ends)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ids = [conversation_id] if conversation_id else [cid for cid, _ in store.list()]
        for cid in ids:
            records = store.records(cid)
            if len(records) >= n:
                return records
        time.sleep(0.3)
    raise AssertionError(f"no conversation reached {n} turns")


def _past_titles(page, count: int) -> list[str]:
    """The options of the past-conversations list (opened to read them), once there are `count`."""
    from playwright.sync_api import expect

    page.locator("#past-conversations input").click()
    options = page.locator("li[data-testid='dropdown-option']")
    if count == 0:
        page.wait_for_timeout(1000)  # the list would have opened by now
    expect(options).to_have_count(count, timeout=10_000)
    titles = [options.nth(i).inner_text().replace("✓", "").strip() for i in range(count)]  # ✓: the one shown
    page.locator("#past-conversations input").blur()  # closes the list (a later click opens it again)
    return titles


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (make browser-deps)")
def test_conversations_survive_reload_and_restart(tiny_models, tiny_data, isolated_home):
    """Issue 21: ask about a review, reload, continue with "why?"; restart the server and see the
    conversation again; another browser sees none of it; a clarifying question's buttons run their
    option; a report answer is a download link to the PDF."""
    from playwright.sync_api import expect, sync_playwright

    from agent.memory import ConversationStore

    SHOTS.mkdir(parents=True, exist_ok=True)
    home, port = isolated_home, _free_port()
    args = ("--model", str(tiny_models["causal"]), "--data", str(tiny_data))
    url = f"http://127.0.0.1:{port}/"
    store = ConversationStore(home / "conversations.sqlite")
    proc = start_ui(home, port, *args)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(url)
            expect(page.locator("#question textarea")).to_be_editable(timeout=30_000)  # the page knows its browser
            chat = page.locator("#chat")
            _ask(page, "what does the model predict for review 101?")
            first = _turns(store, 1)
            assert [(s.tool, s.args) for s in first[0].steps] == [("predict", {"id": 101})]
            expect(chat).to_contain_text("for row #101 with probability", timeout=30_000)

            page.reload()  # the conversation comes back, and "why?" resolves against review 101
            expect(chat).to_contain_text("what does the model predict for review 101?", timeout=30_000)
            expect(chat).to_contain_text("for row #101 with probability")  # its answer, as shown before
            expect(chat).to_contain_text("tool: predict")  # and its step
            page.screenshot(path=str(SHOTS / "1-after-reload.png"), full_page=True)
            _ask(page, "why?")
            records = _turns(store, 2)
            assert records[1].steps[0].tool == "attribute" and records[1].steps[0].args["id"] == 101
            heatmap = chat.locator("img[src*='attribution-']").last
            expect(heatmap).to_be_visible(timeout=30_000)
            page.screenshot(path=str(SHOTS / "2-why-after-reload.png"), full_page=True)
            page.close()  # the browser closes its connections before the server stops

            stop_ui(proc)  # a new server process on the same home and port
            proc = start_ui(home, port, *args)
            page = context.new_page()
            page.goto(url)
            chat = page.locator("#chat")
            expect(chat).to_contain_text("what does the model predict for review 101?", timeout=60_000)
            expect(chat.locator("img[src*='attribution-']").last).to_be_visible(timeout=30_000)
            titles = _past_titles(page, 1)
            assert titles[0].startswith("what does the model predict for review 101?"), titles
            page.screenshot(path=str(SHOTS / "3-after-restart.png"), full_page=True)

            _ask(page, "attribute review 101 with deeplift")  # a clarifying question: its choices as buttons
            expect(page.locator("#choice-2")).to_be_visible(timeout=60_000)
            expect(page.locator("#choice-2")).to_have_text("2. attribute with occlusion")
            page.screenshot(path=str(SHOTS / "4-choice-buttons.png"), full_page=True)
            page.locator("#choice-2").click()
            records = _turns(store, 4)
            assert [(s.tool, s.args) for s in records[3].steps] == [("attribute", {"id": 101, "method": "occlusion"})]
            expect(page.locator("#choice-2")).to_be_hidden(timeout=30_000)

            _ask(page, "summarise everything we found in a report")
            records = _turns(store, 5, timeout=180)
            assert records[4].steps[-1].tool == "report" and records[4].steps[-1].status == "done"
            link = chat.locator("a[download]").filter(has_text=".pdf").last
            expect(link).to_be_visible(timeout=60_000)
            page.screenshot(path=str(SHOTS / "5-report-links.png"), full_page=True)
            assert str(home) not in chat.inner_text()  # no server path shown as text
            response = page.request.get(link.get_attribute("href"))
            assert response.ok and response.body()[:5] == b"%PDF-"
            html_link = chat.locator("a[download]").filter(has_text=".html").last
            assert b"<html" in page.request.get(html_link.get_attribute("href")).body()[:2000].lower()

            page.locator("#clear").click()  # a new conversation joins the list; the old one reopens
            _ask(page, "how many reviews are there?")
            expect(chat).to_contain_text("There are 10 rows", timeout=60_000)
            expect(chat).not_to_contain_text("review 101")
            titles = _past_titles(page, 2)
            assert titles[0].startswith("how many reviews are there?"), titles
            page.locator("#past-conversations input").click()
            page.get_by_role("option", name=re.compile("^what does the model predict for review 101")).click()
            expect(chat).to_contain_text("what does the model predict for review 101?", timeout=30_000)
            page.screenshot(path=str(SHOTS / "6-reopened.png"), full_page=True)
            first_id = next(cid for cid, title in store.list() if title.startswith("what does the model"))
            page.locator("#question textarea").click()  # the list loses focus (and sends its value once more)
            page.wait_for_timeout(1500)
            _ask(page, "why?")  # the reopened conversation goes on, from its own state (review 101)
            records = _turns(store, 6, first_id)
            assert records[5].steps[0].tool == "attribute" and records[5].steps[0].args["id"] == 101

            other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()  # another browser
            other.goto(url)
            expect(other.locator("#question textarea")).to_be_editable(timeout=30_000)  # its load event has run
            assert "review 101" not in other.locator("#chat").inner_text()
            assert _past_titles(other, 0) == []
            other.screenshot(path=str(SHOTS / "7-other-browser.png"), full_page=True)
            browser.close()
    finally:
        stop_ui(proc)


EXAMPLE_SHOTS = ARTIFACTS / "ui-examples"


def _example_expectations(workspace) -> dict[str, tuple[list[str], list[str]]]:
    """Each UI example question -> (the tools its answer must run, texts the answer must show),
    computed here from the model and data, so the answer is checked against what was asked."""
    from tools.context import ToolContext
    from tools.registry import run_tool
    from ui.app import EXAMPLES

    ds, table, task = workspace.dataset, workspace.predictions(), workspace.task
    accuracy = sum(table.predicted[r.id] == r.label for r in ds) / len(ds)
    price = [r for r in ds if re.search(r"\bprice\b", r.text, re.I)]
    price_accuracy = sum(table.predicted[r.id] == r.label for r in price) / len(price)
    battery = task.labels[int(task.predict_proba(["the battery died after a day"])[0][0].argmax())]
    lens = run_tool(ToolContext(workspace), "logit_lens", {"text": "The capital of France is"}).output
    expected = {
        "How many reviews are there?": (["count"], [f"There are {len(ds)} rows"]),
        "What's the accuracy?": (["score"], [f"accuracy on all rows is {accuracy:.3f}"]),
        "Show me 3 mistakes": (["mistakes"], ["The 3 most confident mistakes"]),
        "Why did it predict review 12 that way?": (["attribute"], ["for review #12", "Faithfulness", "Verdict"]),
        "What does the model predict for 'the battery died after a day'?":
            (["predict"], [f"predicts {battery} for \"the battery died after a day\""]),
        "How accurate is it on reviews that mention price?":
            (["score"], [f"accuracy on rows mentioning \"price\" is {price_accuracy:.3f}", f"of {len(price)} rows"]),
        # framing raw: the text as written, not inside the classification prompt (tools.md logit_lens)
        "What would each layer predict next for 'The capital of France is'?":
            (["logit_lens"], ["On \"The capital of France is\" (plain text", f"next token is {lens['answer']!r}"]),
        "Can I trust attention weights as explanations?": (["explain_concept"], ["Attention as explanation", "Jain"]),
        "What can you do?": (["capabilities"], ["(attribute)", "(logit_lens)",
                                                "About explanation methods and ideas:"]),
    }
    assert sorted(expected) == sorted(EXAMPLES), "every example question needs its check"
    assert lens["answer"] == " Paris", lens["answer"]  # what the README promises for this example
    return expected


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (make browser-deps)")
def test_every_example_question_gets_the_answer_it_asks_for(server, real_workspace):
    """Issue 18: each example of the side panel, clicked, runs the tool it asks for and answers about
    what it names (review 12, the battery text, 'price', 'The capital of France is' read as plain
    text); the figure's caption sits above the figure, not over its title."""
    from playwright.sync_api import expect, sync_playwright

    from agent.memory import ConversationStore
    from ui.app import EXAMPLES

    expected = _example_expectations(real_workspace)
    store = ConversationStore(REAL_HOME / "conversations.sqlite")
    EXAMPLE_SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server)
        expect(page.locator("#question textarea")).to_be_editable(timeout=60_000)
        chat = page.locator("#chat")
        for number, question in enumerate(EXAMPLES, 1):
            tools, texts = expected[question]
            page.locator("#clear").click()  # each example in a conversation of its own
            expect(chat).not_to_contain_text("tool:", timeout=30_000)
            page.get_by_role("button", name=re.compile("^" + re.escape(question[:40]))).first.click()
            expect(page.locator("#question textarea")).to_have_value(question, timeout=10_000)
            expect(page.locator("#question textarea")).to_be_editable(timeout=10_000)  # the example can be edited
            page.locator("#ask").click()
            for text in texts:
                expect(chat).to_contain_text(text, timeout=240_000)
            cid = next(cid for cid, title in store.list() if title == question)
            record = _turns(store, 1, cid)[0]
            assert [s.tool for s in record.steps] == tools and all(s.status == "done" for s in record.steps), (
                question, [(s.tool, s.args, s.status, s.error) for s in record.steps])
            if tools == ["attribute"]:
                assert record.steps[0].args.get("id") == 12
                figure = chat.locator("img[src*='attribution-']").last
                expect(figure).to_be_visible(timeout=60_000)
                figure.scroll_into_view_if_needed()
                caption = chat.locator("label[data-testid='block-label']").last
                expect(caption).to_contain_text("attribute figure")
                above, image = caption.bounding_box(), figure.bounding_box()
                assert above["y"] + above["height"] <= image["y"] + 1, (above, image)  # the title is not covered
            if tools == ["logit_lens"]:
                assert record.steps[0].output["prompt"] == "plain text"  # framing raw
            page.wait_for_timeout(500)
            page.screenshot(path=str(EXAMPLE_SHOTS / f"{number}-{tools[0]}.png"))
        browser.close()
