"""Issue 22, item 5: `whybox report --out` naming an existing file, and non-UTF-8 bytes in any
argument, get one clear line (exit 2) before any work, never a traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from agent.reports.builder import report_folder
from tools.errors import InputError


def _cli(*args, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "WHYBOX_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, timeout=120, env=env)


def test_report_out_onto_an_existing_file_is_refused_before_any_work(tiny_models, tiny_data, tmp_path):
    existing = tmp_path / "report.html"
    existing.write_text("keep me")
    done = _cli("report", "--id", "100", "--out", str(existing), "--model", str(tiny_models["causal"]),
                "--data", str(tiny_data), home=tmp_path / "home")
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err[-2000:]
    assert err == (f"whybox: --out {existing} is a file; it must be a folder (the report's HTML and PDF go into it). "
                   "Give a folder, e.g. --out whybox-reports.\n")
    assert existing.read_text() == "keep me"
    assert not (tmp_path / "home" / "cache").exists()  # refused before anything ran


def test_report_folders_that_cannot_be_made_are_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match=r"^Cannot create the report folder .*file/sub: Not a directory\.$"):
        report_folder(tmp_path / "file" / "sub")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere
        with pytest.raises(InputError, match="^Cannot write into the report folder .*locked: permission denied"):
            report_folder(locked)
    assert report_folder(tmp_path / "new" / "reports").is_dir()


@pytest.mark.parametrize("args, option", [
    (["report", "--text", b"bad \xff text"], "--text"),
    (["ask", "--data", b"/tmp/\xff.csv", "how many?"], "--data"),
    (["tool", "show", "--json", b'{"text": "\xfe"}'], "--json"),
])
def test_non_utf8_bytes_in_any_argument_are_one_line(args, option, tmp_path):
    done = _cli(*args, home=tmp_path)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err[-2000:]
    assert err.startswith(f"whybox: The value of {option} is not valid Unicode text")
    assert len(err.strip().splitlines()) == 1
