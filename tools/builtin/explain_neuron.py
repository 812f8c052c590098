"""explain_neuron: a description of one MLP neuron from its exemplars, with held-out scores and
baselines (issue 7). Mining is cached per (model hash, corpus hash); see tools/internals. The
description is remembered (tools/internals/descriptions.py) so that top_neurons shows it."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from tools.base import Output, Params, Tool
from tools.cache import cache_key
from tools.errors import InputError
from tools.narration import quote
from tools.paths import PATH_FIELD
from tools.planning import NeedsClarification, PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext

MAX_FILE_BYTES = 5_000_000


class ExplainNeuronParams(Params):
    layer: int = Field(ge=0, description="0-based block")
    neuron: int = Field(ge=0, description="0-based MLP unit of that block")
    files: list[str] | None = Field(default=None,
                                    description="text files to add to the corpus (one document per non-empty line)",
                                    json_schema_extra={PATH_FIELD: True})


class NeuronDescription(Output):
    positive: str
    negative: str


class NeuronRule(Output):
    """What the simulator read back from the positive description."""
    categories: list[str]
    tokens: list[str]


class NeuronScores(Output):
    baseline: str  # "description": scored like the baselines
    simulation: float
    simulation_ci95: list[float]
    detection: float
    detection_ci95: list[float]


class BaselineScores(Output):
    baseline: str
    simulation: float
    detection: float
    simulation_ci95: list[float] | None = None  # absent for a random baseline without draws
    detection_ci95: list[float] | None = None
    neuron: int | None = None  # another neuron's description: which neuron, and what it says
    description: str | None = None
    draws: int | None = None  # random description: how many draws were averaged


class Exemplar(Output):
    doc: int
    tokens: list[str]
    activations: list[float]


class WindowCounts(Output):
    top: int
    random: int


class NeuronCorpus(Output):
    documents: int
    files: list[str]


class ExplainNeuronOutput(Output):
    layer: int
    neuron: int
    description: NeuronDescription
    explainer: str
    rule: NeuronRule
    scores: NeuronScores
    baselines: list[BaselineScores]
    beats: dict[str, bool]
    exemplars: list[Exemplar]
    negative_exemplars: list[Exemplar]
    test_windows: WindowCounts
    split_documents: dict[str, int]
    seed: int
    corpus: NeuronCorpus


def corpus(ctx: ToolContext, files: list[str] | None) -> tuple[list[str], list[str]]:
    """(document ids, texts): the loaded dataset's rows plus each non-empty line of the files."""
    ids = [f"row:{r.id}" for r in ctx.dataset]
    texts = [r.text for r in ctx.dataset]
    for name in files or []:
        path = Path(name).expanduser()
        if not path.is_file():
            raise InputError(f"Corpus file not found: {name}.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"Corpus file {name} is larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                             "split it or sample it.")
        try:
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        except UnicodeDecodeError:
            raise InputError(f"Corpus file {name} is not UTF-8 text.") from None
        for i, line in enumerate(lines):
            if line:
                ids.append(f"{path.resolve()}:{i}")
                texts.append(line)
    return ids, texts


def mined(ctx: ToolContext, texts: list[str]):
    """Per-document max/min of every neuron, cached as .npy under the cache folder."""
    from tools.internals.exemplars import MiningResult, mine
    from tools.internals.probing import cached_states

    digest = hashlib.sha256("\n\x00".join(texts).encode()).hexdigest()[:16]
    key = cache_key(model=ctx.workspace.model_hash, tool="mine_neurons", version=1, corpus=digest)
    handle = ctx.model
    array = cached_states(ctx.settings.cache_dir, key,
                          lambda: mine(handle.model, handle.tokenizer, texts, quiet=ctx.workspace.quiet).to_array())
    return MiningResult.from_array(array)


