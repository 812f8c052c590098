"""similar: the k nearest dataset rows to an instance, in the model's own representation
(mean-pooled hidden state of a chosen layer) and in sentence-embedding space (packaged MiniLM)."""
from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from pydantic import Field

from tools.base import InstanceParams, Tool
from tools.common import cosine, resolve_instance
from tools.context import ToolContext
from tools.errors import InputError
from tools.planning import Trigger, alternatives


class SimilarParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=50)
    layer: int | None = Field(default=None, ge=-1, description="0-based block whose mean-pooled state is compared (-1: embeddings); default the last")


def sentence_vectors(ctx: ToolContext) -> np.ndarray:
    from tools.embeddings import default_encoder
    from tools.internals.probing import cached_states

    texts = [r.text for r in ctx.dataset.rows]
    key = hashlib.sha256(f"minilm|{ctx.dataset.texts_hash()}".encode()).hexdigest()[:24]
    return cached_states(ctx.settings.cache_dir, key, lambda: default_encoder().encode(texts))


class Similar(Tool):
    name = "similar"
    description = "The k most similar dataset rows, by the model's own hidden states and by sentence embedding."
    Params = SimilarParams
    triggers = (
        Trigger(alternatives(
            r"similar",
            r"similarity",
            r"nearest",
            r"neighbou?rs?",
            r"closest",
            r"look(?:s)? like",
            r"resembl",
            r"most like\b(?!ly)",
            r"analogous",
            r"\bakin\b",
            r"comparable",
            r"\blike (?:id|item|instance|review|row)",
        ), priority=220),
    )
    intent_examples = (
        "find reviews similar to review 4",
        "which rows resemble item 9?",
        "nearest neighbours of review 2",
        "reviews like 'the staff were great'",
    )
    needs_model = True
    cacheable = True
    knowledge_card = "similar"
    examples = ("which reviews are most similar to review 12?", "find reviews like 'the battery died after a day'")

    def run(self, ctx: ToolContext, params: SimilarParams) -> dict[str, Any]:
        from tools.common import row_view
        from tools.builtin.internals import dataset_states
        from tools.embeddings import default_encoder
        from tools.internals.probing import pooled_states

        text, origin = resolve_instance(ctx, params)
        handle, task = ctx.model, ctx.task
        n_layers = handle.n_layers
        layer = n_layers - 1 if params.layer is None else params.layer
        if layer >= n_layers:
            raise InputError(f"Layer {layer} is out of range: the model has {n_layers} layers (0 to {n_layers - 1}).")
        rows = ctx.dataset.rows
        states = dataset_states(ctx)[:, layer + 1]
        query = pooled_states(handle, task, [text])[0, layer + 1]
        sentences = sentence_vectors(ctx)
        query_sentence = default_encoder().encode([text])[0]
        k = params.k or 5
        exclude = {i for i, r in enumerate(rows) if r.id == params.id}

        def nearest(scores: np.ndarray) -> list[dict[str, Any]]:
            order = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in exclude][:k]
            has_labels = ctx.dataset.has_labels and task.is_classifier
            return [{**row_view(ctx, rows[i], with_prediction=has_labels), "similarity": round(float(scores[i]), 4)} for i in order]

        by_model, by_sentence = nearest(cosine(states, query)), nearest(cosine(sentences, query_sentence))
        shared = sorted({r["id"] for r in by_model} & {r["id"] for r in by_sentence})
        out: dict[str, Any] = {"text": text, **origin, "layer": layer, "by_model": by_model, "by_sentence_embedding": by_sentence,
                               "overlap": shared}
        for name, items in (("by_model", by_model), ("by_sentence_embedding", by_sentence)):
            labelled = [r for r in items if r.get("label") is not None]
            if origin.get("gold_label") is not None and labelled:
                out[f"{name}_same_label"] = round(sum(r["label"] == origin["gold_label"] for r in labelled) / len(labelled), 4)
        return out
