"""describe_model, describe_data, capabilities: what is loaded and what whybox can do."""
from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from tools.base import Params, Tool
from tools.context import ToolContext


class NoParams(Params):
    pass


class DescribeModel(Tool):
    name = "describe_model"
    description = "What model is loaded: name, architecture, size, layers, task and labels."
    Params = NoParams
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
    examples = ("what can you do?", "help")

    def run(self, ctx: ToolContext, params: NoParams) -> dict[str, Any]:
        from tools.registry import all_tools

        items = [
            {"tool": tool.name, "description": tool.description, "examples": list(tool.examples), "available": tool.available}
            for tool in all_tools().values()
        ]
        return {"tools": items}
