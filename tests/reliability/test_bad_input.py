"""Issue 22, item 5 (part): bad input from the Python API and the CLI gets one clear line, never
a traceback: a non-text question, lone surrogates (non-UTF-8 argv), JSON nested 100k deep."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tools.base import MAX_JSON_DEPTH, json_depth
from tools.errors import InputError


def test_a_question_that_is_not_text_is_refused(tiny_assistant):
    with pytest.raises(InputError, match=r"^A question is text, not int\.$"):
        tiny_assistant.plan(123)  # type: ignore[arg-type]


def test_lone_surrogates_are_refused_in_plan_and_ask(tiny_assistant):
    for call in (tiny_assistant.plan, tiny_assistant.ask):
        with pytest.raises(InputError, match="not valid Unicode text"):
            call("show review \udcff100")


def test_json_depth_counts_brackets_outside_strings():
    assert json_depth('{"a": [1, {"b": "[[[\\"{\\\\"}]}') == 3
    assert json_depth('"[[[["') == 0 and json_depth("[]") == 1
    assert json_depth("[" * 100000 + "]" * 100000) == 100000


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], capture_output=True, timeout=120, env=env)


def test_the_cli_refuses_deep_json_and_non_utf8_argv_in_one_line(tiny_data, tiny_models):
    deep = "[" * 50000 + "]" * 50000  # one argv string holds at most 128 KiB
    done = _cli("tool", "show", "--json", '{"where": ' + deep + "}", "--data", str(tiny_data))
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err[-2000:]
    assert f"--json nests deeper than {MAX_JSON_DEPTH} levels" in err
    done = subprocess.run([sys.executable, "-m", "ui.cli", "plan", b"show review \xff100", "--data", str(tiny_data)],
                          capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 2 and "Traceback" not in err, err[-2000:]
    assert "not valid Unicode text" in err


@pytest.mark.parametrize("flag, value, message", [
    ("--labels", "a,a", "The label 'a' is given twice in 'a,a'. Name each label once"),
    ("--label-names", "0=x,0=y", "The label '0' is named twice in '0=x,0=y'. Give each label one name."),
])
def test_a_label_given_twice_is_refused_in_one_line(flag, value, message, tmp_path):
    # issue 22: "--labels a,a" was accepted
    env = {**os.environ, "WHYBOX_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "ui.cli", "plan", flag, value, "accuracy?"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
