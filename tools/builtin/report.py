"""report: write an explanation report (HTML and PDF) and return its paths.

What goes into a report (the conversation's records, or a row, a selection or the mistakes
explained by running predict / attribute / counterfactual) is the assistant's business, so the
tool calls the `reporter` the assistant injects into the context (design.md habit 4: tools never
import the agent). Without one, the tool says how to get a report.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from tools.attribution.catalog import MethodName
from tools.base import InstanceParams, Tool
from tools.context import ToolContext
from tools.errors import ToolUnavailable
from tools.planning import Trigger, alternatives
from tools.where import Where


class ReportParams(InstanceParams):
    instance_required = False
    where: Where | None = Field(default=None, description="rows to report on; correct=false reports the mistakes")
    k: int | None = Field(default=None, ge=1, le=500, description="how many rows to explain one by one")
    method: MethodName | None = None


class Report(Tool):
    name = "report"
    description = ("Write an explanation report (self-contained HTML and a PDF) of a row, a text, a selection of rows "
                   "(where; correct=false explains every mistake) or, with no arguments, of the conversation so far.")
    knowledge_card = "report"
    Params = ReportParams
    triggers = (
        Trigger(alternatives(
            r"\breport\b",
            r"write[- ]?up",
            r"\bpdf\b",
        ), priority=10),
    )
    intent_examples = (
        "write a report on review 5",
        "make a pdf about the mistakes",
        "export an html report for reviews mentioning price",
        "report of this conversation",
    )
    precise = True
    needs_model = True
    examples = ("write me a report on its mistakes", "make a PDF report of review 12", "export this conversation as a report")

    def run(self, ctx: ToolContext, params: ReportParams) -> dict[str, Any]:
        if ctx.reporter is None:
            raise ToolUnavailable("Reports are written by the assistant, which was not set up in this context.",
                                  "Ask for a report in the chat, or run `whybox report`.")
        if params.id is not None and params.where is not None:
            params = params.model_copy(update={"where": None})
        return ctx.reporter(params)
