"""patch: activation patching between an input and a contrasting one (Vig et al. 2020; Meng et al.
2022). The residual stream after a block is copied from the contrast's run into the input's run and
the prediction measured: effect (patched - input) / (contrast - input), 0 = none, 1 = the contrast's.

Per layer, the prediction position alone is patched (the last token; the first for an encoder); at
the final block its state is the whole prediction, so the effect there is 1 by construction. Inputs
with the same number of tokens line up: then also the differing tokens, a layer x position map from
the first difference on (earlier positions are identical in a left-to-right model), and a check
that patching every position reproduces the contrast. Hooks come from a context manager that holds
the model's lock and removes them after errors too (design.md habits 10 and 15)."""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal

from pydantic import Field, field_validator, model_validator

from tools.base import InstanceParams, Output, Tool
from tools.common import resolve_instance
from tools.errors import InputError, ToolUnavailable
from tools.figures import pyplot, save
from tools.narration import pct, quote
from tools.planning import NeedsClarification, PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    import numpy as np
    import torch

    from tools.context import ToolContext

MAX_MAP_POSITIONS = 40  # the layer x position map is computed up to this many positions
CARRIED = 0.5  # "carried from layer L on": at least this share of the way at L and every later patched layer
TIE = 0.005  # the best layer is the earliest within this of the largest effect
SMALL_GAP = 0.05  # a smaller difference in probability makes normalised effects noisy (a caveat)
ROW_TOKENS = 8192  # tokens per batched forward pass (rows x input length)
# Encoder families (bidirectional, prediction read at the first token); the rest read left to right.
_ENCODERS = ("bert", "roberta", "distilbert")
Rows = list[tuple[int, list[int], list[int]]]  # patches: (layer, positions in the input, positions in the contrast)


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
            r"\b(?:which|what) layers?\b.*\b(?:carr(?:y|ies)|holds?|makes?|explains?|causes?|drives?)\b.*\bdifference",
            r"\bwhere in the (?:model|network)\b.*\bdifference",
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
            fig.colorbar(image, ax=heat, fraction=0.04)
            fig.subplots_adjust(wspace=0.3)
        return save(fig, path)


# --- planning helpers ------------------------------------------------------------------------
def _mentions(query: PlanQuery) -> list[tuple[int, dict[str, Any]]]:
    """(where in the clause, {"id": n} / {"text": s}) for each row id and quoted text, in order."""
    found = [(_at(query.text, row_id), {"id": row_id}) for row_id in query.ids()]
    found += [(m.start(), {"text": text}) for m, text in zip(re.finditer(r"QUOTED", query.text), query.texts)]
    return sorted(found, key=lambda m: m[0])


def _at(clause: str, number: int) -> int:
    """Where the row id `number` is written (not as a layer: 'layers 3 to 6 from review 3')."""
    for m in re.finditer(rf"(?<![\w.]){number}(?![\w.])", clause):
        if not re.search(r"\blayers?\s+(?:\d+\s*(?:,|-|–|and|&|to|through)\s*)*$", clause[:m.start()], re.I):
            return m.start()
    return len(clause)


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
    return f"review #{run.id}" if run.id is not None else quote(run.text, 60)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _share(value: float | None) -> str:
    return "n/a" if value is None else pct(value)


def _spread(items: list[Any], n: int) -> list[Any]:
    if len(items) <= n:
        return items
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


# --- computation -----------------------------------------------------------------------------
def _is_encoder(model) -> bool:
    return any(family in str(getattr(model.config, "model_type", "")).lower() for family in _ENCODERS)


