"""patch: activation patching between an input and a contrasting one (Vig et al. 2020; Meng et al.
2022). The residual stream after a block is copied from the contrast's run into the input's run and
the prediction measured: effect (patched - input) / (contrast - input), 0 = none, 1 = the contrast's.

Per layer, the prediction position alone is patched (the last token; the first for an encoder); at
the final block its state is the whole prediction, so the effect there is 1 by construction. Inputs
with the same number of tokens line up: then also the differing tokens, a layer x position map from
the first difference on (earlier positions are identical in a left-to-right model), and a check
that patching every position reproduces the contrast. Hooks come from a context manager that holds
the model's lock and removes them after errors too (design.md habits 10 and 15). The machinery
(hooks, reference runs, the patch loop, the measurement) lives in tools/internals/patching.py."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from tools.base import REGISTRY, InstanceParams, Output, Tool
from tools.common import resolve_instance
from tools.errors import InputError
from tools.figures import colour_legend, pyplot, save
from tools.internals import patching
from tools.internals.patching import (  # the machinery, re-exported for the tests
    patched_residual,  # noqa: F401
    reference_runs,  # noqa: F401
    run_patches,  # noqa: F401
)
from tools.narration import pct, quote, row_name
from tools.planning import NeedsClarification, PlanQuery, Trigger, alternatives, asks_about_method

if TYPE_CHECKING:
    from tools.context import ToolContext

_forward = patching.forward_logits  # the prediction pass of patch_prediction below (tests replace it)
SMALL_GAP = 0.05  # a smaller difference in probability makes normalised effects noisy (a caveat)


class PatchParams(InstanceParams):
    contrast_id: int | None = Field(default=None, description="row id of the contrasting input, patched in")
    contrast_text: str | None = Field(default=None, description="free text of the contrasting input, patched in")
    layers: list[int] | None = Field(default=None, description="0-based blocks to patch; default all")

    @field_validator("contrast_text")
    @classmethod
    def _contrast_is_usable(cls, value: str | None) -> str | None:
        return cls._text_is_usable(value)  # the same checks as `text`

    @model_validator(mode="after")
    def _one_contrast(self) -> "PatchParams":
        if self.contrast_id is not None and self.contrast_text is not None:
            raise ValueError("give the contrasting input as either `contrast_id` or `contrast_text`, not both")
        if self.contrast_id is None and self.contrast_text is None:
            raise ValueError("give a contrasting input: `contrast_id` (a row id) or `contrast_text`")
        if self.id is not None and self.id == self.contrast_id:
            raise ValueError(f"the contrast must differ from the input (both are row {self.id})")
        if self.text is not None and self.text == self.contrast_text:
            raise ValueError("the contrast must differ from the input (the two texts are the same)")
        if self.layers is not None and not self.layers:
            raise ValueError("give at least one layer, or omit `layers` for all of them")
        return self


class PatchRun(Output):
    """One of the two unpatched runs."""

    text: str
    id: int | None = None
    gold_label: str | None = None
    prediction: str
    p_clean_label: float  # p(the input's predicted label)
    p_contrast_label: float  # p(the contrast's predicted label)
    logit_diff: float  # log p(clean label) - log p(contrast label)
    n_tokens: int


class PatchLayer(Output):
    layer: int  # 0-based block whose output is patched
    effect: float | None  # prediction position: (patched - input) / (contrast - input) on p(clean label)
    logit_diff_effect: float | None  # the same on the logit difference
    p_clean_label: float  # after the patch
    p_contrast_label: float
    logit_diff: float
    changed_effect: float | None = None  # same-length inputs: the positions whose tokens differ


class PatchPosition(Output):
    position: int  # index into the full model input (prompt included)
    token: str  # the input's token
    contrast_token: str
    differs: bool


class PatchOutput(Output):
    input: PatchRun
    contrast: PatchRun
    kind: Literal["label", "token"]  # classifier labels, or next tokens of a generator
    clean_label: str  # the input's prediction
    contrast_label: str  # the contrast's prediction (its runner-up when both predict the same)
    same_prediction: bool
    aligned: bool  # the same number of tokens: positions line up
    prediction_position: int
    prediction_token: str
    n_layers: int
    layers: list[PatchLayer]
    best_layer: int | None  # largest effect (the earliest within TIE of it); None when nothing differs
    best_effect: float | None
    carried_from: int | None  # first layer from which every patched layer has effect >= CARRIED
    full_patch_effect: float | None  # aligned: every position at the first patched layer (1 by construction)
    changed_tokens: list[PatchPosition]  # aligned: the positions whose tokens differ
    positions: list[PatchPosition] | None  # the map's columns
    matrix: list[list[float | None]] | None  # [patched layer][position] effects
    map_note: str | None  # why there is no map


class Patch(Tool):
    name = "patch"
    description = ("Activation patching between an input and a contrasting one: which layers (and, for inputs of "
                   "the same length, positions) carry the difference in the prediction.")
    Params = PatchParams
    Output = PatchOutput
    knowledge_card = "patch"
    concept_topic = r"activation patching"  # "what is activation patching?", then "ok, do it on 3 and 4"
    figure_name = "patching"
    figure_caption = ("Activation patching: share of the way from the input's prediction to the contrast's when one "
                      "layer's residual stream is copied from the contrast (per layer, and per position when the "
                      "inputs line up).")
    triggers = (
        Trigger(alternatives(
            r"\bactivation[- ]patch",
            r"\bpatch(?:es|ed|ing)?\b.*\b(?:activations?|residual|hidden states?|layers?)\b",
            r"\b(?:activations?|residual stream|hidden states?)\b.*\bpatch",
            r"\bpatch(?:es|ed|ing)?\b.*\b(?:from|into|onto|between|with|and)\b",
            r"^\W*(?:please\s+|now\s+|then\s+|can you\s+|could you\s+)?patch\b",
            r"\bcausal(?:ly)? trac(?:e|es|ed|ing)\b",
            r"\binterchange interventions?\b",
            r"\b(?:which|what) layers?\b.*\b(?:carr(?:y|ies)|holds?|makes?|explains?|causes?|drives?)\b.*"
            r"\b(?:difference|gap|contrast)",
            r"\bwhere in the (?:model|network)\b.*\bdiffer(?:s|ence|ent)?\b",  # "... does A differ from B"
            r"\bdifference between\b.*\b(?:come from|comes from|arise|arises|originate|originates)\b",
        ), priority=45),
    )
    intent_examples = (
        "which layer carries the difference between review 3 and review 4?",
        "patch activations from review 10 into review 11",
        "activation patching between 'the food was great' and 'the food was awful'",
        "where in the model does the difference between review 2 and review 9 come from?",
        "patch the residual stream of review 5 into review 6",
        "causal tracing between review 1 and review 8",
        "which layers make the difference between 'great service' and 'awful service'?",
        "do activation patching from 'the battery died' into 'the battery lasted'",
        "patch layers 3 to 6 from review 12 into review 13",
        "in which layer does the difference between review 4 and review 7 arise?",
        "swap in the hidden states of review 20 while running review 21: which layer matters?",
        "interchange intervention between review 30 and review 31",
    )
    precise = True
    needs_model = True
    cacheable = True
    version = "1"
    examples = ("which layer carries the difference between review 3 and review 4?",
                "activation patching between 'the food was great' and 'the food was awful'")

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        """'what does activation patching tell you about a model?': a question about the method,
        with nothing to patch, goes to the tool that explains concepts."""
        if not asks_about_method(query) or _bare_ids(query):
            return None
        return next((tool.name for tool in REGISTRY.values() if tool.planner_role == "concept"), None)

    @classmethod
    def plan_instances(cls, query: PlanQuery) -> list[dict[str, Any]]:
        """'activation patching between 50 and 51': two bare numbers are the pair's row ids (the
        planner reads a bare number as an id only after a few verbs); the first is the input."""
        mentions = _mentions(query)
        return [mentions[0][1]] if len(mentions) == 2 else []

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
        """The two inputs: the first named is the input and the second the contrast, unless the wording
        says which is patched in ('from review 10 into review 11': 10 is the contrast). The planner
        makes one call per row id; the pair is returned once, on the first id's call."""
        mentions = _mentions(query)
        if len(mentions) > 2:
            raise NeedsClarification("Activation patching compares two inputs; which two do you mean? "
                                     "For example \"patch review 4 into review 3\".")
        rest = {key: value for key, value in args.items() if key not in ("id", "text", "contrast_id", "contrast_text")}
        if len(mentions) == 2:
            ids = query.ids()
            if "id" in args and ids and args["id"] != ids[0]:
                return []  # the second id's call: the pair was planned on the first
            (first_at, first), (second_at, second) = mentions
            source = _source(query.text, first_at, second_at)
            clean = re.search(r"#?(\d+)\s+(?:as|is|being|for) the clean\b", query.text, re.I)
            if clean and second.get("id") == int(clean.group(1)):  # "with row 150 as the clean run and 151 as
                source = 0  # the corrupted one": the clean run is the input, the corrupted one its contrast
            elif clean and first.get("id") == int(clean.group(1)):
                source = 1
            return _pair(*((second, first) if source == 0 else (first, second)), rest)
        instance = query.instance
        if len(mentions) == 1 and query.points_at_instance() and instance and instance != mentions[0][1]:
            at, named = mentions[0]  # "patch review 4 into it", "patch it into review 4"
            into = bool(_INTO.search(query.text[:at]))
            return _pair(*((named, instance) if into else (instance, named)), rest)
        if "contrast_id" in args or "contrast_text" in args:
            return args  # a follow-up keeps its contrast ("and only layers 3 to 5?", "and for review 5?")
        raise NeedsClarification("Patch from which contrasting input? Name a second review or quote a second "
                                 "text, e.g. \"patch review 4 into review 3\".")

    def run(self, ctx: ToolContext, params: PatchParams) -> PatchOutput:
        text, origin = resolve_instance(ctx, params)
        contrast_text, contrast_origin = resolve_instance(
            ctx, InstanceParams(id=params.contrast_id, text=params.contrast_text))
        if text == contrast_text:
            raise InputError("The input and the contrast have the same text, so there is no difference to patch.",
                             "Choose a contrasting review or text that differs from the input.")
        handle, task = ctx.model, ctx.task  # before the model's lock (tools/models/lock.py: lock order)
        result = patch_prediction(handle, task, text, contrast_text, params.layers, quiet=ctx.workspace.quiet)
        result["input"].update(origin)
        result["contrast"].update(contrast_origin)
        return PatchOutput.model_validate(result)

    def caveats(self, ctx: ToolContext, params: PatchParams, output: dict[str, Any]) -> list[str]:
        o = PatchOutput.model_validate(output)
        notes = []
        if not o.aligned:
            notes.append(f"The inputs have different numbers of tokens ({o.input.n_tokens} and "
                         f"{o.contrast.n_tokens}), so only the last position (the prediction position) was "
                         "patched; there is no per-position map.")
        gap = abs(o.contrast.p_clean_label - o.input.p_clean_label)
        if gap < SMALL_GAP:
            notes.append(f"The two inputs' p({o.clean_label}) differ by only {gap:.3f}: normalised effects of so "
                         "small a difference are noisy.")
        if o.same_prediction:
            notes.append(f"Both inputs are predicted {o.clean_label}; the effects measure the move towards the "
                         f"contrast's p({o.clean_label}), not a change of prediction.")
        return notes

    def narrate(self, output: PatchOutput, args: dict[str, Any]) -> str:
        o = output
        show = repr if o.kind == "token" else str  # next tokens are quoted, labels are not
        a, b, label, other = o.input, o.contrast, show(o.clean_label), show(o.contrast_label)
        where = "the prediction position" + (f" ({o.prediction_token!r})" if o.prediction_token.strip() else "")
        head = (f"{_capital(_who(a))} is predicted {show(a.prediction)} (p({label}) {a.p_clean_label:.3f}); "
                f"{_who(b)} {show(b.prediction)} (p({label}) {b.p_clean_label:.3f}).")
        if o.best_layer is None:
            return head + " Their probabilities do not differ, so there is nothing for patching to move."
        final = o.n_layers - 1
        earlier = [r for r in o.layers if r.layer < final and r.effect is not None]
        shown = o.carried_from if o.carried_from is not None and o.carried_from < final else o.best_layer
        if o.carried_from == final or shown == final:
            shown = max(earlier, key=lambda r: r.effect).layer if earlier else None
        row = next((r for r in o.layers if r.layer == shown), None)
        moved = "" if row is None else (
            f"patching layer {shown}'s residual stream at {where} from {_who(b)} into {_who(a)} moves the prediction "
            f"{pct(row.effect)} of the way from {_who(a)}'s to {_who(b)}'s"
            + ("" if o.same_prediction else f" (from {label} towards {other})")
            + f": p({label}) goes from {a.p_clean_label:.3f} to {row.p_clean_label:.3f} ({_who(b)}'s is "
            f"{b.p_clean_label:.3f}).")
        if o.carried_from is not None and o.carried_from < final:
            lines = [f"The difference is carried at the prediction position from layer {o.carried_from} on: {moved}",
                     head, f"The largest effect is at layer {o.best_layer} ({pct(o.best_effect)})"
                     + (", the final block (1 by construction)." if o.best_layer == final else ".")]
        elif o.carried_from == final:
            lines = ["Only the final block carries the difference at the prediction position, and there by "
                     "construction: that position's state is the whole prediction."
                     + (f" Before it, the largest effect is at layer {shown}: {moved}" if moved else ""), head]
        else:
            lines = [f"No patched layer carries half of the difference at the prediction position; the largest "
                     f"effect is at layer {shown}: {moved}", head]
        lines.append("Per layer (prediction position only): " + ", ".join(
            f"{r.layer}: {_share(r.effect)}" for r in _spread(o.layers, 8)) + ".")
        if not o.aligned:
            lines.append(f"The inputs have different numbers of tokens ({a.n_tokens} and {b.n_tokens}), so only the "
                         "last position (the prediction position) was patched.")
            return "\n".join(lines)
        changed = ", ".join(f"{p.token.strip()!r} -> {p.contrast_token.strip()!r}" for p in o.changed_tokens[:4])
        first, last = o.layers[0], o.layers[-1]
        text = (f"The inputs have the same number of tokens ({a.n_tokens}), so positions line up. Patching only the "
                f"positions whose tokens differ ({changed}) moves it {_share(first.changed_effect)} at layer "
                f"{first.layer}")
        text += f" and {_share(last.changed_effect)} at layer {last.layer}" if last is not first else ""
        text += (f"; patching every position at layer {first.layer} reproduces {_who(b)} "
                 f"({_share(o.full_patch_effect)}), as replacing the whole residual stream must.")
        lines.append(text)
        if o.matrix and o.positions:
            tops = []
            for i in sorted({0, len(o.layers) // 2, len(o.layers) - 1}):
                values = [(v if v is not None else float("-inf")) for v in o.matrix[i]]
                j = max(range(len(values)), key=values.__getitem__)
                tops.append(f"at layer {o.layers[i].layer} at {o.positions[j].token!r} ({_share(o.matrix[i][j])})")
            lines.append("One position at a time, the largest effect is " + "; ".join(tops) + ".")
        elif o.map_note:
            lines.append(o.map_note)
        return "\n".join(lines)

    def figure(self, output: PatchOutput, path: Path) -> Path:
        """Effect per layer (prediction position; differing tokens when aligned), beside the layer x
        position heatmap when there is one."""
        plt, o, nan = pyplot(), output, float("nan")
        with_map = bool(o.matrix and o.positions)
        fig, axes = plt.subplots(1, 2 if with_map else 1, figsize=(13 if with_map else 9, 3.8), squeeze=False)
        line, x = axes[0][-1], [r.layer for r in o.layers]
        line.plot(x, [nan if r.effect is None else r.effect for r in o.layers], marker="o", color="#2166ac",
                  label="prediction position")
        if o.aligned:
            line.plot(x, [nan if r.changed_effect is None else r.changed_effect for r in o.layers], marker=".",
                      color="#b2182b", label="differing tokens")
        for level, style in ((0, "-"), (1, "--")):
            line.axhline(level, color="#999999", linewidth=0.8, linestyle=style)
        line.set(xlabel="layer (0-based block)", ylabel="share of the way to the contrast",
                 xticks=x[::max(1, len(x) // 16)])
        line.legend(fontsize=8, loc="best")
        line.set_title(f"p({o.clean_label}) moved towards the contrast", fontsize=10, loc="left")
        if with_map:
            heat, step = axes[0][0], max(1, len(x) // 12)
            image = heat.imshow([[nan if v is None else v for v in row] for row in o.matrix], aspect="auto",
                                cmap="RdBu_r", vmin=-1, vmax=1, origin="lower")
            heat.set_yticks(range(len(x))[::step], [str(v) for v in x][::step])
            heat.set_xticks(range(len(o.positions)), [repr(p.token)[1:-1][:12] for p in o.positions], rotation=90,
                            fontsize=7)
            heat.set_ylabel("layer")
            heat.set_title("one position at a time", fontsize=10, loc="left")
            colour_legend(fig, image, "share of the way to the contrast (0 none, 1 all)", ax=heat)
            fig.subplots_adjust(wspace=0.3)
        return save(fig, path)


# --- planning helpers ------------------------------------------------------------------------
def _mentions(query: PlanQuery) -> list[tuple[int, dict[str, Any]]]:
    """(where in the clause, {"id": n} / {"text": s}) for each row id and quoted text, in order;
    without a named row id, a pair of bare numbers ('between 50 and 51') are row ids."""
    ids = [(_at(query.text, row_id), row_id) for row_id in query.ids()] or _bare_ids(query)
    if len(ids) == 1:  # "patch review 40 with 41 in layers 10 to 12": the contrast as a bare number
        ids += [(m.start(1), int(m.group(1))) for m in _CONTRAST_NUMBER.finditer(query.text)
                if int(m.group(1)) != ids[0][1] and not _LAYERS_BEFORE.search(query.text[:m.start(1)])][:1]
    found = [(at, {"id": row_id}) for at, row_id in ids]
    found += [(m.start(), {"text": text}) for m, text in zip(re.finditer(r"QUOTED", query.text), query.texts)]
    return sorted(found, key=lambda m: m[0])


_CONTRAST_NUMBER = re.compile(r"\b(?:with|against|and|vs\.?|versus|into|from)\s+#?(\d{1,7})\b(?!\s*(?:layers?|%))",
                              re.I)


def _at(clause: str, number: int) -> int:
    """Where the row id `number` is written (not as a layer: 'layers 3 to 6 from review 3')."""
    for m in re.finditer(rf"(?<![\w.]){number}(?![\w.])", clause):
        if not re.search(r"\blayers?\s+(?:\d+\s*(?:,|-|–|and|&|to|through)\s*)*$", clause[:m.start()], re.I):
            return m.start()
    return len(clause)


def _bare_ids(query: PlanQuery) -> list[tuple[int, int]]:
    """(where, number) for a pair of bare numbers that are not layers ('between 50 and 51 only layers
    20-25': 50 and 51), when the clause names no row id; else []."""
    if query.ids():
        return []
    found = [(m.start(), int(m.group(1))) for m in _BARE_NUMBER.finditer(query.text)
             if not _LAYERS_BEFORE.search(query.text[:m.start()])]
    return found if len(found) == 2 else []


# A number written on its own (not "3 words", "2.5", "#4"), and the words before a layer number.
_BARE_NUMBER = re.compile(r"(?<![\w.#-])(\d+)(?![\w.]|\s*(?:%|percent|words?|tokens?|layers?|positions?)\b)", re.I)
_LAYERS_BEFORE = re.compile(r"\b(?:layers?|blocks?|positions?|top|first|last)\s+"
                            r"(?:\d+\s*(?:,|-|–|and|&|to|through)\s*)*$", re.I)


def _pair(target: dict[str, Any], contrast: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    return {**target, **{f"contrast_{key}": value for key, value in contrast.items()}, **rest}


# The words just before a mention that say it is patched in ("from review 10", "with 'x'") or
# patched into ("into review 11").
_FROM = re.compile(r"\b(?:from|with)\s+(?:(?:the|review|row|item|id|text|sentence|input|one|activations|"
                   r"hidden|states?|those|of)\s+)*#?$", re.I)
_INTO = re.compile(r"\b(?:into|onto)\s+(?:(?:the|review|row|item|id|text|sentence|input|one|run|of)\s+)*#?$", re.I)


def _source(clause: str, first_at: int, second_at: int) -> int:
    """Which of the two mentions is patched in (0 or 1): 'from A into B' -> 0; 'into A from B' -> 1;
    otherwise the second ('between A and B': A is the input)."""
    before_first, before_second = clause[:first_at], clause[:second_at]
    if _INTO.search(before_first) or (_FROM.search(before_second) and not _FROM.search(before_first)):
        return 1
    if _FROM.search(before_first) or _INTO.search(before_second):
        return 0
    return 1


# --- narration helpers -----------------------------------------------------------------------
def _who(run: PatchRun) -> str:
    return row_name(run.id) if run.id is not None else quote(run.text, 60)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _share(value: float | None) -> str:
    return "n/a" if value is None else pct(value)


def _spread(items: list[Any], n: int) -> list[Any]:
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def patch_prediction(handle: Any, task: Any, text: str, contrast_text: str, layers: list[int] | None = None,
                     quiet: bool = True) -> dict[str, Any]:
    """The whole measurement (tools/internals/patching.py), every pass through this module's
    `_forward`, looked up at call time: the seam through which a test fails a patched pass."""
    return patching.patch_prediction(handle, task, text, contrast_text, layers, quiet, forward=_forward)
