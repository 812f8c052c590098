"""Issue 22: a kill -9 loop. A model conversion (a tiny GGUF), a knowledge-store build, a report
and a saved chat turn each run in a subprocess, are killed with SIGKILL at a few points, and run
again: the artefacts are whole and equal to an uninterrupted run's, and nothing half-written
(temporary files, staging folders) is left behind."""
from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from tests.reliability.tiny_gguf import write_tiny_gguf

KILL_AT = (0.4, 0.8)  # fractions of the uninterrupted run's time
STORE_KILL_AT = (0.6,)  # the store build's run is the longest (~95 s on a busy machine): one kill
CHAT_INPUT = "how many reviews are there?\nshow review 101\n"


def _run(args: list[str], home: Path, stdin: str | None = None, kill_after: float | None = None) -> float:
    """Run `whybox args` with WHYBOX_HOME=home; killed with SIGKILL after `kill_after` seconds."""
    env = {**os.environ, "WHYBOX_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", *args], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_after is None:
        out, err = proc.communicate(stdin, timeout=300)
        assert proc.returncode == 0, err[-3000:]
        return time.monotonic() - start
    if stdin:
        proc.stdin.write(stdin)
        proc.stdin.flush()
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return time.monotonic() - start


def _leftovers(*roots: Path) -> list[str]:
    """Temporary files and staging folders anywhere under `roots`."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            name = path.name
            if name.endswith(".tmp") or name.startswith(".staging-") or re.match(r"\..+-[0-9a-f]{12}\.", name):
                found.append(str(path.relative_to(root)))
    return found


def _conversion(models_dir: Path) -> dict[str, str]:
    (folder,) = [p for p in models_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _turns(home: Path) -> list[list[str]]:
    """Each saved conversation's answers (conversations that have turns), oldest first."""
    db = sqlite3.connect(home / "conversations.sqlite")
    try:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT c.id, t.record FROM conversations c JOIN turns t ON t.conversation_id = c.id "
                          "ORDER BY c.created, t.n").fetchall()
    finally:
        db.close()
    conversations: dict[str, list[str]] = {}
    for cid, record in rows:
        conversations.setdefault(cid, []).append(re.search(r'"narration":\s*"((?:[^"\\]|\\.)*)"', record).group(1))
    return list(conversations.values())


def _report(out: Path) -> str:
    """The newest report's HTML with its times blanked; every file in `out` must be whole."""
    for pdf in out.glob("*.pdf"):
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF"), pdf.name
    htmls = sorted(out.glob("*.html"))
    for html in htmls:
        assert html.read_text(encoding="utf-8").rstrip().endswith("</html>"), html.name
    text = htmls[-1].read_text(encoding="utf-8")
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?( ?UTC|Z|\+00:00)?", "TIME", text)
    text = re.sub(r"<td>\d+(\.\d+)?</td><td>(True|False)</td>", "<td>SECONDS</td><td>CACHED</td>", text)  # steps
    return re.sub(r"\d+(\.\d+)? ?s\b", "N s", text)


@pytest.mark.slow
def test_killed_runs_leave_whole_artefacts_equal_to_an_uninterrupted_run(tiny_models, tiny_data, tmp_path):
    gguf = write_tiny_gguf(tmp_path / "tiny.gguf")
    model = ["--model", str(tiny_models["causal"]), "--data", str(tiny_data)]
    operations: dict[str, tuple[list[str], str | None, Callable[[Path], object]]] = {
        "conversion": (["tool", "describe_model", "--model", str(gguf), "--data", str(tiny_data)], None,
                       lambda home: _conversion(home / "models")),
        "store": (["ask", "can I trust attention weights as explanations?", *model], None,
                  lambda home: sorted(p.name for p in (home / "knowledge").iterdir())),
        "report": (["report", "--id", "100", "--out", "OUT", *model], None, lambda home: _report(home / "out")),
        "chat": (["chat", *model], CHAT_INPUT, lambda home: _turns(home)[-1]),
    }
    summary = []
    for name, (args, stdin, artefact) in operations.items():
        def argv(home: Path) -> list[str]:
            return [str(home / "out") if a == "OUT" else a for a in args]

        reference_home = tmp_path / f"{name}-reference"
        seconds = _run(argv(reference_home), reference_home, stdin)
        expected = artefact(reference_home)
        for fraction in STORE_KILL_AT if name == "store" else KILL_AT:
            home = tmp_path / f"{name}-killed-{fraction}"
            _run(argv(home), home, stdin, kill_after=seconds * fraction)
            _run(argv(home), home, stdin)  # run again to the end
            assert artefact(home) == expected, f"{name} killed at {fraction:.0%}: artefacts differ"
            assert not _leftovers(home), f"{name} killed at {fraction:.0%}: left {_leftovers(home)}"
            if name == "chat":
                assert all(turns == expected[:len(turns)] for turns in _turns(home))  # the killed one: whole turns
        summary.append(f"{name} {seconds:.1f} s")
    print("kill -9 loop (uninterrupted run times):", ", ".join(summary), "; each killed and rerun: artefacts equal, "
          "no leftovers")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # finished and reaped: no process has this id (until it is reused)


def test_temporary_files_and_staging_of_dead_writers_are_removed(tmp_path):
    from tools.atomic import remove_dead_temps, write_bytes_atomic
    from tools.knowledge.store import remove_dead_staging

    dead, alive = _dead_pid(), os.getpid()
    (tmp_path / "ab").mkdir()
    leftovers = [tmp_path / f".report.html.{dead}.k2j_9x.tmp", tmp_path / "ab" / f".abcd.json.{dead}.zz81.tmp"]
    running = [tmp_path / f".report.pdf.{alive}.q0q0.tmp", tmp_path / "notes.tmp"]  # a live writer's; not ours
    for path in leftovers + running:
        path.write_text("half")
    write_bytes_atomic(tmp_path / "whole.html", b"<html></html>")
    assert remove_dead_temps(tmp_path) == 1 and remove_dead_temps(tmp_path, subfolders=True) == 1
    assert not any(p.exists() for p in leftovers) and all(p.exists() for p in running)
    (tmp_path / f".staging-{dead}-abcd1234").mkdir()
    (tmp_path / f".staging-{alive}-abcd1234").mkdir()
    remove_dead_staging(tmp_path)
    assert sorted(p.name for p in tmp_path.glob(".staging-*")) == [f".staging-{alive}-abcd1234"]
