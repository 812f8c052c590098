"""The CLI contract, run as a user runs it: the installed `whybox` console script."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WHYBOX = shutil.which("whybox") or str(Path(sys.executable).parent / "whybox")


def run(*args, env=None):
    return subprocess.run([WHYBOX, *args], capture_output=True, text=True, timeout=300, env=env or os.environ.copy())


def test_plan_json_prints_one_object_per_question_in_order():
    questions = ["How many reviews are there?", "why did it call review 12 negative?", "and with LIME?"]
    out = run("plan", "--json", *questions)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["question"] for line in lines] == questions
    assert all(set(line) == {"question", "calls", "message"} for line in lines)
    assert lines[2]["calls"] == [{"tool": "attribute", "args": {"id": 12, "method": "lime"}}]


def test_plan_independent_forgets_earlier_turns():
    out = run("plan", "--json", "--independent", "predict review 4", "what does it predict?")
    second = json.loads(out.stdout.splitlines()[1])
    assert second["calls"] == [] and second["message"]


def test_plan_does_not_load_the_model(isolated_home):
    out = run("plan", "--json", "What's the accuracy?", "--model", "/definitely/not/a/model")
    assert out.returncode == 0 and json.loads(out.stdout)["calls"][0]["tool"] == "score"


def test_tool_runs_one_tool_and_prints_json():
    out = run("tool", "count", "--json", '{"where": {"includes": "battery"}}')
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["tool"] == "count" and result["output"]["count"] == 8
    assert result["provenance"]["tool_version"] == "1"


@pytest.mark.parametrize("args, message", [
    (["tool", "nope"], "Unknown tool 'nope'"),
    (["tool", "count", "--json", "{bad"], "not valid JSON"),
    (["tool", "predict", "--json", '{"text": ""}'], "The text is empty"),
    (["tool", "show", "--json", '{"id": 99999}'], "no row with id 99999"),
    (["ask", "how many reviews?", "--data", "/missing.csv"], "Data file not found"),
    (["ask", "how many reviews?", "--text-column", "body"], "Unknown text column 'body'"),
    (["tool", "describe_model", "--model", "/tmp"], "not a Hugging Face model folder"),
])
def test_bad_input_gives_one_line_never_a_traceback(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_ask_json_record_and_text_answer(tiny_models, tiny_data):
    common = ["--model", str(tiny_models["causal"]), "--data", str(tiny_data)]
    out = run("ask", "--json", "How many reviews mention good?", *common)
    record = json.loads(out.stdout)
    assert set(record) >= {"question", "calls", "steps", "narration", "seconds"}
    assert record["steps"][0]["output"]["count"] == 4
    text = run("ask", "What's the accuracy?", *common)
    assert text.returncode == 0 and "accuracy on all rows is" in text.stdout


def test_chat_reads_questions_until_eof(tiny_models, tiny_data):
    proc = subprocess.run([WHYBOX, "chat", "--model", str(tiny_models["causal"]), "--data", str(tiny_data)],
                          input="how many reviews are there?\nshow review 999\n", capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0
    assert "There are 10 rows" in proc.stdout and "no row with id 999" in proc.stdout


def test_agent_imports_without_gradio():
    code = ("import sys\nclass Block:\n    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'gradio' or name.startswith('gradio.'):\n            raise ImportError('blocked')\n"
            "sys.meta_path.insert(0, Block())\nimport agent, ui.cli\nfrom agent import Assistant\n"
            "assert 'gradio' not in sys.modules\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_ask_why_answers_with_heatmap_files_and_a_faithfulness_verdict(tiny_models, tiny_data, isolated_home):
    common = ["--model", str(tiny_models["causal"]), "--data", str(tiny_data)]
    out = run("ask", "Why did the model predict review 103 as negative?", *common)
    assert out.returncode == 0, out.stderr
    # mixed signs list the words for and against; one sign for all words gets the sanity sentence (issue 18)
    assert ("By occlusion, the words that pushed it" in out.stdout
            or ("By occlusion, every word scores" in out.stdout and "Sanity check: all" in out.stdout))
    assert "Baseline: each switched-off word deleted" in out.stdout
    assert "Verdict: the explanation" in out.stdout and "Caveat: Occlusion" in out.stdout
    png = Path(out.stdout.split("Heatmap: ")[1].split(" (and")[0])
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.parent == isolated_home / "figures"
    html = png.with_suffix(".html").read_text()
    assert "wb-heatmap" in html and "battery" in html  # row 103 is "the battery was bad"
    answer = run("ask", "which prompt words drove the answer to 'the food was'?", *common)
    assert answer.returncode == 0, answer.stderr
    assert "the model answers" in answer.stdout and "Heatmap: " in answer.stdout
