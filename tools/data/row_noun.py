"""What a dataset calls its rows ("review", "tweet", ...), so that answers say "tweet #3" for a file
of tweets and "row #3" when the data does not say (issue 18: every dataset's rows were "review #5").

Where the noun comes from, first match wins:
- the bundled demo data: 218 short reviews, so "review";
- the data's own metadata: a `row_noun` key, or a description naming what the rows are ("A
  collection of 14,100 tweets annotated for offence" -> "tweet"). Metadata is read from a
  `datasets` save_to_disk folder's dataset_info.json, from the top-level object of a JSON file
  ({"description": ..., "data": [...]}), or from a sidecar `<file>.meta.json` next to any file;
- otherwise "row". Nothing is guessed from the file name or the texts.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DEFAULT = "row"
DEMO = "review"

# Plural nouns a dataset description uses for its rows, and their singular.
_KNOWN = {
    "reviews": "review", "tweets": "tweet", "posts": "post", "comments": "comment", "sentences": "sentence",
    "articles": "article", "headlines": "headline", "questions": "question", "messages": "message",
    "emails": "email", "documents": "document", "dialogues": "dialogue", "dialogs": "dialog",
    "utterances": "utterance", "abstracts": "abstract", "paragraphs": "paragraph", "tickets": "ticket",
    "claims": "claim", "titles": "title", "queries": "query", "answers": "answer", "texts": "text",
}
_KNOWN_RE = re.compile(r"\b(" + "|".join(_KNOWN) + r")\b", re.I)
_NOUN = re.compile(r"^[a-z][a-z -]{0,30}$")


def noun_from_metadata(meta: Any) -> str | None:
    """The singular row noun a metadata mapping states or describes, else None."""
    if not isinstance(meta, dict):
        return None
    explicit = meta.get("row_noun")
    if isinstance(explicit, str) and _NOUN.match(explicit.strip().lower()):
        return explicit.strip().lower()
    description = meta.get("description")
    if isinstance(description, str) and (m := _KNOWN_RE.search(description)):
        return _KNOWN[m.group(1).lower()]
    return None


def row_noun(path: Path, demo: bool = False) -> str:
    """The noun for the rows of the data at `path` (see the module docstring)."""
    if demo:
        return DEMO
    for meta in _metadata(path):
        if noun := noun_from_metadata(meta):
            return noun
    return DEFAULT


def _metadata(path: Path) -> list[Any]:
    found: list[Any] = []
    sidecar = path.with_name(path.name + ".meta.json")
    candidates = [sidecar]
    if path.is_dir():
        candidates.append(path / "dataset_info.json")
    for candidate in candidates:
        found.append(_read_json(candidate))
    if path.is_file() and path.suffix.lower() == ".json" and path.stat().st_size < 50_000_000:
        top = _read_json(path)
        if isinstance(top, dict):
            found.append(top)
    return found


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError, RecursionError):
        return None
