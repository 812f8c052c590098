"""The packaged all-MiniLM-L6-v2 sentence encoder as plain numpy, for the planner's intent model.

Why not `tools.embeddings.SentenceEncoder` (transformers + torch): importing torch and transformers
costs about 6 s on this machine, and `whybox plan --json` would pay it on every call for a
6-layer BERT over a dozen tokens. `tokenizers` + `safetensors.numpy` + numpy start in about 0.3 s
and encode a question in a few milliseconds. `tests/test_intent_model.py` checks the vectors
against the transformers implementation (max difference < 1e-4).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

MAX_TOKENS = 32  # the intent is in the first words; a 10,000-character paste costs what a question does


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x)."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class NumpyMiniLM:
    """Mean-pooled, L2-normalised MiniLM vectors (384 dimensions), the sentence-transformers recipe."""

    def __init__(self, folder: Path, max_tokens: int = MAX_TOKENS) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)), pad_token="[PAD]")
        raw = {k: v.astype(np.float32) for k, v in load_file(str(folder / "model.safetensors")).items()
               if not k.endswith("position_ids")}
        # Dense weights stored transposed and contiguous (x @ W), query/key/value fused into one.
        self.w = {k: (np.ascontiguousarray(v.T) if k.endswith(".weight") and v.ndim == 2 and ".dense." in k else v)
                  for k, v in raw.items()}
        for i in range(self.layers):
            p = f"encoder.layer.{i}.attention.self."
            self.w[p + "qkv.weight"] = np.ascontiguousarray(
                np.concatenate([raw[p + n + ".weight"].T for n in ("query", "key", "value")], 1))
            self.w[p + "qkv.bias"] = np.concatenate([raw[p + n + ".bias"] for n in ("query", "key", "value")])

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.w["embeddings.word_embeddings.weight"].shape[1]), dtype=np.float32)
        batch = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch])
        mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
        types = np.array([e.type_ids for e in batch])
        w, eps = self.w, self.eps
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        b, t, d = x.shape
        head = d // self.heads
        blocked = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(v: np.ndarray, name: str) -> np.ndarray:
                flat = v.reshape(-1, v.shape[-1]) @ w[p + name + ".weight"] + w[p + name + ".bias"]
                return flat.reshape(b, t, -1)

            qkv = dense(x, "attention.self.qkv").reshape(b, t, 3, self.heads, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(b, t, d)
            x = _layer_norm(x + dense(context, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], eps)
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(x + dense(hidden, "output.dense"), w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"], eps)
        pooled = (x * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)
