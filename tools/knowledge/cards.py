"""Knowledge cards: Markdown files with YAML front matter under `prompts/cards/` (package data).

A card is the unit of knowledge whybox may state about a method, metric or tool: a title,
aliases (other names and phrasings people use), the tools it relates to, its main caveat, and its
references (authors, year, venue). `explain_concept` answers from cards, and other tools append
their method's caveat from here, so there is one source for each claim.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

REQUIRED = ("title", "aliases", "kind", "tools", "caveat", "references")
KINDS = ("tool", "method", "concept", "session")
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.S)


class CardError(ValueError):
    """A card file that does not follow the format (a bug in the package data)."""


@dataclass(frozen=True)
class Card:
    id: str
    title: str
    aliases: tuple[str, ...]
    kind: str
    tools: tuple[str, ...]
    caveat: str
    references: tuple[str, ...]
    body: str
    paragraphs: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        return self.paragraphs[0] if self.paragraphs else ""

    @property
    def source(self) -> str:
        """The reference a caveat is credited to: the card's first one."""
        return self.references[0] if self.references else ""

    @property
    def short_source(self) -> str:
        """'Jain & Wallace (2019), NAACL'-style short form of the first reference."""
        return short_reference(self.source)


def short_reference(reference: str) -> str:
    """'Surname, I., Other, J. & Third, K. (2019). Title. Venue.' -> 'Surname et al. (2019), Venue'."""
    m = re.match(r"(?P<authors>.+?)\s*\((?P<year>\d{4})\)\.\s*(?P<rest>.+)$", reference.strip())
    if not m:
        return reference
    surnames = re.findall(r"([^,&]+?),\s*(?:[A-Z][a-z]?\.[\s-]*)+", m["authors"])
    surnames = [s.strip() for s in surnames] or [m["authors"].strip()]
    if "et al" in m["authors"] or len(surnames) > 2:
        who = f"{surnames[0]} et al."
    else:
        who = " & ".join(surnames)
    rest = m["rest"].rstrip(". ")
    parts = re.split(r"(?<=[.?!])\s+", rest)
    venue = parts[-1] if len(parts) > 1 else ""
    venue = re.sub(r"\s+\d+(?:\(\d+(?:/\d+)?\))?$", "", venue)
    return f"{who} ({m['year']}), {venue}" if venue else f"{who} ({m['year']})"


def parse_card(card_id: str, text: str) -> Card:
    m = _FRONT_MATTER.match(text.replace("\r\n", "\n"))
    if not m:
        raise CardError(f"card {card_id}: no front matter")
    meta = yaml.safe_load(m.group(1)) or {}
    missing = [k for k in REQUIRED if not meta.get(k)]
    if missing:
        raise CardError(f"card {card_id}: missing {', '.join(missing)}")
    if meta["kind"] not in KINDS:
        raise CardError(f"card {card_id}: kind must be one of {KINDS}")
    body = m.group(2).strip()
    paragraphs = tuple(p.strip() for p in re.split(r"\n\s*\n", body) if p.strip())
    return Card(
        id=card_id, title=str(meta["title"]), aliases=tuple(map(str, meta["aliases"])), kind=meta["kind"],
        tools=tuple(map(str, meta["tools"])), caveat=str(meta["caveat"]),
        references=tuple(map(str, meta["references"])), body=body, paragraphs=paragraphs,
    )


def card_files(folder: Path | None = None) -> list[tuple[str, str]]:
    """(id, text) of every card, sorted by id."""
    if folder is not None:
        return [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.md"))]
    root = resources.files("prompts").joinpath("cards")
    entries = sorted((e for e in root.iterdir() if e.name.endswith(".md")), key=lambda e: e.name)
    return [(e.name[:-3], e.read_text(encoding="utf-8")) for e in entries]


def load_cards(folder: Path | None = None) -> dict[str, Card]:
    return {card_id: parse_card(card_id, text) for card_id, text in card_files(folder)}


@lru_cache(maxsize=1)
def packaged_cards() -> dict[str, Card]:
    return load_cards()


def cards_hash(cards: dict[str, Card]) -> str:
    """Content hash of a card set: the store is rebuilt when it changes."""
    digest = hashlib.sha256()
    for card_id in sorted(cards):
        c = cards[card_id]
        digest.update(repr((c.id, c.title, c.aliases, c.kind, c.tools, c.caveat, c.references, c.body)).encode())
    return digest.hexdigest()[:16]


def caveat(card_id: str) -> dict[str, str] | None:
    """A method's or tool's main caveat and its source, for other tools' narrations."""
    card = packaged_cards().get(card_id)
    if card is None:
        return None
    return {"text": card.caveat, "source": card.short_source, "card": card.id}