class ExplainNeuron(Tool):
    name = "explain_neuron"
    description = ("Natural-language description of an MLP neuron from its top exemplars (LLM when configured, "
                   "else a deterministic pattern explainer), with held-out simulation and detection scores against "
                   "baselines.")
    Params = ExplainNeuronParams
    Output = ExplainNeuronOutput
    triggers = (
        Trigger(alternatives(
            r"\bneuron\s*#?\s*\d+",
            r"same neuron",
            r"\b(?:what does|describe|explain) (?:this|that|the) neuron",
            r"\blayer \d+,? (?:neuron|unit) \d+",
        ), priority=20),
    )
    intent_examples = (
        "what does neuron 5 in layer 2 do?",
        "describe layer 14 neuron 811",
        "what is neuron 300 of layer 9 sensitive to?",
        "explain unit 12 in layer 1",
    )
    precise = True
    needs_model = True
    knowledge_card = "explain_neuron"
    examples = ("what does neuron 811 in layer 14 do?", "explain neuron 5 of layer 0")

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """Layer and neuron from the question, else from the conversation ('now neuron 301')."""
        if query.follow_up:
            return args
        layers, neuron = query.layers(), query.neuron()
        layer = layers[0] if layers else query.last_layer
        neuron = neuron if neuron is not None else query.last_neuron
        if layer is None or neuron is None:
            partial = {key: v for key, v in (("layer", layer), ("neuron", neuron)) if v is not None}
            if neuron is not None:  # "what does neuron 900 do?": only the layer is missing
                raise NeedsClarification(f"Neuron {neuron} of which layer? Say e.g. \"neuron {neuron} in layer 14\".",
                                         "layer", partial)
            raise NeedsClarification("Which neuron? Say e.g. \"neuron 811 in layer 14\".", "neuron", partial)
        return {"layer": layer, "neuron": neuron}

    def run(self, ctx: ToolContext, params: ExplainNeuronParams) -> ExplainNeuronOutput:
        from tools.internals.descriptions import remember_description
        from tools.internals.exemplars import document_parts, layer_activations
        from tools.internals.explanations import explain_neuron_from

        handle = ctx.model
        n_layers, n_neurons = handle.n_layers, handle.intermediate_size or 0
        if not params.layer < n_layers:
            raise InputError(f"Layer {params.layer} is out of range: the model has {n_layers} layers "
                             f"(0 to {n_layers - 1}).")
        if not params.neuron < n_neurons:
            raise InputError(f"Neuron {params.neuron} is out of range: layer {params.layer} has {n_neurons} neurons "
                             f"(0 to {n_neurons - 1}).")
        ids, texts = corpus(ctx, params.files)
        parts = document_parts(ids)
        if min((parts == i).sum() for i in range(3)) < 5:  # checked before the mining pass
            raise InputError(f"The corpus has {len(texts)} documents; explain_neuron needs at least 5 in each of its "
                             "explain, validation and test parts (about 30 documents). Add text files with `files`.")
        mining = mined(ctx, texts)

        def acts(indices):
            return layer_activations(handle.model, handle.tokenizer, [texts[i] for i in indices], params.layer)

        llm = None
        if ctx.llm is not None:
            from prompts import load_prompt

            chat, name = ctx.llm
            llm = (chat, load_prompt("explain_neuron").render, name)
        out = explain_neuron_from(acts, mining.maxima[:, params.layer].astype("float32"),
                                  mining.minima[:, params.layer].astype("float32"), parts, params.neuron, n_neurons,
                                  llm=llm)
        remember_description(ctx, params.layer, params.neuron, out["description"]["positive"],
                             out["scores"]["detection"])
        corpus_info = {"documents": len(texts), "files": params.files or []}
        return ExplainNeuronOutput.model_validate({"layer": params.layer, **out, "corpus": corpus_info})

    def caveats(self, ctx: ToolContext, params: ExplainNeuronParams, output: dict[str, Any]) -> list[str]:
        notes = []
        if output["explainer"].startswith("deterministic"):
            notes.append("No LLM is configured, so this description comes from the deterministic pattern explainer; "
                         "set WHYBOX_LLM for LLM descriptions.")
        if output["test_windows"]["top"] < 15:
            notes.append(f"Only {output['test_windows']['top']} held-out top windows: the intervals are wide.")
        return notes

    def narrate(self, output: ExplainNeuronOutput, args: dict) -> str:
        o, s = output, output.scores
        said = o.description.positive
        said = said[:1].lower() + said[1:] if said[1:2].islower() else said  # after a colon
        beaten = [name for name, won in o.beats.items() if won]
        at_chance = s.detection_ci95[0] <= 0.5  # detection is balanced accuracy: 0.5 is chance
        if at_chance or not beaten:  # the headline says how far to trust it before it says anything else
            lead = (f"no reliable description (held-out detection {s.detection}, its 95% CI reaching chance, 0.5"
                    if at_chance else "no reliable description (it beats none of the baselines")
            lead += f"). Best guess, not supported by the test: {said}"
        elif len(beaten) < len(o.beats):
            lead = f"a partial reading (it beats only {', '.join(beaten)}): {said}"
        else:
            lead = o.description.positive
        text = (f"Neuron {o.neuron} in layer {o.layer}: {lead} {o.description.negative}\n"
                f"Written by the {o.explainer}.\n"
                f"Held-out test ({o.test_windows.top} top and {o.test_windows.random} random windows from documents "
                f"never used to write it): simulation correlation {s.simulation} (95% CI {s.simulation_ci95[0]} to "
                f"{s.simulation_ci95[1]}), detection balanced accuracy {s.detection} (95% CI {s.detection_ci95[0]} "
                f"to {s.detection_ci95[1]}).")
        lines = [f"- {b.baseline}: simulation {b.simulation}, detection {b.detection}" for b in o.baselines]
        text += "\nBaselines on the same windows:\n" + "\n".join(lines)
        if len(beaten) == len(o.beats):
            text += "\nVerdict: the description beats every baseline."
        elif beaten:
            text += f"\nVerdict: the description beats only {', '.join(beaten)}; read it as a partial account."
        else:
            text += "\nVerdict: the description does not beat the baselines; this neuron is not explained."
        if o.exemplars:
            top = o.exemplars[0]
            peak = max(range(len(top.activations)), key=lambda i: top.activations[i])
            text += (f"\nStrongest exemplar: {quote(''.join(top.tokens))} (peak {top.activations[peak]} on "
                     f"{top.tokens[peak].strip()!r}).")
        return text
