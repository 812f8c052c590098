"""Issue 22: paths a remote user names (the UI's "Model and data" switch and column preview, MCP
tool arguments) are confined to the working directory, WHYBOX_HOME and --data-dir folders, with
symlinks and `..` resolved, and one message that says nothing about the path (the same whether
it exists or not, no column names). Before, the switch read any CSV the server could read."""
from __future__ import annotations

from pathlib import Path

import pytest

from tools.errors import InputError
from tools.paths import HINT, REFUSED, PathRoots

SECRET_COLUMNS = "id,text,label,api_password"


@pytest.fixture
def tree(tmp_path, isolated_home):
    """data/ (a --data-dir) with a usable file and links out of it; outside/ with a secret."""
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    secret = outside / "secret.csv"
    secret.write_text(f"{SECRET_COLUMNS}\n0,hunter2 is the password,negative\n")
    (data / "ok.csv").write_text("id,text,label\n0,the food was good,positive\n1,bad service,negative\n")
    (data / "link.csv").symlink_to(secret)
    (data / "folder-link").symlink_to(outside, target_is_directory=True)
    return {"data": data, "outside": outside, "secret": secret}


def _refusal(roots: PathRoots, spec: str) -> str:
    with pytest.raises(InputError) as caught:
        roots.confine(spec, "data path")
    return str(caught.value)


def test_paths_resolve_into_the_roots_or_get_one_message(tree, tiny_settings):
    roots = PathRoots.for_server(tiny_settings, [tree["data"]])
    assert roots.confine(str(tree["data"] / "ok.csv")) == str((tree["data"] / "ok.csv").resolve())
    assert roots.confine(str(tree["data"] / "not-yet.csv")).endswith("not-yet.csv")  # inside: the loader says
    assert roots.confine("demo") == "demo" and roots.confine("smollm2") == "smollm2"
    assert roots.confine(tiny_settings.data) == tiny_settings.data  # the server's own data, wherever it is
    assert roots.confine(str(tiny_settings.home / "x.csv")).startswith(str(tiny_settings.home.resolve()))
    assert roots.confine("README.md") == str((Path.cwd() / "README.md").resolve())
    refused = {
        "existing": _refusal(roots, str(tree["secret"])),
        "missing": _refusal(roots, str(tree["outside"] / "nothing-here.csv")),
        "dotdot": _refusal(roots, str(tree["data"] / ".." / "outside" / "secret.csv")),
        "file symlink": _refusal(roots, str(tree["data"] / "link.csv")),
        "folder symlink": _refusal(roots, str(tree["data"] / "folder-link" / "secret.csv")),
        "etc": _refusal(roots, "/etc/passwd"),
        "nul": _refusal(roots, "bad\x00name.csv"),
        "home tilde": _refusal(roots, "~root/.bashrc"),
    }
    # the same words whether the path exists or not, whatever the trick
    assert set(refused.values()) == {f"{REFUSED.format(what='data path')} {HINT}"}, refused
    message = refused["existing"]
    assert "secret" not in message and "api_password" not in message and "outside" not in message


def test_a_missing_data_dir_is_refused(tiny_settings, tmp_path):
    with pytest.raises(InputError, match="--data-dir .*nope is not a folder"):
        PathRoots.for_server(tiny_settings, [tmp_path / "nope"])


def test_the_ui_switch_and_column_preview_refuse_files_outside_the_roots(tree, tiny_settings):
    from gradio_client import Client

    from tests.reliability.conftest import running_ui

    with running_ui(tiny_settings, data_dirs=(str(tree["data"]),)) as url:
        client = Client(url, verbose=False)
        messages = []
        for spec in (tree["secret"], tree["outside"] / "missing.csv", tree["data"] / "link.csv",
                     tree["data"] / ".." / "outside" / "secret.csv"):
            _, _, message = client.predict("", str(spec), "", "", "", api_name="/switch")
            messages.append(message)
            _, _, note = client.predict(str(spec), api_name="/columns")
            messages.append(note.replace("Cannot read the columns: ", "Could not switch: "))
        assert len(set(messages)) == 1, messages
        assert messages[0].startswith("Could not switch: That data path is not in a folder this server may read")
        assert "WHYBOX\\_HOME" in messages[0]  # shown as text (escaped Markdown), like every error here
        assert not any(word in messages[0] for word in ("api", "password", "secret", "outside", "missing"))
        _, _, message = client.predict(str(tree["outside"]), "", "", "", "", api_name="/switch")  # a model path
        assert message.startswith("Could not switch: That model path is not in a folder")
        _, history = client.predict("show review 0", [], api_name="/ask")
        assert "hunter2" not in str(history)  # still on the server's own data
        text_box, label_box, note = client.predict(str(tree["data"] / "ok.csv"), api_name="/columns")
        assert note == "Columns: id, text, label."  # inside a --data-dir: works as before
        _, _, message = client.predict("", str(tree["data"] / "ok.csv"), "", "", "", api_name="/switch")
        assert message.startswith("Switched to ") and message.endswith(" on ok.csv.")


def test_mcp_tool_arguments_naming_files_are_confined(tree, tiny_settings):
    pytest.importorskip("mcp")
    from ui.mcp_server import WhyboxMCP

    server = WhyboxMCP(tiny_settings, (str(tree["data"]),))
    results = [server.call("explain_neuron", {"layer": 0, "neuron": 1, "files": [str(path)]})
               for path in (tree["secret"], tree["outside"] / "missing.txt", tree["data"] / "link.csv")]
    texts = {r.content[0].text for r in results}
    assert all(r.is_error for r in results) and len(texts) == 1, texts
    assert texts.pop().startswith("That file in `files` is not in a folder this server may read")
    assert not server.assistant.workspace.model_loaded  # refused before any work