def _forward(handle, input_ids: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    """The prediction's logits for each row: [rows, vocab] (last position) or [rows, labels]."""
    if handle.kind != "sequence_classifier" and handle.accepts("logits_to_keep"):
        kwargs["logits_to_keep"] = 1
    logits = handle.model(input_ids=input_ids, **kwargs).logits
    return (logits if logits.dim() == 2 else logits[:, -1]).float()


@contextmanager
def patched_residual(model, rows: Rows, states: list[torch.Tensor]) -> Iterator[None]:
    """While open, forward passes of this thread get row r's block-`layer` output at `positions`
    replaced by `states[layer + 1]` (the contrast's, from `captured_residual`) at `sources`, for
    each (layer, positions, sources) = rows[r]. Holds the model's lock; hooks removed on exit."""
    import threading

    from tools.models.architecture import decoder_layers
    from tools.models.lock import model_lock

    blocks = decoder_layers(model)
    if blocks is None:
        raise ToolUnavailable("whybox does not know where this architecture keeps its transformer blocks.")
    owner = threading.get_ident()
    by_layer: dict[int, list[tuple[int, list[int], list[int]]]] = {}
    for row, (layer, positions, sources) in enumerate(rows):
        by_layer.setdefault(layer, []).append((row, positions, sources))

    def hook_for(layer: int):
        def hook(module, args, output):
            if threading.get_ident() != owner:
                return None
            hidden = (output[0] if isinstance(output, tuple) else output).clone()
            source = states[layer + 1][0].to(hidden.dtype)
            for row, positions, sources in by_layer[layer]:
                hidden[row, positions] = source[sources]
            return (hidden, *output[1:]) if isinstance(output, tuple) else hidden
        return hook

    with model_lock(model):
        handles = []
        try:
            for layer in by_layer:
                handles.append(blocks[layer].register_forward_hook(hook_for(layer)))
            yield
        finally:
            for h in handles:
                h.remove()


def reference_runs(handle, clean_ids: list[int], contrast_ids: list[int]):
    """(input logits [1, K], contrast logits [1, K], the contrast's residual stream after the
    embeddings and each block, the input's key/value cache or None), under the model's lock."""
    import torch

    from tools.internals.capture import captured_residual

    with handle.exclusive(), torch.inference_mode():
        with captured_residual(handle.model) as states:
            contrast = _forward(handle, torch.tensor([contrast_ids]))
        if len(states) != handle.n_layers + 1 or tuple(states[-1].shape[:2]) != (1, len(contrast_ids)):
            raise RuntimeError(f"Captured {len(states)} residual states; expected {handle.n_layers + 1} of "
                               f"[1, {len(contrast_ids)}, hidden].")  # our bug, never cached
        if not _cacheable(handle):
            return _forward(handle, torch.tensor([clean_ids])), contrast, states, None
        out = handle.model(input_ids=torch.tensor([clean_ids]), use_cache=True)
        return out.logits[:, -1].float(), contrast, states, out.past_key_values


def _cacheable(handle) -> bool:
    return handle.kind == "causal_lm" and handle.accepts("past_key_values") and handle.accepts("position_ids")


def run_patches(handle, clean_ids: list[int], rows: Rows, states: list[torch.Tensor], prefix=None,
                anchors: tuple[int, ...] = (0,), reduce=None, quiet: bool = True) -> torch.Tensor:
    """The input run once per row of patches, under the model's lock: [len(rows), K] logits, or
    `reduce(logits)` of each batch. With the input's key/value cache (`prefix`), a row starts at the
    largest anchor at or before its first patched position (earlier positions are the same in every
    row of a left-to-right model) and only the rest is run."""
    import copy

    import torch

    from tools.progress import bar

    n = len(clean_ids)
    groups: dict[int, list[int]] = {}
    for index, (_, positions, _) in enumerate(rows):
        start = max((a for a in anchors if a <= min(positions)), default=0) if prefix is not None else 0
        groups.setdefault(start, []).append(index)
    progress = bar(len(rows), "patching", quiet=quiet or len(rows) <= ROW_TOKENS // n)
    out: list[torch.Tensor | None] = [None] * len(rows)
    with handle.exclusive(), torch.inference_mode():
        for start, members in sorted(groups.items()):
            per_pass = max(1, ROW_TOKENS // (n - start))
            for first in range(0, len(members), per_pass):
                part = members[first:first + per_pass]
                kwargs: dict[str, Any] = {}
                if start:
                    cache = copy.deepcopy(prefix)
                    cache.crop(start - n)  # keep the first `start` positions
                    cache.batch_repeat_interleave(len(part))
                    kwargs = {"past_key_values": cache, "use_cache": True,
                              "attention_mask": torch.ones((len(part), n), dtype=torch.long),
                              "position_ids": torch.arange(start, n).unsqueeze(0).expand(len(part), -1)}
                shifted = [(rows[i][0], [p - start for p in rows[i][1]], rows[i][2]) for i in part]
                with patched_residual(handle.model, shifted, states):
                    logits = _forward(handle, torch.tensor([clean_ids[start:]] * len(part)), **kwargs)
                for i, row in zip(part, logits if reduce is None else reduce(logits)):
                    out[i] = row
                progress.update(len(part))
    progress.close()
    return torch.stack(out) if rows else torch.zeros((0, 0))


def _probabilities(task):
    """Logits (or reduced logits) -> the probabilities the task reports (calibrated label words)."""
    import torch

    if hasattr(task, "label_probs_from_logits"):
        return lambda logits: task.calibrated(task.label_probs_from_logits(logits)[0].double().numpy())
    return lambda logits: torch.softmax(logits.double(), -1).numpy()


def _effect(patched: float, clean: float, contrast: float) -> float | None:
    gap = contrast - clean
    return None if abs(gap) < 1e-9 else (patched - clean) / gap


def patch_prediction(handle, task, text: str, contrast_text: str, layers: list[int] | None = None,
                     quiet: bool = True) -> dict[str, Any]:
    """The whole measurement (PatchOutput's fields, without the rows' ids and gold labels)."""
    import numpy as np
    import torch

    if handle.layers is None:
        raise ToolUnavailable("whybox does not know where this architecture keeps its transformer blocks.")
    n_layers = handle.n_layers
    chosen = sorted(set(range(n_layers) if layers is None else layers))
    bad = [layer for layer in chosen if not 0 <= layer < n_layers]
    if bad:
        raise InputError(f"Layer {bad[0]} is out of range: the model has {n_layers} layers (0 to {n_layers - 1}).")
    if getattr(task, "calibrate", False):
        task.calibration  # computed now, never while patching hooks are on the model
    clean_ids, contrast_ids = list(task.encode(text).input_ids), list(task.encode(contrast_text).input_ids)
    if clean_ids == contrast_ids:
        raise InputError("The input and the contrast give the same tokens, so there is no difference to patch.")
    aligned, encoder = len(clean_ids) == len(contrast_ids), _is_encoder(handle.model)
    n = len(clean_ids)
    read, read_contrast = (0, 0) if encoder else (n - 1, len(contrast_ids) - 1)
    differing = [i for i in range(n) if aligned and clean_ids[i] != contrast_ids[i]]
    start = 0 if encoder or not differing else differing[0]
    span = list(range(start, n)) if aligned else []
    map_note = None
    if aligned and len(span) > MAX_MAP_POSITIONS:
        map_note = (f"No per-position map: the inputs span {len(span)} positions from their first difference on, "
                    f"and the map is computed up to {MAX_MAP_POSITIONS}.")
    with_map = aligned and map_note is None

    keys: dict[tuple[int, tuple[int, ...]], int] = {}
    rows: Rows = []

    def row_of(layer: int, positions: list[int], sources: list[int]) -> int:
        key = (layer, tuple(positions))
        if key not in keys:
            keys[key] = len(rows)
            rows.append((layer, positions, sources))
        return keys[key]

    last = {layer: row_of(layer, [read], [read_contrast]) for layer in chosen}
    changed = {layer: row_of(layer, differing, differing) for layer in chosen} if aligned else {}
    full = row_of(chosen[0], list(range(n)), list(range(n))) if aligned else None
    cells = {(layer, p): row_of(layer, [p], [p]) for layer in chosen for p in span} if with_map else {}
    clean_logits, contrast_logits, states, prefix = reference_runs(handle, clean_ids, contrast_ids)
    probs = _probabilities(task)
    clean_p, contrast_p = probs(clean_logits)[0], probs(contrast_logits)[0]
    a, b = int(np.argmax(clean_p)), int(np.argmax(contrast_p))
    same = a == b
    if same:
        b = int(np.argmax(np.where(np.arange(len(contrast_p)) == a, -np.inf, contrast_p)))
    classifier = bool(getattr(task, "is_classifier", False))
    decode = handle.tokenizer.decode
    name = (lambda i: task.labels[i]) if classifier else (lambda i: decode([i]))
    reduce, to_probs, pick = None, probs, [a, b]  # what a patched pass keeps: a classifier head's logits
    if hasattr(task, "label_probs_from_logits"):  # label words: the labels' raw probabilities

        def reduce(logits):
            return task.label_probs_from_logits(logits)[0]

        def to_probs(kept):
            return task.calibrated(kept.double().numpy())
    elif not classifier:  # a vocabulary: the two tokens' probabilities only

        def reduce(logits):
            return torch.log_softmax(logits.double(), -1)[:, [a, b]].exp()

        def to_probs(kept):
            return kept.numpy()
        pick = [0, 1]
    patched = run_patches(handle, clean_ids, rows, states, prefix, (0, start, n - 1), reduce, quiet)
    patched_p = to_probs(patched)[:, pick]

    def measure(p: np.ndarray) -> tuple[float, float, float]:
        pa, pb = float(p[0]), float(p[1])
        return pa, pb, float(np.log(max(pa, 1e-300)) - np.log(max(pb, 1e-300)))

    (ca, cb, cl), (ka, kb, kl) = measure(clean_p[[a, b]]), measure(contrast_p[[a, b]])

    def effect(row: int | None) -> float | None:
        if row is None:
            return None
        value = _effect(measure(patched_p[row])[0], ca, ka)
        return None if value is None else round(value, 4)

    layer_rows = []
    for layer in chosen:
        pa, pb, ld = measure(patched_p[last[layer]])
        ld_effect = _effect(ld, cl, kl)
        layer_rows.append({
            "layer": layer, "effect": effect(last[layer]),
            "logit_diff_effect": None if ld_effect is None else round(ld_effect, 4),
            "p_clean_label": round(pa, 4), "p_contrast_label": round(pb, 4), "logit_diff": round(ld, 4),
            "changed_effect": effect(changed.get(layer)),
        })
    effects = [(r["layer"], r["effect"]) for r in layer_rows if r["effect"] is not None]
    best_layer = best_effect = carried = None
    if effects:
        top = max(e for _, e in effects)
        best_layer, best_effect = next((layer, e) for layer, e in effects if e >= top - TIE)
        for i in range(len(layer_rows)):
            if all(r["effect"] is not None and r["effect"] >= CARRIED for r in layer_rows[i:]):
                carried = layer_rows[i]["layer"]
                break

    def position(i: int) -> dict[str, Any]:
        return {"position": i, "token": decode([clean_ids[i]]), "contrast_token": decode([contrast_ids[i]]),
                "differs": clean_ids[i] != contrast_ids[i]}

    def run(ids: list[int], p: np.ndarray, text_: str, measured: tuple[float, float, float]) -> dict[str, Any]:
        return {"text": text_, "prediction": name(int(np.argmax(p))), "p_clean_label": round(measured[0], 4),
                "p_contrast_label": round(measured[1], 4), "logit_diff": round(measured[2], 4), "n_tokens": len(ids)}

    return {
        "input": run(clean_ids, clean_p, text, (ca, cb, cl)),
        "contrast": run(contrast_ids, contrast_p, contrast_text, (ka, kb, kl)),
        "kind": "label" if classifier else "token", "clean_label": name(a), "contrast_label": name(b),
        "same_prediction": same, "aligned": aligned, "prediction_position": read,
        "prediction_token": decode([clean_ids[read]]), "n_layers": n_layers, "layers": layer_rows,
        "best_layer": best_layer, "best_effect": best_effect, "carried_from": carried,
        "full_patch_effect": effect(full), "changed_tokens": [position(i) for i in differing],
        "positions": [position(i) for i in span] if with_map else None,
        "matrix": [[effect(cells[(layer, p)]) for p in span] for layer in chosen] if with_map else None,
        "map_note": map_note,
    }
