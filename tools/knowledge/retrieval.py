"""Card retrieval: dense search in the Chroma store fused with a lexical match on each card's
title and aliases, after correcting typos against the cards' own vocabulary.

Why both: MiniLM embeddings carry paraphrases ("can I trust attention weights") but split a typo
("atention") into unrelated pieces, and short acronyms ("AOPC", "SAE") carry little meaning for
them; the alias match handles exactly those cases. Each card's score is its best chunk's cosine
similarity plus a weighted lexical score; a question is answered only when a card clears the
relevance threshold, otherwise `search` returns nothing relevant and the tool says so.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from functools import cached_property

from tools.knowledge.cards import Card
from tools.knowledge.store import KnowledgeStore

LEXICAL_WEIGHT = 0.35
# A card is relevant when its fused score clears this, or when a whole alias occurs in the question.
RELEVANCE_THRESHOLD = 0.42
_STOP = frozenset(
    "a an and are as at be by can could do does did for from how i if in into is it its me my of on or "
    "our so that the their them then there these they this to was we what when where which who why will "
    "with would you your tell explain mean means meaning about should vs versus than not use using used "
    "get got here whybox".split()
)


def tokens(text: str) -> list[str]:
    return [_stem(t) for t in re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower()) if t not in _STOP]


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


@dataclass
class Hit:
    card_id: str
    title: str
    score: float
    dense: float
    lexical: float
    kind: str = "card"  # "card" | "session"


class Retriever:
    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store
        self.cards: dict[str, Card] = store.cards

    # -- lexical side -------------------------------------------------------------------------
    @cached_property
    def _phrases(self) -> dict[str, list[list[str]]]:
        """Per card, its name phrases as token lists: title (also split at brackets), aliases, id."""
        out = {}
        for card in self.cards.values():
            names = [card.title, card.id.replace("_", " "), *card.aliases]
            names += [part for part in re.split(r"[()]", card.title) if part.strip()]
            out[card.id] = [t for t in (tokens(n) for n in names) if t]
        return out

    @cached_property
    def _idf(self) -> dict[str, float]:
        df: dict[str, int] = {}
        for phrases in self._phrases.values():
            for tok in {t for p in phrases for t in p}:
                df[tok] = df.get(tok, 0) + 1
        n = len(self._phrases)
        return {tok: math.log(1 + n / count) for tok, count in df.items()}

    @cached_property
    def _vocabulary(self) -> list[str]:
        words = set(self._idf)
        for card in self.cards.values():
            words.update(tokens(card.body))
        return sorted(w for w in words if len(w) >= 4)

    @cached_property
    def _english(self) -> frozenset[str]:
        """Whole words of the encoder's WordPiece vocabulary: correctly spelled words ("world")
        are never 'corrected' towards the cards' vocabulary ("word")."""
        from tools.embeddings import minilm_folder

        path = minilm_folder() / "vocab.txt"
        words = path.read_text(encoding="utf-8").split() if path.exists() else []
        return frozenset(w for w in words if w.isalpha()) | _STOP

    def correct(self, query: str) -> str:
        """Replace words that are not in the cards' vocabulary by their closest match (typos)."""
        vocab = set(self._vocabulary)
        english = self._english
        out = []
        for word in re.findall(r"\S+", query):
            core = re.sub(r"[^\w-]", "", word.lower())
            if len(core) >= 4 and _stem(core) not in vocab and core not in english:
                match = difflib.get_close_matches(core, self._vocabulary, n=1, cutoff=0.82)
                if match:
                    word = match[0]
            out.append(word)
        return " ".join(out)

    def lexical(self, query: str) -> dict[str, float]:
        """Per card, the best IDF-weighted share of one of its phrases found in the question."""
        q = set(tokens(query))
        scores = {}
        for card_id, phrases in self._phrases.items():
            best = 0.0
            for phrase in phrases:
                total = sum(self._idf.get(t, 1.0) for t in phrase)
                found = sum(self._idf.get(t, 1.0) for t in phrase if t in q)
                if total:
                    # a lone common word ("word", "label") is weak evidence; a rare one ("AOPC") strong
                    best = max(best, found / total * min(1.0, (total / 5.0) ** 2))
            scores[card_id] = best
        return scores

    # -- fused search ---------------------------------------------------------------------
    def search(self, query: str, k: int = 3) -> list[Hit]:
        corrected = self.correct(query)
        dense = {h.doc_id: h.similarity for h in self.store.query(corrected, n=24)}
        lexical = self.lexical(corrected)
        hits = []
        for card_id, card in self.cards.items():
            d, lex = dense.get(card_id, 0.0), lexical.get(card_id, 0.0)
            hits.append(Hit(card_id, card.title, d + LEXICAL_WEIGHT * lex, d, lex))
        hits.sort(key=lambda h: -h.score)
        return hits[:k]

    @staticmethod
    def is_relevant(hit: Hit) -> bool:
        return hit.score >= RELEVANCE_THRESHOLD or hit.lexical >= 0.999

    def search_session(self, query: str, k: int = 2) -> list[Hit]:
        """The loaded model's and dataset's own documents (no lexical side: they have no aliases)."""
        return [Hit(h.doc_id, h.text.split(". ")[0], h.similarity, h.similarity, 0.0, "session")
                for h in self.store.query(self.correct(query), n=k, collection="session")]
