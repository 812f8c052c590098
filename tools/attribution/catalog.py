"""The one list of attribution methods (inseq-style: each method declares its name). The
`attribute` and `report` Params, the engine's dispatch, the planner's wording and the help
text all read it; nothing else restates a method name. Torch-free, so the planner can import it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from tools.errors import InputError


@dataclass(frozen=True)
class Method:
    name: str  # the argument value, also the knowledge card's name
    wording: str  # regex: how a question names the method
    kind: Literal["gradient", "perturbation", "sampling"]  # what the engine feeds it
    diagnostic_only: bool = False  # attention: where the model looked, not why


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("integrated_gradients", r"integrated[ _-]?gradients?|\big\b", "gradient"),
    Method("gradient_x_input",
           r"gradients?[ _]?(?:x|times|\*|×)[ _]?inputs?|input[ _]?(?:x|times|\*|×)?[ _]?gradients?"
           r"|grad[ _]?x[ _]?input", "gradient"),
    Method("occlusion", r"occlusion|leave[- ]one[- ]out|ablation", "perturbation"),
    Method("kernel_shap", r"kernel[ _-]?shap|\bshap\b", "sampling"),
    Method("lime", r"\blime\b", "sampling"),
    Method("attention", r"\battention\b", "gradient", diagnostic_only=True),
)}
NAMES: tuple[str, ...] = tuple(METHODS)
# Methods people ask for that whybox does not have: the planner says so instead of running another one.
UNSUPPORTED = re.compile(
    r"\b(?:deep ?lift|deep ?shap|grad[- ]?cam|smooth ?grad|lrp|layer[- ]wise relevance(?: propagation)?"
    r"|guided back ?prop\w*|anchors?|tcav|concept activation vectors?|expected gradients?|gradient ?shap"
    r"|noise ?tunnel|attention (?:rollout|flow)|lrp-?\w*|integrated hessians?|guided (?:ig|integrated gradients?)"
    r"|blur ?ig|xrai|score ?cam|shapley taylor|deconvnet|integrated directional gradients?)\b",
    re.I,
)
MethodName = Literal[NAMES]  # type: ignore[valid-type]  # the pydantic type of a `method` argument
GRADIENT_METHODS: tuple[str, ...] = tuple(name for name, m in METHODS.items() if m.kind == "gradient")
WORDING = "(?:" + "|".join(f"(?:{m.wording})" for m in METHODS.values()) + ")"  # any method, as typed


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise InputError(f"Unknown attribution method {name!r}.", f"Methods: {', '.join(NAMES)}.")
    return METHODS[name]


def find_method(text: str) -> str | None:
    """The method a question names ('with LIME', 'by integrated gradients'), if any."""
    for method in METHODS.values():
        if re.search(method.wording, text, re.I):
            return method.name
    return None


def find_methods(text: str) -> list[str]:
    """Every method a question names, in the order they appear ('compare IG and LIME')."""
    found = []
    for method in METHODS.values():
        m = re.search(method.wording, text, re.I)
        if m:
            found.append((m.start(), method.name))
    return [name for _, name in sorted(found)]
