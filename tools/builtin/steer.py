"""steer: contrastive activation addition (Turner et al. 2023; Panickssery et al. 2024). A direction is
added, times a strength, to the residual stream after one block at every position, and the
prediction (or continuation) is read at each strength: a dose-response curve.

`target` (a label): the rows of that gold label minus the other labelled rows, each row's state the
mean over its own tokens in the task's prompt (the pooled states probe and similar cache on disk
per model, task and texts). `concept` (a word): the word's own tokens in template sentences,
averaged over a tiny built-in list for a few poles and contrasted with the opposite pole; any other
word is itself against neutral words. Strength multiplies the raw difference (CAA's multiplier);
strength 0 runs with no hook at all. The hook holds the model's lock and is removed also after an
error (design.md habits 10 and 15). The machinery (hook, directions, readings) lives in
tools/internals/steering.py; this module is the tool. Details and limits: prompts/cards/steer.md.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from tools.base import REGISTRY, InstanceParams, Output, Tool
from tools.common import dataset_states, resolve_instance
from tools.errors import InputError, WhyboxError
from tools.internals.steering import (  # the machinery; the three marked F401 are re-exported for the tests
    NEUTRAL,  # noqa: F401
    POLES,
    TEMPLATES,
    concept_direction,
    concept_lists,
    random_like,
    residual_norm,
    rows_direction,
    steered,
    steering,  # noqa: F401
    text_perplexity,
    word_states,  # noqa: F401
)
from tools.narration import quote, subject
from tools.planning import PlanQuery, Trigger, alternatives, asks_about_method

if TYPE_CHECKING:
    from tools.context import ToolContext

DEFAULT_STRENGTHS = (0.0, 1.0, 2.0, 4.0, 8.0)
OFF_TASK = 0.1  # label-word mass below this share of the unsteered one: pushed off the task


class SteerParams(InstanceParams):
    target: str | None = Field(default=None, description="label to steer towards (direction: its rows' mean "
                                                          "residual state minus the other rows'); default: the most "
                                                          "likely label other than the predicted one")
    concept: str | None = Field(default=None, description="a concept word to steer towards instead (built-in lists "
                                                           "for " + ", ".join(POLES) + "; else the word itself)")
    layer: int | None = Field(default=None, description="0-based block whose output is steered (default: where a "
                                                        "probe of the labels is most selective; concept: the middle)")
    strength: float | None = Field(default=None, ge=-100, le=100, description="multiple of the direction to add "
                                   "(default: a sweep 0, 1, 2, 4, 8); strength 0 always runs as the reference")

    @field_validator("concept")
    @classmethod
    def _short_concept(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split()).strip(" '\"")
        if not value or len(value) > 40 or len(value.split()) > 3:
            raise ValueError("give a concept as a word or a short phrase (up to 3 words)")
        return value

    @model_validator(mode="after")
    def _one_direction(self) -> "SteerParams":
        if self.target is not None and self.concept is not None:
            raise ValueError("give either `target` (a label) or `concept` (a word), not both")
        return self


class Direction(Output):
    source: Literal["rows", "concept"]
    label: str | None = None  # rows: the gold label steered towards
    concept: str | None = None
    rows_target: int | None = None  # rows: how many rows of the label, and of the others
    rows_other: int | None = None
    words: list[str] = []  # concept: the words, and what they are contrasted with
    contrast_words: list[str] = []
    contrast: str  # "the other labels' rows", "opposite words", "neutral words"
    norm: float
    reference_norm: float  # mean residual norm of the text's own tokens at the layer, unsteered
    relative_norm: float  # norm / reference_norm


class SteerPoint(Output):
    strength: float
    probabilities: dict[str, float] | None = None  # classifiers
    predicted: str | None = None
    tracked_probability: float | None = None  # probability of the label the curve follows
    label_mass: float | None = None  # label-word tasks: next-token mass on the label words
    continuation: str | None = None  # generation
    changed: bool  # prediction / continuation differs from strength 0
    # The control: a random direction of the same norm at the same strength (classifiers)
    random_predicted: str | None = None
    random_tracked_probability: float | None = None
    perplexity: float | None = None  # of the text itself under this push (causal LMs): "moved" vs "broke"


class SteerOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    kind: Literal["classification", "generation"]
    layer: int
    layers: int
    # how the layer was chosen: "given", "probe" (the most selective layer of a probe over all layers for
    # the dataset's labels, as the issue asks) or "middle" (a concept direction, or no probe possible)
    layer_choice: Literal["given", "probe", "middle"] = "given"
    layer_selectivity: float | None = None  # the probe's selectivity at that layer
    direction: Direction
    tracked: str | None  # the label whose probability the curve follows (None: no label to follow)
    unsteered: str  # the prediction or the continuation at strength 0
    points: list[SteerPoint]
    flips_at: float | None  # first strength whose prediction is the tracked label (else: differs from 0)
    flips_to: str | None
    already_target: bool
    monotonic: bool | None  # tracked probability never falls as the strength grows (3+ points)



class Steer(Tool):
    name = "steer"
    description = ("Add a steering direction (the difference of class means, or a concept's words minus contrast "
                   "words) to the residual stream at one layer and show how the prediction or continuation changes "
                   "with the strength (a dose-response curve).")
    Params = SteerParams
    Output = SteerOutput
    # The planner's "stronger" / "weaker" follow-ups scale from here when no strength was given.
    default_strengths = DEFAULT_STRENGTHS
    figure_name = "steering"
    figure_caption = "Dose-response: label probabilities as the steering strength grows; the dotted line marks a flip."
    triggers = (
        Trigger(alternatives(
            r"\bsteer(?:ing)?\b",  # not "steers"/"steered": "what steered it to negative?" asks for attribution
            r"\bsteered (?:towards?|along|in the direction|with)\b",
            r"\bactivation (?:addition|steering)\b",
            r"\b(?:push|nudge)(?:es|ed|ing)? (?:the |its )?(?:activations?|residual stream|hidden states?)\b",
            r"\b(?:push|nudge)(?:es|ed|ing)? the model\b",
            r"(?:^\W*|\b(?:can|could|would|will) (?:you|i|we) (?:please )?|\bplease |\b(?:let'?s|try to|i want to"
            r"|i'?d like to) )(?:push|nudge) (?:it|this|that|QUOTED|(?:review|id|item|row|instance|text) #?\d+)\b",
            r"\bmake the model (?:more|less) [a-z-]+ (?:on|for|about|with)\s+(?:QUOTED|it\b|this|that|(?:review|id"
            r"|item|row|instance|example|text) #?\d+)",
            r"\b(?:add|adding|inject(?:ing)?)\b.{0,40}\b(?:direction|vector) (?:to|into|on|at)\b",
            r"\bwith (?:a )?strength (?:of )?-?\d",
            r"\bdose[- ]response\b",
        ), priority=65),
    )
    intent_examples = (
        "can you push review 5 towards positive?",
        "steer it towards negative at layer 10",
        "make the model more positive on 'the food was cold'",
        "add a sentiment steering vector to review 3",
        "what happens if I steer review 8 with strength 4",
        "steer review 12 towards positive",
        "nudge the model towards negative on review 4",
        "apply a steering vector towards sarcasm to review 9",
        "steer 'the movie was long' towards positive with strength 2",
        "push the activations of review 7 towards negative at layer 5",
        "activation addition on review 20 towards the negative label",
        "show a dose-response curve for steering review 6",
        "steer review 2 with a formality direction",
    )
    precise = True  # "steer" is an exact word; the learned model must not turn it into a counterfactual
    needs_model = True
    cacheable = True
    knowledge_card = "steer"
    version = "3"  # 2: the random-direction control and the perplexity of each point; 3: the probe picks the layer
    examples = ("steer review 5 towards positive", "steer 'the soup was cold' towards positive at layer 10 with "
                "strength 4")
    concept_topic = r"steer|activation addition"

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        """'what is steering?', 'how does activation steering work?': a question about the method,
        with nothing to steer, goes to the tool that explains concepts."""
        if not asks_about_method(query):
            return None
        return next((tool.name for tool in REGISTRY.values() if tool.planner_role == "concept"), None)

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """A label named as a direction gives `target` ('towards positive', 'more negative', 'the
        positive direction'); another word gives `concept` ('towards sarcasm', 'a formality
        vector'); 'strength 4' gives `strength`. An axis ('a sentiment vector') gives neither."""
        strength = re.search(r"\bstrength\s*(?:of|=|:|is)?\s*(-?\d+(?:\.\d+)?)", query.counted_text(), re.I)
        if strength:
            value = float(strength.group(1))
            args["strength"] = int(value) if value.is_integer() else value  # "strength 2" prints as 2
        label = next((label for label in query.labels if query.search(
            r"\b(?:towards?|to|into|more|in the direction of|in favou?r of)\s+(?:the\s+)?(?:label\s+)?['\"]?"
            rf"{re.escape(label)}\b") or query.search(
            rf"\b{re.escape(label)}\s+(?:steering\s+)?(?:direction|vector|side)\b") or query.search(
            rf"\b{re.escape(label)}[- ]minus[- ]\w+")), None)  # "the positive-minus-negative direction"
        concept = None if label else _concept(query, args)
        if label:
            args.pop("concept", None)
            args["target"] = label
        elif concept:
            args.pop("target", None)
            args["concept"] = concept
        return args

    def run(self, ctx: ToolContext, params: SteerParams) -> SteerOutput:
        import numpy as np
        import torch

        text, origin = resolve_instance(ctx, params)
        handle, task = ctx.model, ctx.task
        n = handle.n_layers
        layer, layer_choice, selectivity = _chosen_layer(ctx, params, n)
        if not 0 <= layer < n:
            raise InputError(f"Layer {layer} is out of range: the model has {n} layers (0 to {n - 1}).")
        classifier = task.is_classifier
        labels = list(task.labels) if classifier else []
        if params.target is not None and classifier and params.target not in labels:
            raise InputError(f"Unknown label {params.target!r}.", f"Labels: {', '.join(labels)}.")
        if params.concept is None and not ctx.dataset.has_labels:
            raise InputError("The dataset has no gold labels to build a direction from.",
                             "Name a `concept` to steer towards, e.g. concept 'positive'.")
        if params.concept is None and not classifier and params.target is None:
            raise InputError("Name a `target` label or a `concept` to steer the generated text towards.")
        if classifier and getattr(task, "calibrate", False):
            task.calibration  # computed unsteered now: a hook must never leak into the cached calibration
        dataset = ctx.dataset  # the workspace is touched before the model's lock, never under it
        states = dataset_states(ctx) if params.concept is None else None
        given = () if params.strength is None else tuple(dict.fromkeys((0.0, float(params.strength))))
        strengths = given or DEFAULT_STRENGTHS
        with handle.exclusive():
            base = steered(handle, task, text, layer, None)
            if params.concept is None:
                target = params.target or (labels[int(np.argsort(base[0])[-2])] if classifier else None)
                if target not in dataset.labels:
                    raise InputError(f"No row has the gold label {target!r}.", f"Labels: {', '.join(dataset.labels)}.")
                vector, n_target, n_other = rows_direction(states, [r.label for r in dataset.rows], target, layer)
                info: dict[str, Any] = {"source": "rows", "label": target, "rows_target": n_target,
                                        "rows_other": n_other, "contrast": "the other labels' rows"}
                tracked = target if classifier else None
            else:
                concept, words, contrast, kind = concept_lists(params.concept)
                vector = concept_direction(ctx, handle, layer, words, contrast)
                info = {"source": "concept", "concept": concept, "words": list(words),
                        "contrast_words": list(contrast), "contrast": kind}
                tracked = next((label for label in labels if label.lower() == concept.lower()), None)
            reference = residual_norm(handle, task, text, layer)
            direction = torch.tensor(vector, dtype=torch.float32, device=handle.device)
            readings = [base if s == 0 else steered(handle, task, text, layer, direction * s) for s in strengths]
            control = torch.tensor(random_like(vector, seed=layer + 1), dtype=torch.float32, device=handle.device)
            randoms = [None if s == 0 or not classifier else steered(handle, task, text, layer, control * s)
                       for s in strengths]
            perplexities = [text_perplexity(handle, text, layer, None if s == 0 else direction * s) for s in strengths]
        norm = float(np.linalg.norm(vector))
        info.update(norm=round(norm, 4), reference_norm=round(reference, 4),
                    relative_norm=round(norm / max(reference, 1e-12), 4))
        points = [_point(s, r, labels, tracked, readings[0], c, ppl)
                  for s, r, c, ppl in zip(strengths, readings, randoms, perplexities)]
        unsteered = points[0].predicted if classifier else (points[0].continuation or "")
        already = tracked is not None and points[0].predicted == tracked
        flip = next((p for p in points if p.strength != 0 and (
            p.predicted == tracked if tracked is not None else p.changed)), None) if not already else None
        return SteerOutput(
            text=text, **origin, kind="classification" if classifier else "generation", layer=layer, layers=n,
            layer_choice=layer_choice, layer_selectivity=selectivity,
            direction=Direction(**info), tracked=tracked, unsteered=unsteered or "", points=points,
            flips_at=flip.strength if flip else None,
            flips_to=(flip.predicted if classifier else None) if flip else None,
            already_target=already, monotonic=_monotonic(points),
        )

    def narrate(self, output: SteerOutput, args: dict[str, Any]) -> str:
        o = output
        d = o.direction
        goal = f"**{d.label}**" if d.source == "rows" else f"the concept '{d.concept}'"
        text = f"Steering {subject(o)} towards {goal} at layer {o.layer}{_layer_reason(o)}: "
        last = o.points[-1]
        if o.kind == "classification":
            text += _classifier_answer(o, last)
            if o.tracked:
                text += f" Probability of {o.tracked} by strength: " + "; ".join(
                    f"{_num(p.strength)}: {p.tracked_probability:.3f} ({p.predicted})" for p in o.points) + "."
                if o.monotonic is False:
                    text += " It does not rise steadily with the strength."
            else:
                text += " Predictions by strength: " + "; ".join(
                    f"{_num(p.strength)}: {p.predicted} ({max((p.probabilities or {}).values()):.3f})"
                    for p in o.points) + "."
        else:
            text += (f"the continuation first changes at strength {_num(o.flips_at)}." if o.flips_at is not None else
                     f"the continuation stays the same up to strength {_num(last.strength)}.")
            text += " Continuations: " + "; ".join(f"{_num(p.strength)}: {quote(p.continuation or '', 80)}"
                                                   for p in o.points) + "."
        text += _control_sentence(o)
        if d.source == "rows":
            text += (f"\nThe direction is the mean residual state of the {d.rows_target} {d.label} rows minus that of "
                     f"the {d.rows_other} other labelled rows (each row averaged over its own tokens)")
        else:
            text += (f"\nThe direction is the residual state of {len(d.words)} word(s) for '{d.concept}' minus "
                     f"{len(d.contrast_words)} {d.contrast}, read in {len(TEMPLATES)} template sentences")
        text += (f"; its norm is {d.norm:.3g}, {d.relative_norm:.2f} times this text's mean residual norm at that "
                 "layer. Strength s adds s times the direction at every position. Steering shows a direction the "
                 "model can be pushed along, not that the model uses it when it decides.")
        return text

    def figure(self, output: SteerOutput, path: Path) -> Path | None:
        """Label probabilities against the strength; the tracked label bold, a flip dotted."""
        if output.kind != "classification":
            return None
        from tools.figures import pyplot, save

        plt = pyplot()
        points = sorted(output.points, key=lambda p: p.strength)
        x = [p.strength for p in points]
        fig, ax = plt.subplots(figsize=(6.4, 3.4))
        for label in points[0].probabilities or {}:
            bold = label == output.tracked
            ax.plot(x, [(p.probabilities or {})[label] for p in points], marker="o", linewidth=2.4 if bold else 1.2,
                    alpha=1.0 if bold else 0.6, label=f"p({label})")
        if output.flips_at is not None:
            ax.axvline(output.flips_at, color="#444444", linestyle=":", label=f"flips to {output.flips_to}")
        ax.axhline(0.5, color="#bbbbbb", linewidth=0.8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"strength (multiples of the direction, norm {output.direction.norm:.3g})")
        ax.set_ylabel("probability")
        towards = output.direction.label or output.direction.concept
        ax.set_title(f"Steering towards {towards} at layer {output.layer}", fontsize=10, loc="left")
        ax.legend(fontsize=8, loc="best")
        return save(fig, path)

    def caveats(self, ctx: ToolContext, params: SteerParams, output: dict[str, Any]) -> list[str]:
        notes = []
        d = output["direction"]
        if d["source"] == "rows" and min(d["rows_target"], d["rows_other"]) < 5:
            notes.append(f"The direction rests on only {d['rows_target']} rows of {d['label']} and "
                         f"{d['rows_other']} other rows; it is noisy.")
        if d["source"] == "concept" and d["contrast"] == "neutral words":
            notes.append(f"'{d['concept']}' is not in the built-in lexicon, so its direction comes from the word "
                         "itself against neutral words: it mixes the meaning with the word's form and frequency.")
        masses = [p for p in output["points"] if p["label_mass"] is not None]
        off = next((p for p in masses[1:] if p["label_mass"] < OFF_TASK * masses[0]["label_mass"]), None)
        if off:
            notes.append(f"At strength {_num(off['strength'])} the label words get only {off['label_mass']:.1%} of "
                         f"the next-token probability ({masses[0]['label_mass']:.1%} unsteered): the model is pushed "
                         "off the task, and the label probabilities there are renormalised from very little mass.")
        unspecific = next((p for p in output["points"] if output["tracked"] and not output["already_target"]
                           and p["random_predicted"] == output["tracked"]), None)
        if unspecific:
            notes.append(f"A random direction of the same norm also gives {output['tracked']} at strength "
                         f"{_num(unspecific['strength'])}: the flip is not specific to the steering direction.")
        biggest = max(abs(p["strength"]) for p in output["points"])
        if biggest * d["relative_norm"] > 1:
            notes.append(f"At strength {_num(biggest)} the added vector is longer than the text's own residual "
                         "states; effects that large say little about the model's ordinary behaviour.")
        return notes


def _point(strength: float, reading: Any, labels: list[str], tracked: str | None, base: Any, control: Any = None,
           perplexity: float | None = None) -> SteerPoint:
    ppl = round(perplexity, 4) if perplexity is not None else None
    if labels:
        probs, mass = reading
        predicted = labels[int(probs.argmax())]
        random_probs = control[0] if control is not None else None
        return SteerPoint(
            strength=strength, probabilities={label: round(float(p), 6) for label, p in zip(labels, probs)},
            predicted=predicted, label_mass=round(mass, 6),
            tracked_probability=round(float(probs[labels.index(tracked)]), 6) if tracked else None,
            changed=predicted != labels[int(base[0].argmax())], perplexity=ppl,
            random_predicted=labels[int(random_probs.argmax())] if random_probs is not None else None,
            random_tracked_probability=(round(float(random_probs[labels.index(tracked)]), 6)
                                        if random_probs is not None and tracked else None))
    return SteerPoint(strength=strength, continuation=reading.text, changed=reading.token_ids != base.token_ids,
                      perplexity=ppl)


def _monotonic(points: list[SteerPoint]) -> bool | None:
    values = [p.tracked_probability for p in sorted(points, key=lambda p: p.strength)]
    if len(values) < 3 or any(v is None for v in values):
        return None
    return all(b >= a - 1e-4 for a, b in zip(values, values[1:]))


def _chosen_layer(ctx: ToolContext, params: SteerParams, n: int) -> tuple[int, str, float | None]:
    """The given layer; else, for a direction from the labels, the layer where a probe of those labels is
    most selective (the probe is cached per model and data, so only the first steer pays for it); else
    the middle block."""
    if params.layer is not None:
        return params.layer, "given", None
    if params.concept is None and ctx.dataset.has_labels:
        from tools.registry import run_tool

        try:
            layers = run_tool(ctx, "probe", {}).output["layers"]
        except WhyboxError:  # too few rows of a label, one label only: the middle block, said so
            layers = []
        best = max(layers, key=lambda r: (r["selectivity"], r["accuracy"]), default=None)
        if best is not None and best["selectivity"] > 0:
            return int(best["layer"]), "probe", float(best["selectivity"])
    return n // 2, "middle", None


def _layer_reason(o: SteerOutput) -> str:
    if o.layer_choice == "probe":
        return (f" (where a probe of the labels is most selective: selectivity {o.layer_selectivity:.3f}; "
                "name a layer to choose another)")
    if o.layer_choice == "middle":
        return f" (the middle of {o.layers} layers; name a layer to choose another)"
    return ""


def _control_sentence(o: SteerOutput) -> str:
    """The control and the breakage check at the flip strength (else the largest): a random direction of
    the same norm, and the text's perplexity, so that 'it flipped' is not just 'it broke'."""
    base = o.points[0]
    last = next((p for p in o.points if p.strength == o.flips_at), o.points[-1])
    text = ""
    if last.random_predicted is not None:
        moved = (f"probability of {o.tracked} {last.random_tracked_probability:.3f}" if o.tracked
                 and last.random_tracked_probability is not None else "")
        text += (f" Control: a random direction of the same norm at strength {_num(last.strength)} gives "
                 f"{last.random_predicted}" + (f" ({moved})" if moved else "") + ".")
    if last.perplexity is not None and base.perplexity is not None:
        text += (f" The text's perplexity goes from {base.perplexity:.3g} unsteered to {last.perplexity:.3g} at "
                 f"strength {_num(last.strength)}" + (" (the push is breaking the model, not only moving it)."
                                                     if last.perplexity > 2 * base.perplexity else "."))
    return text


def _num(value: float | None) -> str:
    return f"{value:g}" if value is not None else "none"


def _classifier_answer(o: SteerOutput, last: SteerPoint) -> str:
    base = o.points[0]
    if o.already_target:
        return (f"the model already predicts {o.tracked} without steering ({base.tracked_probability:.3f}); at "
                f"strength {_num(last.strength)} its probability is {last.tracked_probability:.3f}.")
    if o.flips_at is not None:
        return f"the prediction flips from {o.unsteered} to {o.flips_to} at strength {_num(o.flips_at)}."
    if o.tracked:
        return (f"the prediction never flips to {o.tracked}: at strength {_num(last.strength)} it is still "
                f"{last.predicted} (probability of {o.tracked} {last.tracked_probability:.3f}, "
                f"{base.tracked_probability:.3f} unsteered).")
    return f"the prediction stays {o.unsteered} up to strength {_num(last.strength)}."


_NOT_CONCEPTS = {"the", "a", "an", "it", "this", "that", "them", "review", "row", "item", "text", "label", "labels",
                 "layer", "strength", "model", "same", "other", "opposite", "steering", "direction", "vector",
                 "concept", "class", "sentiment", "new", "random", "more", "less", "being", "its", "target"}


def _concept(query: PlanQuery, args: dict[str, Any]) -> str | None:
    """'the concept sarcasm', 'towards sarcasm', 'a formality (steering) vector', 'make the model more
    formal on ...'; a quoted concept ('towards "irony"') is the quoted text that is not the instance."""
    for pattern in (r"\b(?:an?|the|with)\s+(?:an?\s+)?([a-z][a-z-]+)\s+concept\b",  # "with a sarcasm concept"
                    r"\bconcept\s+(?:of\s+)?([a-z][a-z-]+)",  # "with the concept 'sarcasm'"
                    r"\btowards?\s+(?:more\s+|being\s+)?(?:the\s+)?(?:concept\s+(?:of\s+)?)?([a-z][a-z-]+)",
                    r"\b(?:an?|the|with)\s+(?:an?\s+)?([a-z][a-z-]+)\s+(?:steering\s+)?(?:direction|vector)\b",
                    r"\bmake the model (?:more|less)\s+([a-z][a-z-]+)"):
        m = query.search(pattern)
        if not m:
            continue
        word = m.group(1)
        if word == "QUOTED":
            n = query.text[:m.start(1)].count("QUOTED")
            quoted = query.texts[n] if n < len(query.texts) else None
            return quoted if quoted and quoted != args.get("text") and len(quoted.split()) <= 3 else None
        word = word.lower()
        if word not in _NOT_CONCEPTS and word not in {label.lower() for label in query.labels}:
            return word
    return None
