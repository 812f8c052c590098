"""count: how many dataset rows match a filter."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.base import Output, Params, Tool
from tools.common import selected_rows
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    from tools.context import ToolContext


class CountParams(Params):
    where: Where | None = None


class CountOutput(Output):
    selection: str  # the filter in words ("all rows" without one)
    count: int  # rows matching
    total: int  # rows in the dataset


class Count(Tool):
    name = "count"
    description = "How many dataset rows match a filter (all rows without one)."
    Params = CountParams
    Output = CountOutput
    shorthand = {"cnt": "count"}
    triggers = (
        Trigger(alternatives(
            r"\bid'?s? of all",
            r"item ids",
            r"how many",
            r"\bhow much (?:reviews|rows|items|examples|texts)\b",  # "how much reviews are having ..."
            r"number of",
            r"\bcount\b",
            r"\bcounts\b",
            r"quantity",
            r"total (?:number|count)",
            r"size of the (?:data|dataset)",
            r"how (?:big|large) is the (?:data|dataset)",
            r"amount of (?:data|rows|items|instances|samples)",
        ), priority=160),
    )
    intent_examples = (
        "how many rows are in the table?",
        "what is the dataset's row count?",
        "tell me how many entries there are",
        "how many examples mention the screen?",
        "how many texts does the classifier call negative?",
    )
    examples = ("how many reviews are there?", "how many reviews mention price?")
    planner_role = "row_count"  # "how many are positive and how many negative" goes to "label_counts"

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        """'how many are there in total?' after 'show me 5 mistakes' counts the mistakes; 'how many are
        positive and how many negative' counts every label: the label distribution."""
        if len(query.labels_named()) > 1 and not query.search(r"\bof (?:them|those|these)\b"):
            return "label_distribution"
        return "mistakes" if query.last_tool == "mistakes" and not query.names_rows() else None

    def run(self, ctx: ToolContext, params: CountParams) -> CountOutput:
        rows = selected_rows(ctx, params.where)
        return CountOutput(selection=(params.where or Where()).describe(), count=len(rows), total=len(ctx.dataset))

    def narrate(self, output: CountOutput, args: dict[str, Any]) -> str:
        o = output
        if o.selection == "all rows":
            return f"There are {o.count} rows in the dataset."
        return f"{o.count} of the {o.total} rows match ({o.selection})."
