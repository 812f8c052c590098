"""Neuron descriptions remembered between tools: explain_neuron writes the latest description of a
neuron (with its held-out detection score) to the result cache, top_neurons reads it back."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tools.cache import cache_key

if TYPE_CHECKING:
    from tools.context import ToolContext


def _key(ctx: ToolContext, layer: int, neuron: int) -> str:
    return cache_key(model=ctx.workspace.model_hash, tool="neuron_description", layer=layer, neuron=neuron)


def remember_description(ctx: ToolContext, layer: int, neuron: int, description: str, detection: float) -> None:
    """Store the description explain_neuron just wrote (it replaces an earlier one)."""
    ctx.cache.put(_key(ctx, layer, neuron), {"description": description, "detection": detection})


def known_description(ctx: ToolContext, layer: int, neuron: int) -> str | None:
    """The latest explain_neuron description of this neuron, with its held-out detection score."""
    found = ctx.cache.get(_key(ctx, layer, neuron))
    return f"{found['description']} (held-out detection {found['detection']})" if found else None
