"""The persistent Chroma store of knowledge cards under WHYBOX_HOME/knowledge.

- Embeddings come from the packaged MiniLM (`MiniLMEmbedding`, registered with Chroma so a
  reopened collection never falls back to Chroma's default, which downloads a model).
- The store's folder is named by the cards' content hash: new cards give a new folder. It is built
  in a staging folder, with a progress bar, and moved into place only when complete, so a crash
  never leaves a half-written store where one is expected. A store that is missing, incomplete or
  unreadable is rebuilt instead of failing.
- Each card becomes several chunks (title with aliases and summary; each further paragraph;
  caveat), so one strong paragraph can carry a card. The loaded session's model and dataset
  descriptions go into a second collection.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from tools.atomic import pid_alive, remove_dead_temps, replace_dir_atomic, write_json_atomic
from tools.embeddings import default_encoder
from tools.knowledge.cards import Card, cards_hash, packaged_cards
from tools.progress import bar

log = logging.getLogger(__name__)
MARKER = "whybox-store.json"
CARDS = "cards"
SESSION = "session"


def _chroma():
    try:
        import chromadb
        from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
        from chromadb.utils.embedding_functions import register_embedding_function
    except ImportError as exc:  # pragma: no cover - installed by `make setup`
        from tools.errors import ToolUnavailable

        raise ToolUnavailable("The knowledge base needs chromadb.",
                              "Install whybox with the `kb` extra (`make setup`).") from exc
    return chromadb, Documents, EmbeddingFunction, Embeddings, register_embedding_function


_EMBEDDING_CLASS = None


def minilm_embedding():
    """An instance of the registered MiniLM embedding function (the class is made on first use so
    that importing whybox does not import chromadb)."""
    global _EMBEDDING_CLASS
    if _EMBEDDING_CLASS is None:
        chromadb, Documents, EmbeddingFunction, Embeddings, register = _chroma()

        class MiniLMEmbedding(EmbeddingFunction[Documents]):
            def __init__(self) -> None:
                pass

            def __call__(self, input: Documents) -> Embeddings:
                return list(default_encoder().encode(list(input)))

            @staticmethod
            def name() -> str:
                return "whybox-minilm"

            def get_config(self) -> dict:
                return {}

            @staticmethod
            def build_from_config(config: dict) -> "MiniLMEmbedding":
                return MiniLMEmbedding()

            def default_space(self) -> str:
                return "cosine"

            def supported_spaces(self) -> list[str]:
                return ["cosine"]

        try:
            register(MiniLMEmbedding)
        except ValueError:  # already registered by an earlier instance of this module
            pass
        _EMBEDDING_CLASS = MiniLMEmbedding
    return _EMBEDDING_CLASS()


def card_chunks(card: Card) -> list[tuple[str, str]]:
    """(chunk id, text) pairs for one card."""
    head = f"{card.title}. Also called: {', '.join(card.aliases)}. {card.summary}"
    chunks = [(f"{card.id}#0", head)]
    for i, paragraph in enumerate(card.paragraphs[1:], start=1):
        chunks.append((f"{card.id}#{i}", f"{card.title}: {paragraph}"))
    chunks.append((f"{card.id}#caveat", f"{card.title}, caveat: {card.caveat}"))
    return chunks


@dataclass
class ChunkHit:
    doc_id: str  # card id, or a session document id
    similarity: float  # cosine similarity of the best chunk
    text: str
    collection: str


def remove_dead_staging(root: Path) -> None:
    """Staging folders of builds that were killed (SIGKILL runs no cleanup); a running build's stays."""
    for staging in root.glob(".staging-*"):
        pid = staging.name.split("-")[1]
        if staging.is_dir() and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(staging, ignore_errors=True)
    remove_dead_temps(root)


