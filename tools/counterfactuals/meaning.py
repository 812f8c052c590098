"""Meaning preservation for the edit-based tools that must NOT change what a text says
(adversarial, augment): cosine similarity of packaged-MiniLM sentence embeddings."""
from __future__ import annotations

import numpy as np

MEANING_THRESHOLD = 0.85  # an edit keeps the meaning when its similarity to the original is at least this


def meaning_similarity(original: str, texts: list[str]) -> list[float]:
    """Cosine similarity of each text's MiniLM embedding with the original's."""
    from tools.embeddings import default_encoder

    vectors = default_encoder().encode([original] + texts)
    vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return [float(v @ vectors[0]) for v in vectors[1:]]
