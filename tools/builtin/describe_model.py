"""describe_model: what model is loaded (name, architecture, size, layers, task, labels)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.base import NoParams, Output, Tool
from tools.common import model_summary
from tools.planning import Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class DescribeModelOutput(Output):
    name: str
    architecture: str  # the transformers class, e.g. GPT2LMHeadModel
    kind: str  # causal_lm or sequence_classifier
    parameters: int
    layers: int
    hidden_size: int
    intermediate_size: int | None
    vocab_size: int
    task: str  # label_words, sequence_classification or generation
    labels: list[str]
    label_words: list[str]  # label_words task: the words whose next-token probabilities are read
    prompt: str | None  # the task prompt's signature, when the task has one
    calibrated: bool  # label_words probabilities calibrated on content-free inputs
    content_hash: str
    folder: str
    device: str


class DescribeModel(Tool):
    name = "describe_model"
    description = "What model is loaded: name, architecture, size, layers, task and labels."
    Params = NoParams
    Output = DescribeModelOutput
    triggers = (
        Trigger(alternatives(
            r"\b(?:what|which) (?:kind|type|sort) of (?:model|network|classifier|llm|language model|computer program"
            r"|program|ai)\b",
            r"(?:information|info|details|background) (?:of|on|about) (?:the "
            r"|your |this )?(?:underlying |deployed )?(?:classifier|network)"
            r"\b",
            r"\bhow many (?:layers|parameters|params|attention heads|heads|"
            r"blocks)\b(?!.*\b(?:review|item|row|id|instance)\s*\d)",
            r"^\W*(?:and |what about |how about )?(?:the |your |this )?model\W*$",
            # "which llm is behind the classifier and how big it is"
            r"\b(?:which|what) (?:llm|language model|network|base model|checkpoint) (?:is|are|sits|runs) "
            r"(?:behind|under"
            r"|inside|underneath)\b",
            r"\bhow (?:big|large) is (?:the |your |this )?(?:model|llm|classifier|network)\b",
        ), priority=140),
        Trigger(alternatives(
            r"^(?!.*\b(?:predict\w*|decisions?|outputs?|behaviou?r|neurons?|"
            r"layers? \d)\b).*(?:(?:explain|describe|introduce|learn about|"
            r"know more about|tell me about) (?:\w+ )?(?:what )?(?:the|your|"
            r"this) model\b|(?:architecture|features|design|functionality)"
            r" (?:and \w+ )?of the model|what (?:is|are) (?:the|this|your)"
            r" model\b(?! (?:thinking|saying|predicting|doing with|making of)\b))",
        ), priority=180),
        Trigger(alternatives(
            r"what (?:the )?model (?:is|are)\b",
            r"(?:what|which) (?:is|are) (?:the|this|your) model\b(?!.*\bpredict)",
            r"(?:description|characteristics|details|information|info) (?:of|"
            r"on|about) (?:the |your |this )?(?:underlying |deployed )?model",
            r"(?:explain|tell me|inform me|learn) (?:\w+ )*?(?:what|about)"
            r" (?:the |your |this )?(?:deployed |underlying )?model\b(?! "
            r"predict)",
            r"something (?:related to|about) the model",
            r"(?:explain|describe|introduce) (?:the|your|this) model",
            r"model'?s? (?:features|design|architecture|functionality|details|size|type|name|parameters)",
            r"\bmodel\b.*\b(?:architecture|size|layers|parameters|name|details|"
            r"information|info|type|kind|about)\b",
            r"(?:which|what) (?:model|llm|network)",
            r"(?:architecture|layers|parameters) (?:of|does|is) (?:the )?model",
            r"how (?:big|large) is (?:the|your) model",
            r"shed (?:some )?light on the model",
            r"about (?:the|your) model",
        ), priority=250),
    )
    intent_examples = (
        "what model are you explaining?",
        "how many layers does the network have?",
        "give me some background on the model",
        "provide an overview of the model",
        "what's the model's name and size?",
        "which checkpoint is loaded?",
        "how many parameters does it have?",
        "what is the underlying network?",
        "what's the model?",
        "tell me what kind of network this is",
    )
    needs_model = True
    examples = ("what model is this?", "tell me about the model")

    def run(self, ctx: ToolContext, params: NoParams) -> DescribeModelOutput:
        return DescribeModelOutput(**model_summary(ctx))

    def narrate(self, output: DescribeModelOutput, args: dict[str, Any]) -> str:
        o = output
        text = (f"The loaded model is {o.name} ({o.architecture}, {o.parameters / 1e6:.1f}M parameters, "
                f"{o.layers} layers, hidden size {o.hidden_size}).")
        if o.task == "label_words":
            text += (f" It is a causal language model used as a classifier: a prompt asks for the label and the "
                     f"probabilities of the label words ({', '.join(o.label_words)}) are read from its next-token "
                     f"logits{', calibrated on content-free inputs' if o.calibrated else ''}.")
        elif o.task == "sequence_classification":
            text += f" It is a sequence classifier with labels {', '.join(o.labels)}."
        else:
            text += " It is used as a text generator."
        return text
