"""similar: the k nearest dataset rows to an instance, in the model's own representation
(mean-pooled hidden state of a chosen layer) and in sentence-embedding space (packaged MiniLM)."""
from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from tools.base import InstanceParams, Output, Tool
from tools.common import RowView, cosine, dataset_states, resolve_instance, row_view
from tools.errors import InputError
from tools.narration import pct, row_line, subject
from tools.planning import PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class SimilarParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=50)
    layer: int | None = Field(
        default=None, ge=-1,
        description="0-based block whose mean-pooled state is compared (-1: embeddings); default the last")


class Neighbour(RowView):
    similarity: float  # cosine similarity with the instance


class SimilarOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    layer: int  # -1: the embeddings
    by_model: list[Neighbour]
    by_sentence_embedding: list[Neighbour]
    overlap: list[int]  # ids in both lists
    by_model_same_label: float | None = None  # share of labelled neighbours with the instance's gold label
    by_sentence_embedding_same_label: float | None = None


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
    Output = SimilarOutput
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
            r"\b(?:reviews?|rows?|ones|examples?) like #?\d",  # "find reviews like 121"
            # "three another reviews like this one"
            r"\b(?:reviews?|rows?|ones|examples?) like (?:this|that|it)(?: one)?\b",
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

    concept_topic = r"similarity"

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """'the most similar review', 'the most influential training point': k=1."""
        if not query.follow_up and query.k() is None and (one := query.singular_k()) is not None:
            args["k"] = one
        return args

    def run(self, ctx: ToolContext, params: SimilarParams) -> SimilarOutput:
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

        def nearest(scores: np.ndarray) -> list[Neighbour]:
            order = [int(i) for i in np.argsort(-scores, kind="stable") if int(i) not in exclude][:k]
            has_labels = ctx.dataset.has_labels and task.is_classifier
            return [Neighbour(**{**row_view(ctx, rows[i], with_prediction=has_labels),
                                 "similarity": round(float(scores[i]), 4)}) for i in order]

        by_model, by_sentence = nearest(cosine(states, query)), nearest(cosine(sentences, query_sentence))
        out = SimilarOutput(text=text, **origin, layer=layer, by_model=by_model, by_sentence_embedding=by_sentence,
                            overlap=sorted({r.id for r in by_model} & {r.id for r in by_sentence}))
        gold = origin.get("gold_label")
        for name, items in (("by_model", by_model), ("by_sentence_embedding", by_sentence)):
            labelled = [r for r in items if r.label is not None]
            if gold is not None and labelled:
                setattr(out, f"{name}_same_label", round(sum(r.label == gold for r in labelled) / len(labelled), 4))
        return out

    def narrate(self, output: SimilarOutput, args: dict[str, Any]) -> str:
        o = output

        def block(items: list[Neighbour]) -> str:
            return "\n".join(f"{row_line(r)} similarity {r.similarity}" for r in items)

        layer = "the embeddings" if o.layer == -1 else f"block {o.layer}"
        text = (f"Rows most similar to {subject(o)} in the model's own representation (mean hidden state of "
                f"{layer}):\n{block(o.by_model)}\nBy sentence embedding (MiniLM):\n{block(o.by_sentence_embedding)}")
        text += f"\n{len(o.overlap)} row(s) appear in both lists."
        shares = ((o.by_model_same_label, "model"), (o.by_sentence_embedding_same_label, "sentence-embedding"))
        for share, label in shares:
            if share is not None:
                text += f" {pct(share)} of the {label} neighbours share its gold label."
        return text
