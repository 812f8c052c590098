"""Conversations persist in SQLite (`WHYBOX_HOME/conversations.sqlite`) so `whybox chat --resume ID`
continues one. A turn is one RunRecord, written in a single transaction (nothing half-written).
A database that SQLite cannot read is moved aside (kept, and named in a message) and a fresh one
is started, so one corrupt file does not lock the user out of every chat (issue 22).

A conversation may have an `owner`: the web UI's per-browser id (issue 21), so a browser lists and
reopens its own conversations and no one else's; the CLI's conversations have none."""
from __future__ import annotations

import sqlite3
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path

from agent.records import RunRecord
from tools.errors import InputError

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, created REAL NOT NULL, title TEXT NOT NULL DEFAULT '',
                                          owner TEXT);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    n INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (conversation_id, n)
);
"""


class ConversationStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.moved_aside: Path | None = None  # where an unreadable database was kept, if one was
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self.moved_aside = self._move_aside()
            print(f"whybox: the conversations database {self.path} could not be read ({exc}); it was kept as "
                  f"{self.moved_aside} and a new one started.", file=sys.stderr)
            self._open()

    def _open(self) -> None:
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
            if "owner" not in columns:  # a database from before issue 21
                db.execute("ALTER TABLE conversations ADD COLUMN owner TEXT")
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check[0] if check else 'no answer'}")

    def _move_aside(self) -> Path:
        """Rename the database (and its WAL files) to `<name>.corrupt-<UTC time>`, never deleting it."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        self.path.rename(target)
        for suffix in ("-wal", "-shm"):
            extra = self.path.with_name(self.path.name + suffix)
            if extra.exists():
                extra.rename(target.with_name(target.name + suffix))
        return target

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def new(self, owner: str | None = None) -> str:
        conversation_id = uuid.uuid4().hex[:12]
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO conversations (id, created, owner) VALUES (?, ?, ?)",
                       (conversation_id, time.time(), owner))
        return conversation_id

    def owner(self, conversation_id: str) -> str | None:
        """Who the conversation belongs to (a browser id), None for the CLI's or an unknown id."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT owner FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return row[0] if row else None

    def owned(self, owner: str) -> list[tuple[str, str, float]]:
        """One owner's conversations, newest first: (id, title, created as a Unix time)."""
        with closing(self._connect()) as db:
            return db.execute("SELECT id, title, created FROM conversations WHERE owner = ? ORDER BY created DESC",
                              (owner,)).fetchall()

    def exists(self, conversation_id: str) -> bool:
        with closing(self._connect()) as db:
            return db.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone() is not None

    def append(self, conversation_id: str, record: RunRecord) -> int:
        with closing(self._connect()) as db, db:
            n = db.execute("SELECT COUNT(*) FROM turns WHERE conversation_id = ?", (conversation_id,)).fetchone()[0]
            db.execute("INSERT INTO turns (conversation_id, n, record) VALUES (?, ?, ?)",
                       (conversation_id, n, record.model_dump_json()))
            if n == 0:
                db.execute("UPDATE conversations SET title = ? WHERE id = ?", (record.question[:80], conversation_id))
        return n

    def records(self, conversation_id: str) -> list[RunRecord]:
        if not self.exists(conversation_id):
            known = ", ".join(c for c, _ in self.list()[:5]) or "none yet"
            raise InputError(f"There is no conversation {conversation_id!r}.", f"Recent conversations: {known}.")
        with closing(self._connect()) as db:
            rows = db.execute("SELECT record FROM turns WHERE conversation_id = ? ORDER BY n",
                              (conversation_id,)).fetchall()
        return [RunRecord.model_validate_json(r[0]) for r in rows]

    def list(self) -> list[tuple[str, str]]:
        with closing(self._connect()) as db:
            return db.execute("SELECT id, title FROM conversations ORDER BY created DESC").fetchall()