class KnowledgeStore:
    def __init__(self, home: Path, cards: dict[str, Card] | None = None, quiet: bool = True) -> None:
        self.root = Path(home) / "knowledge"
        self.cards = cards if cards is not None else packaged_cards()
        self.hash = cards_hash(self.cards)
        self.path = self.root / f"cards-{self.hash}"
        self.quiet = quiet
        self._client = None
        self._collections: dict[str, object] = {}
        self._indexed: set[str] = set()  # session documents known to be in the store

    # -- opening and building -------------------------------------------------------------
    def _expected_chunks(self) -> int:
        return sum(len(card_chunks(c)) for c in self.cards.values())

    def _is_complete(self) -> bool:
        try:
            marker = json.loads((self.path / MARKER).read_text())
        except (OSError, ValueError):
            return False
        return marker.get("hash") == self.hash and marker.get("chunks") == self._expected_chunks()

    def open(self) -> None:
        if self._client is not None:
            return
        if not self._is_complete():
            self._discard(self.path)
            self._build()
        try:
            self._connect()
            if self._collections[CARDS].count() != self._expected_chunks():
                raise ValueError("chunk count differs from the marker")
        except Exception as exc:  # noqa: BLE001 - any failure to read the store means: rebuild it
            log.warning("knowledge store at %s is unreadable (%s); rebuilding", self.path, exc)
            self.close()
            self._indexed.clear()
            self._discard(self.path)
            self._build()
            self._connect()

    def _connect(self) -> None:
        chromadb = _chroma()[0]
        from chromadb.config import Settings

        self._client = chromadb.PersistentClient(path=str(self.path), settings=Settings(anonymized_telemetry=False))
        ef = minilm_embedding()
        self._collections[CARDS] = self._client.get_collection(CARDS, embedding_function=ef)
        self._collections[SESSION] = self._client.get_or_create_collection(
            SESSION, embedding_function=ef, configuration={"hnsw": {"space": "cosine"}})

    def _build(self) -> None:
        chromadb = _chroma()[0]
        from chromadb.config import Settings

        self.root.mkdir(parents=True, exist_ok=True)
        remove_dead_staging(self.root)
        staging = self.root / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        chunks = [chunk for card in self.cards.values() for chunk in card_chunks(card)]
        client = chromadb.PersistentClient(path=str(staging), settings=Settings(anonymized_telemetry=False))
        try:
            collection = client.create_collection(CARDS, embedding_function=minilm_embedding(),
                                                  configuration={"hnsw": {"space": "cosine"}})
            progress = bar(len(chunks), "indexing knowledge cards", self.quiet)
            for start in range(0, len(chunks), 32):
                batch = chunks[start:start + 32]
                collection.add(ids=[c[0] for c in batch], documents=[c[1] for c in batch],
                               metadatas=[{"card": c[0].split("#")[0]} for c in batch])
                progress.update(len(batch))
            progress.close()
            client.get_or_create_collection(SESSION, embedding_function=minilm_embedding(),
                                            configuration={"hnsw": {"space": "cosine"}})
            write_json_atomic(staging / MARKER, {"hash": self.hash, "chunks": len(chunks)})
        except BaseException:
            client.close()
            shutil.rmtree(staging, ignore_errors=True)
            raise
        client.close()
        if self._is_complete():  # another process finished first
            shutil.rmtree(staging, ignore_errors=True)
        else:
            replace_dir_atomic(staging, self.path)
        for old in self.root.glob("cards-*"):
            if old != self.path:
                shutil.rmtree(old, ignore_errors=True)

    def _discard(self, path: Path) -> None:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient.clear_system_cache()
        shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - closing a broken client must not hide the real error
                pass
        self._client = None
        self._collections = {}

    # -- use --------------------------------------------------------------------------------
    def query(self, text: str, n: int = 16, collection: str = CARDS) -> list[ChunkHit]:
        """Best chunk per document, most similar first."""
        self.open()
        col = self._collections[collection]
        count = col.count()
        if count == 0:
            return []
        res = col.query(query_texts=[text], n_results=min(n, count), include=["documents", "distances", "metadatas"])
        best: dict[str, ChunkHit] = {}
        for doc, distance, meta in zip(res["documents"][0], res["distances"][0], res["metadatas"][0]):
            key = meta.get("card") or meta.get("doc")
            sim = 1.0 - float(distance)
            if key not in best or sim > best[key].similarity:
                best[key] = ChunkHit(key, sim, doc, collection)
        return sorted(best.values(), key=lambda h: -h.similarity)

    def index_session(self, documents: dict[str, tuple[str, str]]) -> None:
        """Upsert the loaded session's documents: {doc id: (title, text)}. Ids carry content
        hashes, so re-indexing the same model or dataset is a no-op."""
        pending = {k: v for k, v in documents.items() if k not in self._indexed}
        if not pending:
            return
        self.open()
        col = self._collections[SESSION]
        existing = set(col.get(ids=list(pending))["ids"])
        new = {k: v for k, v in pending.items() if k not in existing}
        self._indexed.update(pending)
        if new:
            col.upsert(ids=list(new), documents=[f"{t}. {body}" for t, body in new.values()],
                       metadatas=[{"doc": k, "title": t} for k, (t, _) in new.items()])

    def session_document(self, doc_id: str) -> tuple[str, str] | None:
        """(title, body) of a session document, as given to `index_session`."""
        self.open()
        got = self._collections[SESSION].get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        title = got["metadatas"][0]["title"]
        return title, got["documents"][0].removeprefix(f"{title}. ")
