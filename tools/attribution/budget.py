"""How many rows one forward (or forward + backward) pass may hold: a memory budget, not a fixed
batch size.

Why: the batch sizes that suit a 40-token review (16 IG path points, 16 occluded copies) hold
gigabytes of activations on a 2,048-token input, where Inseq and circuit-tracer run out of
memory. The estimate below is what one row keeps alive, from the model's config, so a long input
gets fewer rows per pass (at least one) and a short one keeps the fast batch.

Per token and layer a backward pass keeps about 8 hidden-size and 5 intermediate-size vectors
(norms, q/k/v/o, residuals, the gated MLP), plus the attention matrix when the eager kernel
stores it (SDPA's fused kernels do not); a no-grad pass keeps one layer's transients and the KV
cache. Counted in float32 bytes whatever the weights' dtype (an upper bound: activations upcast).
benchmarks/long_inputs.py prints the estimate next to the measured peak memory.
"""
from __future__ import annotations

from typing import Any

DEFAULT_BUDGET = 2 << 30  # bytes of activations one pass may hold (2 GiB)
_FLOAT = 4


def row_bytes(config: Any, tokens: int, backward: bool) -> int:
    """Activation bytes one row of `tokens` tokens keeps during a pass of this model."""
    hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0) or 768)
    inter = int(getattr(config, "intermediate_size", 0) or getattr(config, "n_inner", 0) or 4 * hidden)
    layers = int(getattr(config, "num_hidden_layers", 0) or getattr(config, "n_layer", 0) or 12)
    heads = int(getattr(config, "num_attention_heads", 0) or getattr(config, "n_head", 0) or 12)
    kv_heads = int(getattr(config, "num_key_value_heads", 0) or heads)
    head_dim = int(getattr(config, "head_dim", 0) or hidden // max(heads, 1))
    eager = getattr(config, "_attn_implementation", "sdpa") == "eager"
    attention = heads * tokens if eager else 0
    if backward:
        return tokens * layers * (8 * hidden + 5 * inter + attention) * _FLOAT
    cache = tokens * layers * 2 * kv_heads * head_dim * _FLOAT
    return tokens * (8 * hidden + 3 * inter + attention) * _FLOAT + cache


def rows_per_pass(handle: Any, tokens: int, budget: int | None = None, backward: bool = True) -> int:
    """Rows of `tokens` tokens that fit the budget in one pass (at least 1)."""
    config = getattr(getattr(handle, "model", None), "config", None)
    if config is None or tokens <= 0:
        return 1 << 16
    return max(1, (budget or DEFAULT_BUDGET) // max(row_bytes(config, tokens, backward), 1))
