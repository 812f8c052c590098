"""The user's answer to the planner's own clarifying question completes the request it was about.

"what does neuron 900 do?" -> "Neuron 900 of which layer?" -> "in layer 14" must explain neuron 900
of layer 14, and "logit lens of review 12 at layer 45" -> "there is no layer 45" -> "oops, layer 25"
must run the logit lens of review 12; planned on their own, such answers mean nothing (or, worse,
something else). The clarifying plan keeps the calls as far as they were understood (`pending`) and
the slot it asked for (`asks_for`); the conversation state carries both to the next turn, with the
readings it offered as choices ("the second one", "2").

An answer completes the request only when it is short and gives the slot that was asked for; any
other message is planned as a new request, so a user who moves on is not held to the question.
"""
from __future__ import annotations

import re
from typing import Any

from agent.plan import Call, ConversationState
from agent.planner.catalog import catalog
from agent.planner.rules import clause_intent
from agent.planner.slots import find_ids, find_layers, find_method, find_neuron

MAX_ANSWER_WORDS = 10  # "sorry, I meant layer 25 of that one please" is an answer; a longer message is a new request
ORDINALS = {"1": 0, "first": 0, "1st": 0, "former": 0, "2": 1, "second": 1, "2nd": 1, "3": 2, "third": 2,
            "3rd": 2, "4": 3, "fourth": 3, "latter": -1, "last": -1}
PICK = re.compile(
    r"\W*(?:(?:ok(?:ay)?|yes|yeah|yep|sure|fine|then|please)\W+)*(?:(?:the|option|choice|number|no\.?|#)\s*)*"
    rf"({'|'.join(ORDINALS)})(?:\W+(?:one|option|choice|please|then|thanks|obviously|of course|i guess|i think"
    r"|probably|surely|clearly))*\W*",
    re.I,
)
# "nvm. back to the review: top 5 across all layers": the user drops the question and moves on
MOVES_ON = re.compile(r"^\W*(?:nvm|never ?mind|forget (?:it|that|about it)|skip (?:it|that)|anyway)\b|\bback to\b",
                      re.I)
BARE_NUMBER = re.compile(r"\D*?(\d+)\D*")


def picked(bare: str, state: ConversationState) -> list[Call] | None:
    """'2', 'the second one', 'option 1': a reading the last clarifying question offered."""
    m = PICK.fullmatch(bare)
    if not m or not state.offered:
        return None
    index = ORDINALS[m.group(1).lower()]
    if index >= len(state.offered):
        return None
    return [call.model_copy(deep=True) for call in state.offered[index].calls]


def _label(bare: str, labels: list[str]) -> str | None:
    named = [label for label in labels if re.search(rf"(?<!\w){re.escape(label)}(?!\w)", bare, re.I)]
    return named[0] if len(named) == 1 else None


def _slots_given(bare: str, texts: list[str], labels: list[str], asks_for: str | None) -> dict[str, Any]:
    """Every slot value the answer gives; a bare number fills the slot that was asked for."""
    given: dict[str, Any] = {}
    layers, neuron, method, label = find_layers(bare), find_neuron(bare), find_method(bare), _label(bare, labels)
    ids = find_ids(bare)
    number = BARE_NUMBER.fullmatch(bare)
    if not layers and asks_for == "layer" and neuron is None and not ids:
        layers = find_layers("layers " + re.sub(r"^\D*", "", bare))  # "sorry, 24 to 29", "25"
        layers = layers if len(re.findall(r"\d+", bare)) <= 2 else []
    if neuron is None and asks_for == "neuron" and number and not layers and not ids:
        neuron = int(number.group(1))
    if layers:
        given["layers"] = layers
    if neuron is not None:
        given["neuron"] = neuron
    if method:
        given["method"] = method
    if label:
        given["label"] = label
    if texts:
        given["text"] = texts[0]
    elif ids and asks_for == "instance":
        given["id"] = ids[0]
    return given


def _filled(call: Call, given: dict[str, Any]) -> Call:
    cat, args = catalog(), dict(call.args)
    if "layers" in given:
        if cat.takes(call.tool, "layer"):
            args["layer"] = given["layers"][0]
        elif cat.takes(call.tool, "layers"):
            args["layers"] = given["layers"]
    if "neuron" in given and cat.takes(call.tool, "neuron"):
        args["neuron"] = given["neuron"]
    if "method" in given and cat.takes(call.tool, "method"):
        args["method"] = given["method"]
    if "label" in given:
        key = "label" if cat.takes(call.tool, "label") else "target" if cat.takes(call.tool, "target") else None
        if key:
            args[key] = given["label"]
    for key in ("id", "text"):
        if key in given:
            args.pop("id", None)
            args.pop("text", None)
            args[key] = given[key]
    return Call(tool=call.tool, args=args)


SLOT_KEY = {"layer": "layers", "neuron": "neuron", "method": "method", "label": "label"}


def answered(bare: str, texts: list[str], state: ConversationState, labels: list[str]) -> list[Call] | None:
    """The calls the last clarifying question was about, completed by this answer; None when the
    message is not an answer to it."""
    if not (state.pending or state.offered):
        return None
    choice = picked(bare, state)
    if choice is not None:
        return choice
    if not state.pending or len(re.findall(r"\w+", bare)) > MAX_ANSWER_WORDS or MOVES_ON.search(bare):
        return None
    named = clause_intent(bare)  # "sorry, I meant the top neurons for review 12": a new request, not an answer
    if named is not None and named not in {call.tool for call in state.pending}:
        return None
    given = _slots_given(bare, texts, labels, state.asks_for)
    needed = "text" if state.asks_for == "instance" and texts else "id" if state.asks_for == "instance" else (
        SLOT_KEY.get(state.asks_for or ""))
    if needed is None or needed not in given:
        return None
    return [_filled(call, given) for call in state.pending]
