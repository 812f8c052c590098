"""Issue 22: 6 sessions x 8 questions through `gradio_client` against one real server on a tiny
model give the answers the same questions get asked one session at a time, with no answer (or
label edit) leaking from one session into another and no raw exception. Before the model lock
covered the UI's turns, 12 of 96 answers were raw Python exceptions."""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from gradio_client import Client

from tests.reliability.conftest import running_ui
from tools.settings import Settings

SESSIONS = 6
LABELS = ["positive", "positive", "positive", "negative", "negative", "negative", "positive", "negative",
          "positive", "negative"]  # tiny_data's gold labels, ids 100..109


def questions(k: int) -> list[str]:
    """Session k's turns: its own label edit, then questions whose answers depend on it or not."""
    other = "negative" if LABELS[k] == "positive" else "positive"
    return [
        f"change the label of review {100 + k} to {other}",
        "how many reviews are labelled positive?",
        f"show review {100 + k}",
        "what does the model predict for 'the food was good'?",
        f"why did it predict review {101 + k} that way? use gradient x input",
        "what would each layer predict next for 'the movie was'?",
        "how many reviews are there?",
        "show me 2 mistakes",
    ]


def _parts(message: dict) -> tuple[str, list[str]]:
    content = message["content"]
    if isinstance(content, str):
        return content, []
    text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
    files = [_digest(p.get("value")) for p in content if p.get("type") != "text"]
    return text, files


def _digest(path: object) -> str:
    """A figure by its pixels (file names carry a digest of the output, which holds timings)."""
    return hashlib.sha256(Path(str(path)).read_bytes()).hexdigest()[:16] if path else ""


def _turn(client: Client, question: str, history: list) -> tuple[list, tuple]:
    """Ask; the answer is what the turn added after the question (steps' titles, narration, figures)."""
    _, new = client.predict(question, history, api_name="/ask")
    start = max(i for i, m in enumerate(new) if m["role"] == "user")
    added = []
    for message in new[start + 1:]:
        text, files = _parts(message)
        title = (message.get("metadata") or {}).get("title")
        added.append((title, text if title is None else "", tuple(files)))
    return new, tuple(added)


def _session(url: str, k: int) -> tuple[list[tuple], list[str]]:
    client = Client(url, verbose=False)
    history: list = []
    answers = []
    for question in questions(k):
        history, answer = _turn(client, question, history)
        answers.append(answer)
    asked = [_parts(m)[0] for m in history if m["role"] == "user"]
    return answers, asked


@pytest.mark.slow
def test_six_concurrent_sessions_answer_as_sequential_ones(tiny_models, tiny_data, tmp_path):
    def settings(name: str) -> Settings:  # each server its own home: no answer comes from the other's cache
        return Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data), home=str(tmp_path / name))

    def warm(url: str) -> None:
        """The model loaded and the data predicted before the sessions start, on both servers:
        `show` adds a row's prediction once the model is loaded, by whichever session loaded it,
        so without this the answers would depend on which session got there first."""
        Client(url, verbose=False).predict("what's the accuracy?", [], api_name="/ask")

    with running_ui(settings("sequential")) as url:
        warm(url)
        expected = [_session(url, k)[0] for k in range(SESSIONS)]

    results: list = [None] * SESSIONS
    errors: list[BaseException] = []
    barrier = threading.Barrier(SESSIONS)

    def run(k: int) -> None:
        try:
            barrier.wait()
            results[k] = _session(url, k)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    with running_ui(settings("concurrent")) as url:
        warm(url)
        threads = [threading.Thread(target=run, args=(k,)) for k in range(SESSIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(600)
    assert not errors, f"{len(errors)} sessions failed, first: {errors[0]!r}"
    wrong = [(k, i) for k in range(SESSIONS) for i in range(8) if results[k][0][i] != expected[k][i]]
    assert not wrong, (f"{len(wrong)} of 48 answers differ from the sequential run, first: {wrong[0]}: "
                       f"{results[wrong[0][0]][0][wrong[0][1]]} != {expected[wrong[0][0]][wrong[0][1]]}")
    print(f"concurrency: {SESSIONS} sessions x 8 questions: {len(errors)} exceptions, {len(wrong)} answers differ")
    for k in range(SESSIONS):
        answers, asked = results[k]
        assert asked == questions(k)  # each session's history holds its own questions only
        positives = LABELS.count("positive") + (-1 if LABELS[k] == "positive" else 1)
        assert answers[1][-1][1].startswith(f"{positives} of the 10 rows")  # its own edit, nobody else's
        assert f"review {100 + k}" in answers[2][-1][1] or f"{100 + k}" in answers[2][-1][1]
        assert any(files for _, _, files in answers[4])  # the heatmap came back
        texts = " ".join(text for answer in answers for _, text, _ in answer)
        assert "Traceback" not in texts and "Error:" not in texts and "I could not answer" not in texts
