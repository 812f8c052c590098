"""Model internals: logit_lens, top_neurons and probe (issue 7). The computations live in
tools/internals; these tools resolve the instance or the labels, check ranges, and cache."""
from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field

from tools.base import InstanceParams, Params, Tool
from tools.common import resolve_instance
from tools.context import ToolContext
from tools.errors import InputError
from tools.planning import Trigger, alternatives
from tools.where import Where, select


def dataset_states(ctx: ToolContext):
    """[rows, layers+1, hidden] mean-pooled hidden states of every dataset row (cached; shared by
    probe and similar)."""
    from tools.internals.probing import cached_states, pooled_states

    dataset, handle, task = ctx.dataset, ctx.model, ctx.task
    texts = [r.text for r in dataset.rows]
    key = hashlib.sha256(f"{handle.content_hash}|{task.signature}|{dataset.texts_hash()}|mean-content".encode()).hexdigest()[:24]
    return cached_states(ctx.settings.cache_dir, key, lambda: pooled_states(handle, task, texts, ctx.workspace.quiet))


GOLD_LABEL_NAMES = {"label", "labels", "gold", "gold label", "gold labels", "class", "classes", "sentiment", "the labels"}


class LogitLensParams(InstanceParams):
    position: int | None = Field(default=None, description="token position (0-based; negative counts from the end); default: the last")
    top: int | None = Field(default=None, ge=1, le=20, description="top tokens per layer")
    raw: bool | None = Field(default=None, description="read the plain text instead of the task's prompt")


class LogitLens(Tool):
    name = "logit_lens"
    description = "What each layer would predict next (logit lens), with the final answer's probability and KL per layer."
    Params = LogitLensParams
    triggers = (
        Trigger(alternatives(
            r"logit[ -]?lens",
            r"each layer (?:would )?predict",
            r"layer by layer",
            r"what (?:does|would) (?:each|every) layer",
            r"(?:each|every) layer'?s? (?:prediction|guess)",
        ), priority=40),
    )
    intent_examples = (
        "logit lens on review 3",
        "what does each layer predict next for item 5?",
        "show the layer by layer predictions for 'The sky is'",
        "what would the intermediate layers guess for review 7?",
        "decode each layer's hidden state for review 2",
    )
    precise = True
    needs_model = True
    cacheable = True
    knowledge_card = "logit_lens"
    examples = ("what does each layer predict for 'The capital of France is'?", "logit lens on review 3")

    def run(self, ctx: ToolContext, params: LogitLensParams) -> dict[str, Any]:
        from tools.internals.lens import logit_lens

        text, origin = resolve_instance(ctx, params)
        handle, task = ctx.model, ctx.task
        if params.raw or not hasattr(task, "encode"):
            ids = handle.tokenizer(text)["input_ids"]
            prompt = "plain text"
        else:
            ids = list(task.encode(text).input_ids)
            prompt = f"the {task.name} prompt"
        watch = None
        if not params.raw and hasattr(task, "label_token_ids"):
            watch = {label: list(t) for label, t in zip(task.labels, task.label_token_ids)}
        result = logit_lens(handle, ids, params.position, params.top or 5, watch)
        return {"text": text, **origin, "prompt": prompt, **result}


class TopNeuronsParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=100)
    layer: int | None = Field(default=None, ge=0)


class TopNeurons(Tool):
    name = "top_neurons"
    description = "The MLP neurons most active at the prediction and most responsible for it (activation x gradient)."
    Params = TopNeuronsParams
    triggers = (
        Trigger(alternatives(
            r"\bneurons\b",
            r"\bneuron activations?\b",
            r"\bmlp units\b",
        ), priority=30),
    )
    intent_examples = (
        "which neurons fire for review 3?",
        "most active neurons in layer 10 for item 4",
        "which MLP units matter for 'bad food'?",
        "top 5 neurons for review 8",
    )
    precise = True
    needs_model = True
    cacheable = False  # one forward+backward; descriptions written later by explain_neuron must show up
    knowledge_card = "top_neurons"
    examples = ("which neurons matter most for review 5?", "top 5 neurons in layer 20 for 'great battery'")

    def run(self, ctx: ToolContext, params: TopNeuronsParams) -> dict[str, Any]:
        from tools.internals.neurons import top_neurons

        text, origin = resolve_instance(ctx, params)
        from tools.builtin.neurons import known_description

        return {"text": text, **origin, **top_neurons(ctx.model, ctx.task, text, params.k or 10, params.layer,
                                                      describe=lambda layer, neuron: known_description(ctx, layer, neuron))}


class ProbeParams(Params):
    concept: str | None = Field(default=None, description="the dataset labels (default), a column name, or a word/phrase (does the text mention it?)")
    layers: list[int] | None = Field(default=None, description="0-based blocks (the embeddings are always reported as a baseline); default all")
    seed: int | None = None


class Probe(Tool):
    name = "probe"
    description = "How well each layer linearly encodes a concept (default: the dataset's labels), with control baselines."
    Params = ProbeParams
    triggers = (
        Trigger(alternatives(
            r"\bprob(?:e|ing)\b",
            r"\bencode[sd]?\b",
            r"linearly (?:decodable|separable)",
            r"represent(?:s|ed)?\b.*\b(?:in|by) (?:each |every |the )?layers?",
            r"(?:each|which) layers? (?:represent|capture|know)",
        ), priority=50),
    )
    intent_examples = (
        "does layer 4 encode sentiment?",
        "which layers represent the labels?",
        "probe layers 3 to 6",
        "is negation linearly decodable in layer 12?",
        "how well does each layer capture sentiment?",
    )
    precise = True
    needs_model = True
    cacheable = True
    knowledge_card = "probe"
    examples = ("does layer 10 encode sentiment?", "probe every layer for the labels", "which layers encode 'price'?")

    def run(self, ctx: ToolContext, params: ProbeParams) -> dict[str, Any]:
        from tools.internals.probing import run_probes

        dataset = ctx.dataset
        rows, labels, meaning = self._labels(ctx, params.concept)
        states = dataset_states(ctx)
        index = {r.id: i for i, r in enumerate(dataset.rows)}
        picked = states[[index[r.id] for r in rows]]
        result = run_probes(picked, labels, params.layers, params.seed or 0)
        return {"concept": params.concept or "labels", "labels_mean": meaning, **result}

    @staticmethod
    def _labels(ctx: ToolContext, concept: str | None):
        dataset = ctx.dataset
        name = (concept or "label").strip().lower()
        if name in GOLD_LABEL_NAMES or name == (ctx.settings.label_column or "").lower():
            rows = [r for r in dataset.rows if r.label is not None]
            if not rows:
                raise InputError("The dataset has no gold labels to probe for.", "Name a column or a word, e.g. concept 'price'.")
            return rows, [r.label for r in rows], "the dataset's gold labels"
        columns = {c.lower(): c for c in dataset.columns}
        if name in columns and columns[name] not in ("id", ctx.settings.text_column):
            column = columns[name]
            rows = [r for r in dataset.rows if r.extra.get(column) not in (None, "")]
            return rows, [str(r.extra[column]) for r in rows], f"the dataset's '{column}' column"
        mentioning = {r.id for r in select(dataset, Where(includes=concept or ""), None)}
        if not mentioning:
            raise InputError(f"No row mentions {concept!r}, so there is nothing to probe for.",
                             "Use the labels (the default), a column name, or a word that occurs in the data.")
        return list(dataset.rows), ["yes" if r.id in mentioning else "no" for r in dataset.rows], f"whether the text mentions '{concept}'"
