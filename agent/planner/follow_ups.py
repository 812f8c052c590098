"""Follow-ups that change one slot of the last call in a way the slot's tool decides: "stronger" /
"weaker" rescale a steering strength, and several layers for a tool that acts at one layer are asked
about (one choice per layer) rather than cut to the first (issue 17: never substitute silently)."""
from __future__ import annotations

import re
from typing import Any

from agent.plan import Call, Choice, ConversationState, Plan
from agent.planner.catalog import catalog
from agent.planner.claims import ASKING
from agent.planner.normalise import counts_in_words
from agent.planner.slots import find_ids, find_k, find_layers, find_method, find_metric, find_neuron
from agent.planner.vocabulary import FOLLOW_UP, SELECTION_REFERENT, STRONGER, WEAKER
from tools.builtin.bias_audit import named_pairs

# "and 641?", "what about #57", "now 12": a number alone names the last call's neuron or row
LONE_NUMBER = re.compile(r"\W*(?:(?:and|now|ok|then|what about|how about|same for|also)\s+)+(?:the\s+)?#?(\d{1,6})"
                         r"(?:\s+(?:too|also|as well|same|the same))?\s*\??\W*", re.I)
BACK_TO_ROW = re.compile(r"\bback to (?:the|that|this|our) (?:review|row|text|example|sentence)\b", re.I)
LAYERS_ONLY = re.compile(r"\W*(?:(?:and|now|ok|only|just|but|then|try)\s+)*(?:(?:in|at|on|for|over)\s+)?(?:the\s+)?"
                         r"(?:(?:layers?\s+\d+(?:\s*(?:-|to|through|thru|,|and)\s*\d+)*)|(?:all|every) layers)"
                         r"(?:\s+(?:only|instead|please|pls|then|too))*\W*", re.I)
ALL_LAYERS = re.compile(r"\b(?:all(?: the)?|every|each of the) layers\b|\b(?:across|over|on|in) every layer\b", re.I)
# "and on all reviews", "for the whole dataset": the last tool without its selection
ALL_ROWS = re.compile(r"\b(?:all(?: the| of the)?|every|the whole|the entire)\s+"
                      r"(?:reviews?|rows?|data(?:set)?|texts?)\b|\b(?:on|over|for|across) everything\b", re.I)
# "forget the length filter", "drop the domain filter", "without any filter": the selection, or one part of it
DROP_FILTER = re.compile(r"\b(?:forget|drop|remove|ignore|clear|reset|lose|no more|without)\s+"
                         r"(?:the\s+|any\s+|that\s+)?"
                         r"(?:(length|word[- ]count|size|domain|category|label|class|\w+)\s+)?"
                         r"(?:filters?|selection|restrictions?|conditions?)\b", re.I)
_FILTER_KEYS = {"length": ("min_words", "max_words"), "word count": ("min_words", "max_words"),
                "word-count": ("min_words", "max_words"), "size": ("min_words", "max_words"),
                "domain": ("match",), "category": ("match",), "label": ("label",), "class": ("label",)}
# "3", "top 5", "give me 3 of them", "show 2", "just the top 2 please": a new k for the last tool
BARE_K = re.compile(r"\W*(?:(?:only|just|the|give me|show(?: me)?|now|make it|make that|let'?s do|how about|try"
                    r"|ok)\s+)*"
                    r"(?:top|first)?\s*(\d+)\s*"
                    r"(?:of them|more|please|pls|instead|examples|ones|rows|reviews|of those)?\W*", re.I)
TOP_ONE = re.compile(r"\W*(?:(?:only|just|now)\s+)*(?:the\s+)?(?:top|single|best|first|most influential)\s+one"
                     r"(?:\s+(?:please|pls))?\W*", re.I)
# logit_lens `framing`: "inside the classification prompt" / "reading the raw text"
IN_THE_PROMPT = re.compile(r"\b(?:in|inside|within|through)\s+the\s+(?:classification\s+|task\s+)?prompt\b|"
                           r"\bframing\s+task\b|\bas the classifier sees it\b|\btask\s+(?:framing|mode)\b", re.I)
RAW_TEXT = re.compile(r"\b(?:the\s+)?raw\s+text\b|\bwithout the prompt\b|\bframing\s+raw\b|\braw\s+(?:framing|mode)\b",
                      re.I)
# "only", "those", "there", "of them": a follow-up selection inside the last one, not instead of it
NARROWS = re.compile(rf"\b(?:only|just|among|amongst|within)\b|{SELECTION_REFERENT.pattern}", re.I)


def layer_step(bare: str) -> int:
    """-1 for "the layer before this one" / "the previous layer", +1 for "the next layer", else 0."""
    if re.search(r"\b(?:the )?(?:layer (?:before|below|under) (?:this|that|it)(?: one)?|previous layer"
                 r"|one layer (?:earlier|down|lower))\b", bare, re.I):
        return -1
    if re.search(r"\b(?:the )?(?:layer (?:after|above) (?:this|that|it)(?: one)?|next layer"
                 r"|one layer (?:later|up|higher))\b", bare, re.I):
        return 1
    return 0



