"""describe_data: what dataset is loaded (source, size, columns, label set, text lengths)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.base import NoParams, Output, Tool
from tools.common import data_summary
from tools.planning import Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class WordStats(Output):
    """Text lengths in words; the median of an even number of rows is a float."""

    min: int
    median: int | float
    mean: float
    max: int


class DescribeDataOutput(Output):
    name: str
    source: str
    rows: int
    columns: list[str]
    text_column: str
    label_column: str | None  # None: the dataset has no gold labels
    labels: dict[str, int]  # gold label -> rows
    words: WordStats
    domains: dict[str, int]  # domain -> rows, when the data has a `domain` column ({} otherwise)
    label_edits: int  # gold labels changed in this conversation


class DescribeData(Tool):
    name = "describe_data"
    asked_about = "rows"  # for the capabilities list (tools/base.py)
    description = "What dataset is loaded: source, size, columns, label set and text lengths."
    Params = NoParams
    Output = DescribeDataOutput
    triggers = (
        Trigger(alternatives(
            r"^\W*(?:and |what about |how about )?(?:the |your |this )?(?:data|dataset|data ?set)\W*$",
            # "where did all these reviews come from in the first place?"
            r"\bwhere (?:did|do|does) (?:all )?(?:these|the|those|this|your) (?:reviews|rows|data|dataset|texts)"
            r"(?: \w+)? come from\b",
        ), priority=150),
        Trigger(alternatives(
            r"^(?!.*\b(?:predict\w*|model)\b).*(?:\bdata (?:look like|and "
            r"its importance)|(?:aspects|features|characteristics|types) "
            r"(?:\w+ )?of (?:the )?data\b|what (?:is|are) (?:the )?data\b|"
            r"what are (?:the )?features\b(?!.*capabilit)|features (?:are "
            r")?in (?:the )?data)",
        ), priority=190),
        Trigger(alternatives(
            r"(?:about|describe|introduce|overview|summar\w+|information "
            r"on|info on|look like|features in|more about|elaborate on)\b.*\bdata(?:set)"
            r"?\b",
            r"(?:what|show|list) (?:are )?(?:me )?(?:the )?(?:\w+ )?features\b",
            r"\bdata ?set\b",
            r"\bdata\b.*\b(?:describe|about|introduce|summar|overview|tell|"
            r"information|info|details|columns|source|comes? from|aspects|"
            r"characteristics|types|importance)",
            r"(?:describe|introduce|summari[sz]e|overview of|tell me about) (?:the |your |this )?data",
            r"what (?:is|are) (?:the |this |your )?data\b",
            r"\bwhere (?:do|does|did) (?:the |these |this |your )?(?:reviews|data|rows|texts|examples) come from\b",
            r"what data",
            r"what kind of data",
            r"characteristics of data",
            r"concept of data",
            r"features of (?:the )?data",
        ), priority=270),
    )
    intent_examples = (
        "what is in the dataset?",
        "what does the data consist of?",
        "what's the structure of the data?",
        "how is the data organised?",
        "where does the data come from?",
        "how long are the texts in the data on average?",
        "what does the data contain?",
        "what kind of texts are in here?",
    )
    examples = ("describe the data", "what is this dataset?")

    def run(self, ctx: ToolContext, params: NoParams) -> DescribeDataOutput:
        return DescribeDataOutput(**data_summary(ctx))

    def narrate(self, output: DescribeDataOutput, args: dict[str, Any]) -> str:
        o = output
        text = f"The dataset is {o.name}: {o.rows} rows with columns {', '.join(o.columns)}."
        if o.labels:
            text += " Gold labels: " + ", ".join(f"{k} {v}" for k, v in o.labels.items()) + "."
        w = o.words
        text += f" Texts are {w.min}-{w.max} words long (median {w.median})."
        if o.domains:
            text += " Domains: " + ", ".join(f"{k} {v}" for k, v in o.domains.items()) + "."
        return text
