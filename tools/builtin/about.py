"""describe_model, describe_data, capabilities: what is loaded and what whybox can do."""
from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from tools.base import NoParams, Tool
from tools.context import ToolContext
from tools.planning import Trigger, alternatives


class DescribeModel(Tool):
    name = "describe_model"
    description = "What model is loaded: name, architecture, size, layers, task and labels."
    Params = NoParams
    triggers = (
        Trigger(alternatives(
            r"\b(?:what|which) (?:kind|type|sort) of (?:model|network|classifier|llm|language model)\b",
            r"(?:information|info|details|background) (?:of|on|about) (?:the "
            r"|your |this )?(?:underlying |deployed )?(?:classifier|network)"
            r"\b",
            r"\bhow many (?:layers|parameters|params|attention heads|heads|"
            r"blocks)\b(?!.*\b(?:review|item|row|id|instance)\s*\d)",
            r"^\W*(?:and |what about |how about )?(?:the |your |this )?model\W*$",
        ), priority=140),
        Trigger(alternatives(
            r"^(?!.*\b(?:predict\w*|decisions?|outputs?|behaviou?r|neurons?|"
            r"layers? \d)\b).*(?:(?:explain|describe|introduce|learn about|"
            r"know more about|tell me about) (?:\w+ )?(?:what )?(?:the|your|"
            r"this) model\b|(?:architecture|features|design|functionality)"
            r" (?:and \w+ )?of the model|what (?:is|are) (?:the|this|your)"
            r" model\b)",
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

    def run(self, ctx: ToolContext, params: NoParams) -> dict[str, Any]:
        handle, task = ctx.model, ctx.task
        return {
            "name": handle.name,
            "architecture": handle.architecture,
            "kind": handle.kind,
            "parameters": handle.n_parameters,
            "layers": handle.n_layers,
            "hidden_size": handle.hidden_size,
            "intermediate_size": handle.intermediate_size,
            "vocab_size": int(getattr(handle.config, "vocab_size", 0) or 0),
            "task": task.name,
            "labels": list(task.labels),
            "label_words": list(getattr(task, "label_words", []) or []),
            "prompt": getattr(getattr(task, "prompt", None), "signature", None),
            "calibrated": bool(getattr(task, "calibrate", False)),
            "content_hash": handle.content_hash,
            "folder": str(handle.folder),
            "device": handle.device,
        }


class DescribeData(Tool):
    name = "describe_data"
    description = "What dataset is loaded: source, size, columns, label set and text lengths."
    Params = NoParams
    triggers = (
        Trigger(alternatives(
            r"^\W*(?:and |what about |how about )?(?:the |your |this )?(?:data|dataset|data ?set)\W*$",
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

    def run(self, ctx: ToolContext, params: NoParams) -> dict[str, Any]:
        ds = ctx.dataset
        lengths = [row.n_words for row in ds.rows]
        counts = Counter(row.label for row in ds.rows if row.label is not None)
        extra_columns = [c for c in ds.columns if c not in ("id", ctx.settings.text_column, ctx.settings.label_column)]
        domains = {}
        if "domain" in extra_columns:
            domains = dict(sorted(Counter(str(r.extra.get("domain")) for r in ds.rows).items()))
        return {
            "name": ds.name,
            "source": ds.source,
            "rows": len(ds),
            "columns": ds.columns,
            "text_column": ctx.settings.text_column,
            "label_column": ctx.settings.label_column if ds.has_labels else None,
            "labels": {label: counts[label] for label in ds.labels},
            "words": {"min": min(lengths), "median": statistics.median(lengths), "mean": round(statistics.fmean(lengths), 2), "max": max(lengths)},
            "domains": domains,
            "label_edits": len(ctx.label_edits),
        }


class Capabilities(Tool):
    name = "capabilities"
    description = "What the assistant can do, with example questions."
    Params = NoParams
    triggers = (
        Trigger(alternatives(
            r"what can you do",
            r"what (?:are|is) (?:you|your) (?:capable|able)",
            r"what (?:else )?can (?:i|we) (?:ask|do)",
            r"\bhelp\b",
            r"\bfunctions\b",
            r"functionalit",
            r"what (?:tasks|operations|things|kind of \w+|kinds of \w+)",
            r"what do you (?:do|support|offer)",
            r"your (?:capabilities|features|abilities|strengths|skills)",
            r"how (?:can|do) i use you",
            r"capabilit",
            r"what can you (?:accomplish|handle|perform|offer)",
            r"functional (?:strengths|abilities)",
            r"(?:tasks|operations|actions|things|functions|services) (?:that "
            r")?(?:you|this \w+) (?:can|are able|could|provide|offer|support)",
            r"capable of",
            r"able to (?:do|perform|handle|execute)",
            r"what (?:can|could) (?:this|the) (?:chat|tool|system|assistant|bot)",
            r"what i can do",
            r"(?:can|could) you (?:do|handle|perform|execute|carry out)\b",
            r"(?:which|what) (?:operations|services|features) (?:do|does|can)",
        ), priority=260),
    )
    intent_examples = (
        "what can I do with this tool?",
        "what sort of questions do you answer?",
        "help",
        "what are your features?",
        "which analyses can you run?",
        "what are you good for?",
    )
    examples = ("what can you do?", "help")

    def run(self, ctx: ToolContext, params: NoParams) -> dict[str, Any]:
        from tools.registry import all_tools

        items = [
            {"tool": tool.name, "description": tool.description, "examples": list(tool.examples), "available": tool.available}
            for tool in all_tools().values()
        ]
        return {"tools": items}
