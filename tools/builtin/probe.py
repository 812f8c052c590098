"""probe: how well each layer linearly encodes a concept, with control baselines (issue 7). The
probes live in tools/internals/probing.py; this tool turns the concept into labels, narrates and
draws the accuracy per layer."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from tools.base import Output, Params, Tool
from tools.common import dataset_states
from tools.errors import InputError
from tools.figures import layer_names, pyplot, save
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where, select

if TYPE_CHECKING:
    from tools.context import ToolContext

GOLD_LABEL_NAMES = {"label", "labels", "gold", "gold label", "gold labels", "class", "classes", "sentiment",
                    "the labels"}


class ProbeParams(Params):
    concept: str | None = Field(default=None, description="the dataset labels (default), a column name, or a "
                                                           "word/phrase (does the text mention it?)")
    layers: list[int] | None = Field(default=None, description="0-based blocks (the embeddings are always reported "
                                                               "as a baseline); default all")
    seed: int | None = None


class ProbeLayer(Output):
    layer: int  # -1: the embeddings, i: the output of block i
    name: str
    accuracy: float
    ci95: list[float]
    control_accuracy: float
    selectivity: float
    c: float
    val_accuracy: float
    codelength_bits: float
    compression: float | None  # uniform code length / online code length; None when the code is empty


class ProbeOutput(Output):
    concept: str
    labels_mean: str
    embeddings: ProbeLayer
    classes: list[str]
    rows_total: int
    split: list[int]  # train / validation / test rows
    majority_baseline: float
    majority_label: str
    layers: list[ProbeLayer]
    best_layer: int
    seed: int


class Probe(Tool):
    name = "probe"
    description = ("How well each layer linearly encodes a concept (default: the dataset's labels), with control "
                   "baselines.")
    Params = ProbeParams
    Output = ProbeOutput
    figure_name = "probe"
    figure_caption = "Probe accuracy per layer with 95% interval, control task and majority baseline."
    triggers = (
        Trigger(alternatives(
            r"\bprob(?:e|ing)\b",
            r"\bencode[sd]?\b",
            r"linearly (?:decodable|separable)",
            r"represent(?:s|ed)?\b.*\b(?:in|by|at|across) (?:each |every |the |its |their )?layers?",
            r"(?:each|which|any|a|what) layers? (?:represents?|captures?|knows?|stores?)",
            # "does any part of the model's insides know whether ...", "in which layers the model is knowing if"
            r"\b(?:any|which|what) (?:part|parts|bit|layer|layers) of (?:the |its )?(?:model|network)(?:'s)?"
            r"(?: insides| internals)?\b.*\bknow",
            r"\b(?:which|what) layers?\b.*\b(?:is |are )?know(?:s|ing)? (?:if|whether|what|which)\b",
            r"\b(?:does|do) (?:it|the model) (?:also |even )?know (?:what|which|whether|if) (?:the |a |each )?"
            r"(?:review|text|row)s? (?:is|are) (?:about|from)\b",
            r"\b(?:encoded|represented|stored) (?:anywhere )?(?:inside|in) the model",
            # "can sentiment be read off the hidden layers with a simple linear classifier?"
            r"\b(?:read|decoded?|recovered?|extracted?|predicted) (?:off|out of|from) (?:the |its |each |every )?"
            r"(?:hidden )?(?:layers?|activations?|hidden states?|representations?)\b",
            r"\blinear (?:classifiers?|models?|regressions?) (?:on|over|from|trained on) (?:the |its )?(?:hidden )?"
            r"(?:layers?|activations?|states?|representations?)\b",
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
    concept_topic = r"^probing"  # "what's probing?", then "ok, try it on layers 2 to 4"
    examples = ("does layer 10 encode sentiment?", "probe every layer for the labels", "which layers encode 'price'?")

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """The concept to probe for ('does layer 10 encode negation?'); none means the labels."""
        concept = _probe_concept(query.text) or (_follow_up_concept(query.text) if query.follow_up else None)
        if concept:
            args["concept"] = concept
        elif (query.follow_up or query.same_tool) and re.search(r"\b(?:sentiment|the labels?|the classes)\b",
                                                                query.text, re.I):
            args.pop("concept", None)  # "and for sentiment" after a probe for domain: back to the labels
        every_layer = re.search(r"\b(?:all|every|each)\s+(?:the\s+)?layers?\b", query.text, re.I)
        if (query.follow_up or query.same_tool) and every_layer:
            args.pop("layers", None)  # "and all layers": the tool's default, every layer
        return args

    def run(self, ctx: ToolContext, params: ProbeParams) -> ProbeOutput:
        from tools.internals.probing import run_probes

        dataset = ctx.dataset
        rows, labels, meaning = self._labels(ctx, params.concept)
        states = dataset_states(ctx)
        index = {r.id: i for i, r in enumerate(dataset.rows)}
        picked = states[[index[r.id] for r in rows]]
        result = run_probes(picked, labels, params.layers, params.seed or 0)
        return ProbeOutput.model_validate({"concept": params.concept or "labels", "labels_mean": meaning, **result})

    @staticmethod
    def _labels(ctx: ToolContext, concept: str | None):
        dataset = ctx.dataset
        name = (concept or "label").strip().lower()
        if name in GOLD_LABEL_NAMES or name == (ctx.settings.label_column or "").lower():
            rows = [r for r in dataset.rows if r.label is not None]
            if not rows:
                raise InputError("The dataset has no gold labels to probe for.",
                                 "Name a column or a word, e.g. concept 'price'.")
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
        labels = ["yes" if r.id in mentioning else "no" for r in dataset.rows]
        return list(dataset.rows), labels, f"whether the text mentions '{concept}'"

    def narrate(self, output: ProbeOutput, args: dict) -> str:
        o = output
        best = next(r for r in o.layers if r.layer == o.best_layer)
        split = o.split
        clear = best.ci95[0] > o.majority_baseline and best.selectivity > 0
        which = (f"the best layer is {best.layer} ({best.name})" if len(o.layers) > 1 else
                 f"{'yes' if clear else 'not clearly'}, layer {best.layer} ({best.name}) encodes it linearly")
        lines = [f"Probing for {o.labels_mean} ({len(o.classes)} classes, {split[0]}/{split[1]}/{split[2]} "
                 f"train/validation/test rows): {which} with test accuracy "
                 f"{best.accuracy:.3f} (95% CI {best.ci95[0]:.3f}-{best.ci95[1]:.3f}) against a majority baseline of "
                 f"{o.majority_baseline:.3f}; on shuffled labels the same probe scores {best.control_accuracy:.3f} "
                 f"(selectivity {best.selectivity:.3f}). The raw embeddings reach {o.embeddings.accuracy:.3f}."]
        if len(o.layers) > 1:
            lines.append("Per layer (accuracy / control / MDL compression): " + "; ".join(
                f"{r.layer}: {r.accuracy:.3f} / {r.control_accuracy:.3f} / {r.compression}" for r in o.layers) + ".")
        if best.ci95[0] <= o.majority_baseline:
            lines.append("The interval includes the majority baseline, so this is not clear evidence that the layer "
                         "encodes it.")
        return "\n".join(lines)

    def figure(self, output: ProbeOutput, path: Path) -> Path:
        """Held-out accuracy per layer with its 95% interval, the control task and the majority baseline."""
        plt = pyplot()
        layers = [output.embeddings, *output.layers]
        x = list(range(len(layers)))
        acc = [row.accuracy for row in layers]
        low = [row.accuracy - row.ci95[0] for row in layers]
        high = [row.ci95[1] - row.accuracy for row in layers]
        fig, ax = plt.subplots(figsize=(9, 3.4))
        ax.errorbar(x, acc, yerr=[low, high], marker="o", color="#2166ac", capsize=2, label="probe (95% CI)")
        ax.plot(x, [row.control_accuracy for row in layers], marker=".", color="#999999",
                label="control (shuffled labels)")
        ax.axhline(output.majority_baseline, color="#b2182b", linestyle="--", label="majority baseline")
        step = max(1, len(x) // 16)
        ax.set_xticks(x[::step], layer_names(layers)[::step])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("layer (emb = embeddings)")
        ax.set_ylabel("held-out accuracy")
        ax.legend(fontsize=8, loc="lower right")
        ax.set_title("Linear probe accuracy per layer", fontsize=10, loc="left")
        return save(fig, path)


def _probe_concept(text: str) -> str | None:
    """'does layer 10 encode negation?' -> 'negation'; the labels themselves are the default."""
    m = (re.search(r"\bis\s+(?:the\s+)?([a-z][\w -]*?)\s+(?:encoded|represented|stored)\b", text, re.I)
         or re.search(r"\b(?:encode[sd]?|represent(?:s|ed)?|for|capture[sd]?|knows?(?: about)?|stores?)\s+"
                      r"(?:the\s+)?([a-z][\w -]*?)"
                      r"(?:\?|$| in | at | across | by | anywhere| on (?:layers?|the|all|every)\b)",
                      text, re.I))
    concept = m.group(1).strip().lower() if m else None
    if concept:  # "the domain of a review" is the domain; "sentiment best" is sentiment
        concept = re.sub(r"\s+of (?:a|an|the|each|every) (?:review|row|text|sentence|example|input)s?$", "", concept)
        concept = re.sub(r"\s+(?:best|most|well|the most|the best|strongly|at all)$", "", concept)
        # "the domain concept", "the domain column": the column itself
        concept = re.sub(r"(?<=\w)\s+(?:concept|column|attribute|feature|variable)$", "", concept)
        # "which domain a review is from", "what topic each text is about": the column named
        concept = re.sub(r"^(?:which|what) ([a-z]+) (?:a|an|the|each|every) (?:review|row|text|sentence|example)\b.*$",
                         r"\1", concept)
    if not concept or re.fullmatch(r"(?:the )?(?:sentiment|labels?|classes|class|gold labels?|layers?(?: \d+.*)?"
                                   r"|each layer|it|them|me|us|you|that|this)", concept):
        return None  # "could you check that for me?": no concept
    return concept


def _follow_up_concept(text: str) -> str | None:
    """'and negation in those layers?' after a probe: the concept is the bare noun phrase."""
    m = re.match(r"\W*(?:(?:and|what about|how about|now|then|ok|okay)\W+)+(?:for\s+)?(?:the\s+)?"
                 r"([a-z][a-z -]*?)\s*,?\s*"
                 r"(?:(?:in|at|for|across|on|of)\s+(?:those|these|the same|that|all|each)?\s*layers?\b.*)?\W*$",
                 text, re.I)
    concept = m.group(1).strip().lower() if m else None
    if not concept or len(concept.split()) > 3 or re.fullmatch(
            r"(?:the )?(?:sentiment|labels?|classes|class|(?:all |every |each )?(?:the )?layers?.*|it|them|those|these"
            r"|same|all|(?:back to|run|do|try|redo|repeat|again|use|show)\b.*)", concept):
        return None
    return concept
