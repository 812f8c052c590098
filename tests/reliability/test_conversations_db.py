"""Issue 22, item 4: a conversations database SQLite cannot read is moved aside (kept, named in
the message) and a fresh one is used; it no longer locks the user out of every chat."""
from __future__ import annotations

from agent.memory import ConversationStore
from agent.records import RunRecord


def test_a_corrupt_database_is_kept_aside_and_a_fresh_one_started(tmp_path, capsys):
    path = tmp_path / "conversations.sqlite"
    garbage = b"this is not a database\x00" * 200
    path.write_bytes(garbage)
    store = ConversationStore(path)
    kept = store.moved_aside
    assert kept is not None and kept.parent == tmp_path and kept.name.startswith("conversations.sqlite.corrupt-")
    assert kept.read_bytes() == garbage  # kept, not deleted
    message = capsys.readouterr().err
    assert str(kept) in message and "a new one started" in message and "Traceback" not in message
    conversation = store.new()
    store.append(conversation, RunRecord(question="how many reviews?", narration="10"))
    again = ConversationStore(path)  # the fresh database opens cleanly from now on
    assert again.moved_aside is None
    assert [r.question for r in again.records(conversation)] == ["how many reviews?"]


def test_a_second_corruption_gets_its_own_name(tmp_path):
    path = tmp_path / "conversations.sqlite"
    kept = []
    for text in (b"first bad file" * 100, b"second bad file" * 100):
        path.write_bytes(text)
        kept.append(ConversationStore(path).moved_aside)
    assert kept[0] != kept[1] and [p.read_bytes()[:6] for p in kept] == [b"first ", b"second"]


def test_the_assistant_starts_a_chat_over_a_corrupt_database(tiny_assistant):
    from agent import Assistant

    home = tiny_assistant.settings.home
    home.mkdir(parents=True, exist_ok=True)
    (home / "conversations.sqlite").write_bytes(b"not a database" * 100)
    assistant = Assistant(tiny_assistant.settings, quiet=True, persist=True)
    record = assistant.ask("how many reviews are there?")
    assert "10" in record.narration
    assert len(list(home.glob("conversations.sqlite.corrupt-*"))) == 1
    assert assistant.store is not None and [r.question for r in assistant.store.records(assistant.conversation_id)] \
        == ["how many reviews are there?"]
