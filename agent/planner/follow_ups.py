"""Follow-ups that change one slot of the last call in a way the slot's tool decides: "stronger" /
"weaker" rescale a steering strength, and several layers for a tool that acts at one layer are asked
about (one choice per layer) rather than cut to the first (issue 17: never substitute silently)."""
from __future__ import annotations

import re
from typing import Any

from agent.plan import Call, Choice, ConversationState, Plan
from agent.planner.catalog import catalog
from agent.planner.slots import find_ids, find_k, find_layers, find_method, find_metric, find_neuron
from agent.planner.vocabulary import FOLLOW_UP, SELECTION_REFERENT, STRONGER, WEAKER

ALL_LAYERS = re.compile(r"\b(?:all|every|each of the) layers\b", re.I)
# "only", "those", "there", "of them": a follow-up selection inside the last one, not instead of it
NARROWS = re.compile(rf"\b(?:only|just)\b|{SELECTION_REFERENT.pattern}", re.I)


class AskBack(Exception):
    """A tool's hook needs the user to say more; the planner asks its message."""


class FollowUpPlanning:
    """The planner's follow-up turns: 'what about review 5?', 'only layer 5', 'top 20', 'stronger':
    the last tool with new slots. A mixin of RulePlanner (uses its _where, _query, _hooked, labels)."""

    def _follow_up(self, question: str, bare: str, texts: list[str], state: ConversationState) -> Plan | None:
        """'what about review 5?', 'only layer 5', 'top 20', 'at position 2': the last tool, new slots."""
        if not state.last_tool:
            return None
        ids, k, layers, neuron = find_ids(bare), find_k(bare), find_layers(bare), find_neuron(bare)
        method, metric = find_method(bare), find_metric(bare)
        position = re.search(r"\bposition\s*(-?\d+)", bare, re.I)
        where = self._where(bare, texts)
        stronger = bool(STRONGER.search(bare))
        rescale = stronger or bool(WEAKER.search(bare))  # "stronger" / "weaker": the last strength, rescaled
        bare_k = re.fullmatch(r"\W*(?:(?:only|just|the)\s+)?(?:top|first)?\s*(\d+)\s*(?:please)?\W*", bare, re.I)
        if bare_k:
            k = int(bare_k.group(1))
        if not (FOLLOW_UP.search(bare) or ids or texts or method or layers or neuron is not None or position or where
                or k is not None or ALL_LAYERS.search(bare) or re.search(r"\bstrength\b", bare, re.I)
                or rescale):
            return None
        cat = catalog()
        tool, args = state.last_tool, dict(state.last_args)
        if tool in (cat.role("concept"), cat.role("help")):  # a concept question between turns keeps the context
            earlier = next((c for c in reversed(state.history) if c.tool not in (tool, cat.role("help"))), None)
            if earlier is not None:
                tool, args = earlier.tool, dict(earlier.args)
        if not cat.tools[tool].takes_instance() and tool != cat.role("rows") and (ids or texts):
            # "what about review 13" after "describe neuron 1200": the last tool that looked at a row
            earlier = next((c for c in reversed(state.history) if cat.tools[c.tool].takes_instance()
                            and c.tool != cat.role("rows")), None)
            tool, args = ((earlier.tool, dict(earlier.args)) if earlier is not None
                          else (cat.role("rows") if ids else cat.role("default"), {}))
            if "layer" in args and state.last_layer is not None:
                args["layer"] = state.last_layer
        if ids or texts:
            for key in ("id", "text", "where"):
                args.pop(key, None)
            args.update({"id": ids[0]} if ids else {"text": texts[0]})
        if method and cat.takes(tool, "method"):
            args["method"] = method
        if metric and cat.takes(tool, "metric"):
            args["metric"] = metric
        if k is not None and cat.takes(tool, "k"):
            args["k"] = k
        if where and tool in cat.where:
            args.pop("id", None)
            args.pop("text", None)
            args["where"] = narrowed(dict(state.last_where or {}), where) if NARROWS.search(bare) else where
        if layers and cat.takes(tool, "layer") and not cat.takes(tool, "layers"):
            if len(layers) > 1:  # "only layers 10 to 12" for a one-layer tool: ask, never take the first
                return one_layer_choice(question, tool, args, layers)
            args["layer"] = layers[0]
        if layers and cat.takes(tool, "layers"):
            args["layers"] = layers
        if ALL_LAYERS.search(bare):  # "across all layers" drops the last turn's layer choice
            args.pop("layers", None)
        strength = re.search(r"\bstrength\s*(?:of\s*|=\s*)?(-?\d+(?:\.\d+)?)\b", bare, re.I)
        if strength and cat.takes(tool, "strength"):
            value = float(strength.group(1))
            args["strength"] = int(value) if value.is_integer() else value
        if rescale and cat.takes(tool, "strength"):
            args["strength"] = scaled_strength(cat.tools[tool], args.get("strength"), stronger=stronger)
        target = next((label for label in self.labels if re.search(
            rf"\b(?:for|towards?|to) (?:the )?{re.escape(label)}\b|\b{re.escape(label)} (?:label|class|side)\b",
            bare, re.I)), None)
        if target and cat.takes(tool, "target"):
            args["target"] = target
        if neuron is not None and cat.takes(tool, "neuron"):
            args["neuron"] = neuron
        if position and cat.takes(tool, "position"):
            args["position"] = int(position.group(1))
        try:
            calls = self._hooked(tool, args, self._query(bare, state, texts, same_tool=True, follow_up=True))
        except AskBack as ask:
            return Plan(question=question, message=str(ask))
        if (len(calls) == 1 and calls[0].args == state.last_args and tool == state.last_tool
                and not FOLLOW_UP.search(bare)):
            return None
        return Plan(question=question, calls=calls)




def one_layer_choice(question: str, tool: str, args: dict[str, Any], layers: list[int]) -> Plan:
    """A tool that acts at one layer was given several: offer each (a few) instead of running the first."""
    shown = layers[:6]
    choices = [Choice(label=f"{tool} at layer {layer}", calls=[Call(tool=tool, args={**args, "layer": layer})])
               for layer in shown]
    return Plan(question=question, choices=choices,
                message=f"{tool} works at one layer at a time; which of layers "
                        f"{', '.join(map(str, shown))}{' ...' if len(layers) > len(shown) else ''} do you mean?")


def scaled_strength(tool: Any, current: Any, stronger: bool) -> float | int:
    """'stronger' doubles the last strength (after the default sweep: twice its largest); 'weaker' halves
    it (after the sweep: half its smallest non-zero strength)."""
    if current not in (None, 0):
        value = float(current) * 2 if stronger else float(current) / 2
    else:
        sweep = [abs(float(s)) for s in getattr(tool, "default_strengths", (1.0,)) if s] or [1.0]
        value = max(sweep) * 2 if stronger else min(sweep) / 2
    return int(value) if float(value).is_integer() else value


def narrowed(previous: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The last selection with the new filters laid over it: a new value of a key replaces the old
    one ("the restaurant ones" after "the film ones"), and "short" drops "long" and vice versa."""
    merged = {key: value for key, value in previous.items() if key != "ids"}
    if "max_words" in new and "min_words" not in new:
        merged.pop("min_words", None)
    if "min_words" in new and "max_words" not in new:
        merged.pop("max_words", None)
    for key, value in new.items():
        merged[key] = {**merged.get("match", {}), **value} if key == "match" else value
    return merged