class AskBack(Exception):
    """A tool's hook needs the user to say more; the planner asks its message. `pending` is the call
    as far as it was understood and `asks_for` the slot the answer should fill."""

    def __init__(self, message: str, pending: Call | None = None, asks_for: str | None = None) -> None:
        super().__init__(message)
        self.pending, self.asks_for = pending, asks_for


class FollowUpPlanning:
    """The planner's follow-up turns: 'what about review 5?', 'only layer 5', 'top 20', 'stronger':
    the last tool with new slots. A mixin of RulePlanner (uses its _where, _query, _hooked, labels)."""

    def _only_new_slots(self, bare: str, ids: list[int], state: ConversationState) -> bool:
        """A turn that only changes a slot of the last call ("give me 3 of them", "just the top one",
        "towards negative only", "now inside the classification prompt", "and review 19 too" after a
        label correction) is a follow-up, before any tool word in it ("show") picks another tool."""
        cat = catalog()
        if BARE_K.fullmatch(counts_in_words(bare)) or TOP_ONE.fullmatch(bare):
            return cat.takes(state.last_tool or "", "k")
        if ALL_ROWS.search(bare) and len(bare.split()) <= 7 and re.match(
                r"\W*(?:(?:and|now|ok|then|but)\s+)*(?:on|over|for|across|with|in)\b", bare, re.I):
            return state.last_tool in cat.where  # "and over the whole dataset"
        if LAYERS_ONLY.fullmatch(bare):  # "layers 20 to 25 only" after a patch: its layers, not a probe
            return cat.takes(state.last_tool or "", "layers") or cat.takes(state.last_tool or "", "layer")
        if IN_THE_PROMPT.search(bare) or RAW_TEXT.search(bare):
            return cat.takes(state.last_tool or "", "framing") and len(bare.split()) <= 8
        labels = "|".join(re.escape(label) for label in self.labels)
        if labels and re.fullmatch(rf"\W*(?:(?:and|now|ok|only|just)\s+)*(?:for|towards?|to|target|target label)\s+"
                                   rf"(?:the\s+)?(?:{labels})"
                                   rf"(?:\s+(?:only|instead|please|pls|then))*\W*", bare, re.I):
            return cat.takes(state.last_tool or "", "target")
        return (state.last_tool == cat.role("relabel") and len(ids) == 1 and len(bare.split()) <= 6
                and bool(re.search(r"\b(?:too|also|as well|same)\b", bare, re.I)))

    def _follow_up(self, question: str, bare: str, texts: list[str], state: ConversationState) -> Plan | None:
        """'what about review 5?', 'only layer 5', 'top 20', 'at position 2': the last tool, new slots."""
        if not state.last_tool:
            return None
        if state.last_tool == catalog().role("relabel") and ASKING.search(bare):
            return None  # "is review 5 positive?" after a label edit asks; it never edits a label
        ids, k, layers, neuron = find_ids(bare), find_k(bare), find_layers(bare), find_neuron(bare)
        method, metric = find_method(bare), find_metric(bare)
        position = re.search(r"\bposition\s*(-?\d+)", bare, re.I)
        where = self._where(bare, texts)
        all_rows = bool(ALL_ROWS.search(bare)) and not where
        pairs = named_pairs(bare) if catalog().takes(state.last_tool, "groups") else []
        if catalog().takes(state.last_tool, "groups") and len(texts) >= 2 and not len(texts) % 2:
            # "only swapping 'waiter' and 'waitress'" after an audit: quoted terms to swap, not a text
            pairs, texts = [list(texts[:2])], list(texts)
            ids = []
        stronger = bool(STRONGER.search(bare))
        rescale = stronger or bool(WEAKER.search(bare))  # "stronger" / "weaker": the last strength, rescaled
        lone = LONE_NUMBER.fullmatch(bare)
        if lone and neuron is None and not ids and catalog().takes(state.last_tool, "neuron"):
            neuron = int(lone.group(1))  # "and 641?" after "what does neuron 640 of layer 23 do"
        elif lone and not ids and ("id" in state.last_args or "text" in state.last_args):
            ids = [int(lone.group(1))]  # "and 57?" after "why is review 56 negative"
        bare_k = None if lone and (neuron is not None or ids) else BARE_K.fullmatch(counts_in_words(bare))
        if bare_k:
            k = int(bare_k.group(1))
            if ids and not catalog().tools[state.last_tool].takes_instance():
                ids = []  # "show 3" after counting the mistakes: three of them, not review 3
        elif TOP_ONE.fullmatch(bare):
            k = 1
        target = next((label for label in self.labels if re.search(
            rf"\b(?:for|towards?|to|target) (?:the )?{re.escape(label)}\b|\b{re.escape(label)} (?:label|class|side)\b",
            bare, re.I)), None)
        framing = ("task" if IN_THE_PROMPT.search(bare) else "raw" if RAW_TEXT.search(bare) else None)
        dropped = DROP_FILTER.search(bare)
        if not (dropped or FOLLOW_UP.search(bare) or re.search(r"\bagainst\b", bare, re.I)
                or ids or texts or method or layers or neuron is not None or position or where
                or k is not None or ALL_LAYERS.search(bare) or re.search(r"\bstrength\b", bare, re.I)
                or rescale or all_rows or pairs or target or framing):
            return None
        cat = catalog()
        tool, args = state.last_tool, dict(state.last_args)
        if tool in (cat.role("concept"), cat.role("help")):  # a concept question between turns keeps the context
            earlier = next((c for c in reversed(state.history) if c.tool not in (tool, cat.role("help"))), None)
            if earlier is not None:
                tool, args = earlier.tool, dict(earlier.args)
        back = BACK_TO_ROW.search(bare) and not (ids or texts)  # "back to the review: top 3 across all layers"
        if (not cat.tools[tool].takes_instance() and tool not in (cat.role("rows"), cat.role("relabel"))
                and (ids or texts or back) and not (pairs and cat.takes(tool, "groups"))):
            # "what about review 13" after "describe neuron 1200": the last tool that looked at a row
            earlier = next((c for c in reversed(state.history) if cat.tools[c.tool].takes_instance()
                            and c.tool != cat.role("rows")), None)
            tool, args = ((earlier.tool, dict(earlier.args)) if earlier is not None
                          else (cat.role("rows") if ids or back else cat.role("default"), {}))
            if back and earlier is None:
                return None
            if "layer" in args and state.last_layer is not None:
                args["layer"] = state.last_layer
        quoted_pairs = bool(pairs) and len(texts) >= 2 and cat.takes(tool, "groups")
        if (ids or texts) and not quoted_pairs:
            for key in ("id", "text", "where"):
                args.pop(key, None)
            args.update({"id": ids[0]} if ids else {"text": texts[0]})
        if method and cat.takes(tool, "method"):
            args["method"] = method
        if metric and cat.takes(tool, "metric"):
            args["metric"] = metric
        if k is not None and cat.takes(tool, "k"):
            args["k"] = k
            if args.get("mode") in ("count", "confusion"):  # "show two" after counting the mistakes: examples
                args["mode"] = "sample"
        if where and tool in cat.where:
            args.pop("id", None)
            args.pop("text", None)
            args["where"] = narrowed(dict(state.last_where or {}), where) if NARROWS.search(bare) else where
        if all_rows and tool in cat.where:
            args.pop("where", None)
        if dropped and tool in cat.where and "where" in args:
            keys = _FILTER_KEYS.get((dropped.group(1) or "").lower())
            kept = {key: v for key, v in args["where"].items() if keys and key not in keys}
            args.pop("where")
            args.update({"where": kept} if kept else {})
        # new pairs ("with John/Maria") are the tool's to read (bias_audit.plan_args: replace or add)
        if layers and cat.takes(tool, "layer") and not cat.takes(tool, "layers"):
            if len(layers) > 1:  # "only layers 10 to 12" for a one-layer tool: ask, never take the first
                return one_layer_choice(question, tool, args, layers)
            args["layer"] = layers[0]
        if layers and cat.takes(tool, "layers"):
            args["layers"] = layers
        if not layers and cat.takes(tool, "layer") and state.last_layer is not None and (step := layer_step(bare)):
            args["layer"] = state.last_layer + step  # "and in the layer before this one?"
        if ALL_LAYERS.search(bare):  # "across all layers" drops the last turn's layer choice
            args.pop("layers", None)
            field = cat.tools[tool].Params.model_fields.get("layer")
            if field is not None and not field.is_required():  # top_neurons: every layer when none is given
                args.pop("layer", None)
        strength = re.search(r"\bstrength\s*(?:of\s*|=\s*)?(-?\d+(?:\.\d+)?)\b", bare, re.I)
        if strength and cat.takes(tool, "strength"):
            value = float(strength.group(1))
            args["strength"] = int(value) if value.is_integer() else value
        if rescale and cat.takes(tool, "strength"):
            args["strength"] = scaled_strength(cat.tools[tool], args.get("strength"), stronger=stronger)
        if framing and cat.takes(tool, "framing"):
            args["framing"] = framing
        if target and cat.takes(tool, "target"):
            args["target"] = target
        if neuron is not None and cat.takes(tool, "neuron"):
            args["neuron"] = neuron
        contrast = re.search(r"\b(?:against|with|vs\.?|versus|from|into)\s+(?:review\s+|row\s+)?#?(\d{1,7})\b"
                             r"(?!\s*(?:layers?|%|words?))", bare, re.I)
        if contrast and cat.takes(tool, "contrast_id") and not ids:  # "now against 120" after a patch
            args.pop("contrast_text", None)
            args["contrast_id"] = int(contrast.group(1))
        if position and cat.takes(tool, "position"):
            args["position"] = int(position.group(1))
        try:
            calls = self._hooked(tool, args, self._query(bare, state, texts, same_tool=True, follow_up=True))
        except AskBack as ask:
            return Plan(question=question, message=str(ask), pending=[ask.pending] if ask.pending else [],
                        asks_for=ask.asks_for)
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
