"""Follow-ups that change one slot of the last call in a way the slot's tool decides: "stronger" /
"weaker" rescale a steering strength, and several layers for a tool that acts at one layer are asked
about (one choice per layer) rather than cut to the first (issue 17: never substitute silently)."""
from __future__ import annotations

from typing import Any

from agent.plan import Call, Choice, Plan


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
