"""show: dataset rows, one by id or the first k matching a filter (with the model's prediction
when a classifier is loaded)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from tools.base import Output, Params, Tool
from tools.common import RowView, row_view, selected_rows
from tools.errors import InputError
from tools.narration import row_line
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    from tools.context import ToolContext

MAX_SHOW = 50


class ShowParams(Params):
    id: int | None = None
    where: Where | None = None
    k: int | None = Field(default=None, ge=1, le=MAX_SHOW)


class ShowOutput(Output):
    selection: str  # "row 12" or the filter in words
    total: int  # rows matching (1 for an id)
    rows: list[RowView]  # the first k of them


class Show(Tool):
    name = "show"
    description = "Show dataset rows: one row by id, or the rows matching a filter (first k)."
    Params = ShowParams
    Output = ShowOutput
    triggers = (
        Trigger(alternatives(
            r"\bwhat (?:does|do|did) (?:it|that|this|they|that one|this one|"
            r"(?:the )?(?:review|item|row|instance|example|sample|id|data "
            # not "what does it say for 40": that is its prediction
            r"?point) ?#?\d+) (?:look like|say)\b(?! (?:for|about|on) )",
        ), priority=210),
        Trigger(alternatives(
            r"\bshow\b",
            r"\bdisplay\b",
            r"\bpull up\b",
            r"\bbring up\b",
            r"\bopen\b",
            r"\bread\b",
            r"\blist\b",
            r"\bprint\b",
            r"\bfetch\b",
            r"\bsee\b",
            r"\bgive me\b",
            r"\bpresent\b",
            r"\bretrieve\b",
            r"\bexamine\b",
            r"\blook at\b",
            r"\bview\b",
            r"(?:text|content|contents|details|information|data) (?:of|for|"
            r"associated with|pertaining to|linked with|is linked with)",
            r"associated with",
            r"linked with",
            r"pertaining to",
            r"values of the features",
            r"what (?:is|does) (?:id|item|instance|review|row|example|data ?point)s? ?#?\d",
            # no verb: "2 movie reviews that mention 'plot' please", "a few short product reviews"
            r"^\W*(?:\d+|a few|some) (?:\w+ ){0,3}(?:reviews|rows|examples|texts)\b"
            r"(?! (?:are|is|does|do|did|were|have|has|had)\b)(?!.*\?\s*$)",
        ), priority=280),
    )
    intent_examples = (
        "show me example 3",
        "what does row 50 say?",
        "give me the text of item 8",
        "print review 101",
        "let me read reviews 2 and 4",
        "show the reviews that mention coffee",
        "show me some negative examples",
        "list 5 reviews",
    )
    examples = ("show me review 12", "show 3 reviews that mention battery")

    planner_role = "rows"  # the rows themselves: the planner's fallback for a row id

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        """'show me 4 of them' after a mistakes turn asks for more mistakes."""
        if query.last_tool == "mistakes" and query.points_at_selection() and not query.ids():
            return "mistakes"
        return None

    def run(self, ctx: ToolContext, params: ShowParams) -> ShowOutput:
        if params.id is not None and params.where is not None:
            raise InputError("Give either `id` or `where` to show, not both.")
        with_prediction = ctx.workspace.model_loaded and ctx.task.is_classifier
        if params.id is not None:
            row = ctx.dataset.get(params.id)
            return ShowOutput(selection=f"row {row.id}", total=1, rows=[row_view(ctx, row, with_prediction)])
        rows = selected_rows(ctx, params.where)
        k = params.k or 5
        return ShowOutput(
            selection=(params.where or Where()).describe(),
            total=len(rows),
            rows=[row_view(ctx, r, with_prediction) for r in rows[:k]],
        )

    def narrate(self, output: ShowOutput, args: dict[str, Any]) -> str:
        o = output
        if not o.rows:
            return f"No rows match ({o.selection})."
        head = f"Here is {o.selection}:" if o.total == 1 and "id" in args else (
            f"{o.total} rows match ({o.selection}); showing {len(o.rows)}:")
        return head + "\n" + "\n".join(row_line(r) for r in o.rows)
