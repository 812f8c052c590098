"""top_neurons: the MLP neurons most active at the prediction and most responsible for it
(issue 7). The computation lives in tools/internals/neurons.py; descriptions that explain_neuron
wrote earlier are read back through tools/internals/descriptions.py."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from tools.base import InstanceParams, Output, Tool
from tools.common import resolve_instance
from tools.narration import signed, subject
from tools.planning import Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class TopNeuronsParams(InstanceParams):
    k: int | None = Field(default=None, ge=1, le=100)
    layer: int | None = Field(default=None, ge=0)


class NeuronTarget(Output):
    kind: str  # "label" | "tokens" (a generated answer)
    label: str | None = None
    answer: str | None = None  # generation: the answer the gradient is taken of


class RankedNeuron(Output):
    layer: int
    neuron: int
    activation: float
    contribution: float
    description: str | None = None  # from an earlier explain_neuron of this neuron


class TopNeuronsOutput(Output):
    text: str
    id: int | None = None
    gold_label: str | None = None
    target: NeuronTarget
    score: float
    read_position: int
    layers: int
    neurons_per_layer: int
    layer: int | None
    most_active: list[RankedNeuron]
    most_responsible: list[RankedNeuron]
    total_contribution: float


class TopNeurons(Tool):
    name = "top_neurons"
    description = ("The MLP neurons most active at the prediction and most responsible for it "
                   "(activation x gradient).")
    Params = TopNeuronsParams
    Output = TopNeuronsOutput
    triggers = (
        Trigger(alternatives(
            r"\bneurons\b",
            r"\bneuron activations?\b",
            r"\bmlp units\b",
        ), priority=30),
    )
    intent_examples = (
        "which neurons fire for review 3?",
        "most active neurons in layer 10 for item 4",
        "which MLP units matter for 'bad food'?",
        "top 5 neurons for review 8",
    )
    precise = True
    needs_model = True
    cacheable = False  # one forward+backward; descriptions written later by explain_neuron must show up
    knowledge_card = "top_neurons"
    examples = ("which neurons matter most for review 5?", "top 5 neurons in layer 20 for 'great battery'")

    def run(self, ctx: ToolContext, params: TopNeuronsParams) -> TopNeuronsOutput:
        from tools.internals.descriptions import known_description
        from tools.internals.neurons import top_neurons

        text, origin = resolve_instance(ctx, params)
        result = top_neurons(ctx.model, ctx.task, text, params.k or 10, params.layer,
                             describe=lambda layer, neuron: known_description(ctx, layer, neuron))
        return TopNeuronsOutput.model_validate({"text": text, **origin, **result})

    def narrate(self, output: TopNeuronsOutput, args: dict) -> str:
        o = output
        target = o.target.label or "its answer"
        where = f"layer {o.layer}" if o.layer is not None else f"all {o.layers} layers"
        active = ", ".join(f"L{n.layer}/N{n.neuron} ({n.activation:.2f})" for n in o.most_active[:5])
        responsible = ", ".join(f"L{n.layer}/N{n.neuron} ({signed(n.contribution)})" for n in o.most_responsible[:5])
        text = (f"For {subject(o)} ({where}, {o.neurons_per_layer} neurons each), the most active neurons at the "
                f"prediction are {active}. The neurons contributing most to {target} (activation x gradient, summed "
                f"over positions) are {responsible}; positive pushes towards {target}.")
        shown = o.most_active[:5] + o.most_responsible[:5]
        known = {(n.layer, n.neuron): n.description for n in shown if n.description}
        for (layer, neuron), description in sorted(known.items()):
            text += f"\nL{layer}/N{neuron}: {description}"
        return text
