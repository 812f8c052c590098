"""report: write an explanation report (HTML and PDF) and return its paths.

What goes into a report (the conversation's records, or a row, a selection or the mistakes
explained by running predict / attribute / counterfactual) is the assistant's business, so the
tool calls the `reporter` the assistant injects into the context (design.md habit 4: tools never
import the agent). Without one, the tool says how to get a report.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from tools.attribution.catalog import MethodName
from tools.base import InstanceParams, Output, Tool
from tools.errors import ToolUnavailable
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    from tools.context import ToolContext


class ReportParams(InstanceParams):
    instance_required = False
    where: Where | None = Field(default=None, description="rows to report on; correct=false reports the mistakes")
    k: int | None = Field(default=None, ge=1, le=500, description="how many rows to explain one by one")
    method: MethodName | None = None


class Confusion(Output):
    pair: str  # "gold → predicted"
    count: int


class OverrepresentedWord(Output):
    word: str
    mistakes: int  # mistakes whose text has the word
    correct: int  # correct rows whose text has the word
    ratio: float  # smoothed document-frequency ratio, mistakes against correct rows


class AttributedWord(Output):
    word: str
    count: int  # explained mistakes that rank it in the attribution's top 3


class MistakeSummary(Output):
    """What the errors of a mistakes report share (agent.reports.content.mistake_summary)."""

    rows: int
    mistakes: int
    error_rate: float
    explained: int  # mistakes explained one by one in the report
    confusions: list[Confusion]
    mean_confidence_mistakes: float | None
    mean_confidence_correct: float | None
    mean_words_mistakes: float | None
    mean_words_correct: float | None
    overrepresented_words: list[OverrepresentedWord]
    top_attributed_words: list[AttributedWord]
    attributions_beating_random: float | None  # share of the explained mistakes' attributions


class ReportOutput(Output):
    title: str
    kind: str  # conversation, instance, selection or mistakes
    html: str  # path of the HTML file
    pdf: str | None  # path of the PDF (None: WeasyPrint is not installed)
    pages: int | None  # pages of the PDF
    figures: int
    sections: int
    summary: MistakeSummary | None  # mistakes reports only


class Report(Tool):
    name = "report"
    description = ("Write an explanation report (self-contained HTML and a PDF) of a row, a text, a selection of rows "
                   "(where; correct=false explains every mistake) or, with no arguments, of the conversation so far.")
    knowledge_card = "report"
    Params = ReportParams
    Output = ReportOutput
    # What a report runs (agent/reports/content.py reads these). For one row or text: the
    # prediction, its attribution (the tool that takes the report's `method`) and, when the tool
    # is available, a counterfactual. For a selection: its size and labels, then, with gold
    # labels, the accuracy and the number of mistakes.
    instance_steps: ClassVar[tuple[str, ...]] = ("predict", "attribute", "counterfactual")
    overview_steps: ClassVar[tuple[tuple[str, dict[str, Any]], ...]] = (("count", {}), ("label_distribution", {}))
    labelled_overview_steps: ClassVar[tuple[tuple[str, dict[str, Any]], ...]] = (
        ("score", {"metric": "accuracy"}), ("mistakes", {"mode": "count"}))
    triggers = (
        Trigger(alternatives(
            r"\breports?\b",
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
    examples = ("write me a report on its mistakes", "make a PDF report of review 12",
                "export this conversation as a report")

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
        """A report on the conversation, on one row or text, or on a selection ('on its mistakes')."""
        if query.follow_up:
            return args
        if query.search(r"\b(?:conversation|chat|session|discussion|so far|what we (?:did|discussed|found))\b"):
            return {}  # the conversation's own record
        if ids := query.ids():
            return [{"id": row} for row in ids] if len(ids) > 1 else {"id": ids[0]}  # "reports for reviews 3 and 4"
        if query.texts:
            return {"text": query.texts[0]}
        everything_said = r"\ball (?:of )?(?:that|this|it)\b|\b(?:write|sum) (?:it|this|that|all this) up\b"
        if query.instance and (query.points_at_instance() or query.search(everything_said)):
            return dict(query.instance)  # "a report on that review", "all of that as a report" after a row
        if query.search(r"\b(?:mistakes|errors|misclassif\w*|wrong)\b"):
            args.setdefault("where", {})["correct"] = False
        return args

    def run(self, ctx: ToolContext, params: ReportParams) -> ReportOutput:
        if ctx.reporter is None:
            raise ToolUnavailable("Reports are written by the assistant, which was not set up in this context.",
                                  "Ask for a report in the chat, or run `whybox report`.")
        if params.id is not None and params.where is not None:
            params = params.model_copy(update={"where": None})
        return ReportOutput.model_validate(ctx.reporter(params))

    def narrate(self, output: ReportOutput, args: dict[str, Any]) -> str:
        o = output
        pages = f", {o.pages} page{'s' if o.pages != 1 else ''}" if o.pages else ""
        text = f"I wrote the report \"{o.title}\" ({o.sections} sections, {o.figures} figures{pages}).\nHTML: {o.html}"
        text += f"\nPDF: {o.pdf}" if o.pdf else "\n(No PDF: WeasyPrint is not installed.)"
        summary = o.summary
        if summary:
            confusions = "; ".join(f"{c.pair}: {c.count}" for c in summary.confusions)
            text += (f"\nIt explains {summary.explained} of the {summary.mistakes} mistakes ({confusions}).")
            if summary.overrepresented_words:
                text += " Words more common in mistakes than in correct rows: " + ", ".join(
                    f"{w.word} ({w.ratio}x)" for w in summary.overrepresented_words[:5]) + "."
        return text
