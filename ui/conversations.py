"""The web UI's conversations, kept per browser (issue 21): they survive a page reload and a
server restart, and a browser lists and reopens its own conversations only.

A browser is known by a random id that the page keeps in `gr.BrowserState` (the browser's
localStorage). The id is the key: whoever holds it sees its conversations, so it is long, random
and never shown. Conversations live in the same SQLite store as the CLI's (`agent.memory`),
with the browser id as their owner. gr.BrowserState encrypts what it stores with a secret sent
to the page; a fresh secret per process would make every browser's id unreadable after a
restart, so the secret is kept in WHYBOX_HOME.
"""
from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

from agent.memory import ConversationStore
from tools.atomic import write_bytes_atomic

STORAGE_KEY = "whybox-browser"  # the localStorage key; fixed so a restarted server finds it again
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{20,64}")
_CONVERSATION_ID = re.compile(r"[0-9a-f]{12}")


def browser_secret(home: Path) -> str:
    """The BrowserState secret of this WHYBOX_HOME, made once (random) and kept in a file."""
    path = Path(home) / "ui-browser-secret"
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if secret:
            return secret
    secret = secrets.token_urlsafe(24)
    write_bytes_atomic(path, secret.encode("utf-8"))
    path.chmod(0o600)
    return secret


def empty_saved() -> dict[str, Any]:
    """What a browser that has never been here keeps: no id yet, no current conversation."""
    return {"browser": None, "current": None}


def conversation_title(title: str, created: float) -> str:
    """A past conversation as the list shows it: its first question and when it started."""
    return f"{title} · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(created))}"


class BrowserConversations:
    """Which conversations belong to which browser, over the SQLite conversation store."""

    def __init__(self, home: Path) -> None:
        self.store = ConversationStore(Path(home) / "conversations.sqlite")

    def saved(self, saved: Any) -> dict[str, Any]:
        """A browser's saved state made safe to use: a well-formed id (a new one when it has none
        or sent something else) and a current conversation only if it is this browser's."""
        browser = saved.get("browser") if isinstance(saved, dict) else None
        if not isinstance(browser, str) or not _BROWSER_ID.fullmatch(browser):
            return {"browser": secrets.token_urlsafe(24), "current": None}
        current = saved.get("current")
        return {"browser": browser, "current": current if self.owns(browser, current) else None}

    def owns(self, browser: str, conversation_id: Any) -> bool:
        return (isinstance(conversation_id, str) and bool(_CONVERSATION_ID.fullmatch(conversation_id))
                and self.store.owner(conversation_id) == browser)

    def start(self, browser: str | None) -> str:
        """A new conversation of this browser (None: an API client's, which no browser lists)."""
        return self.store.new(owner=browser)

    def choices(self, browser: str) -> list[tuple[str, str]]:
        """(title, id) of this browser's conversations that have a question, newest first, for the
        past-conversations list (a page opens an empty one, which joins the list once asked in)."""
        return [(conversation_title(title, created), cid) for cid, title, created in self.store.owned(browser)
                if title]
