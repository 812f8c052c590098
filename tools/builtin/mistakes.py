"""mistakes: the misclassified rows of a selection, counted or the most confident ones shown."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from tools.base import Output, Params, Tool
from tools.common import RowView, labelled_rows, row_view
from tools.narration import pct, row_line
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    from tools.context import ToolContext


class MistakesParams(Params):
    mode: Literal["count", "sample"] = "sample"
    k: int | None = Field(default=None, ge=1, le=50)
    where: Where | None = None


class MistakesOutput(Output):
    mode: Literal["count", "sample"]
    selection: str  # the filter in words ("all rows" without one)
    rows: int  # labelled rows looked at
    mistakes: int
    error_rate: float
    by_gold_label: dict[str, int]  # mistakes per gold label (every label of the selection)
    examples: list[RowView] | None = None  # mode=sample: the k most confident mistakes


class Mistakes(Tool):
    name = "mistakes"
    description = "Misclassified rows: how many (mode=count) or the k most confident ones (mode=sample)."
    knowledge_card = "mistakes"
    Params = MistakesParams
    Output = MistakesOutput
    triggers = (
        Trigger(alternatives(
            r"(?:predicts?|predicting|predicted|forecasts?|classif\w*|gets?|"
            r"got|labell?ed) (?:\w+ )?(?:incorrectly|falsely|inaccurately|"
            r"wrong(?:ly)?)",
            r"\bmistakes?\b",
            r"\berrors?\b",
            r"misclassif",
            r"\bwrong(?:ly)?\b",
            r"incorrect(?:ly)?\b",
            r"\bmispredict",
            r"\berrs?\b",
            r"\binaccuracies\b",
            r"\bfailures?\b",
        ), priority=110),
    )
    intent_examples = (
        "how many wrong predictions are there?",
        "show me some errors",
        "which reviews are misclassified?",
        "list the examples the model gets wrong",
        "how many errors on reviews about service?",
        "give me 3 misclassified rows",
    )
    needs_model = True
    examples = ("how many mistakes does it make?", "show me 3 mistakes")

    defers_to = ("label_distribution", "keywords")  # "keywords in the reviews it misclassifies"

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        return "attribute" if query.search(r"\bwhy\b") and query.ids() else None  # "why is review 70 wrong?"

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """Count or sample: 'how many mistakes' counts; 'show 3 mistakes' samples; a follow-up keeps
        the mode unless it asks again. `correct` is implied, so a filter never restates it."""
        if query.follow_up:
            return args
        where = args.get("where")
        if where is not None:
            where.pop("correct", None)
            if not where:
                del args["where"]
        counting = query.search(r"how many|number of|\bcount|how often|\brate\b|how much|total|amount|frequen"
                                r"|how common|\bcommon\b|regularly|occurrence")
        asks_rows = query.search(r"\b(?:show|list|give|which|what are|examples?|some)\b")
        if counting:
            args["mode"] = "count"
        elif not query.same_tool or query.k() is not None or asks_rows:
            args["mode"] = "sample"
        else:
            args["mode"] = args.get("mode", "sample")
        if args["mode"] == "count":
            args.pop("k", None)
        return args

    def run(self, ctx: ToolContext, params: MistakesParams) -> MistakesOutput:
        rows = labelled_rows(ctx, params.where)
        table = ctx.predictions()
        predicted, confidence = table.predicted, table.confidence()
        wrong = [r for r in rows if predicted[r.id] != r.label]
        examples = None
        if params.mode == "sample":
            k = params.k or 5
            wrong.sort(key=lambda r: (-confidence[r.id], r.id))  # most confident errors first
            examples = [row_view(ctx, r, with_prediction=True) for r in wrong[:k]]
        labels = sorted({r.label for r in rows})
        return MistakesOutput(
            mode=params.mode,
            selection=(params.where or Where()).describe(),
            rows=len(rows),
            mistakes=len(wrong),
            error_rate=round(len(wrong) / len(rows), 4),
            by_gold_label={label: sum(1 for r in wrong if r.label == label) for label in labels},
            examples=examples,
        )

    def narrate(self, output: MistakesOutput, args: dict[str, Any]) -> str:
        o = output
        scope = "" if o.selection == "all rows" else f" among {o.selection}"
        text = f"The model misclassifies {o.mistakes} of {o.rows} rows{scope} (error rate {pct(o.error_rate)})."
        by = ", ".join(f"{n} with gold label {label}" for label, n in o.by_gold_label.items() if n)
        if by:
            text += f" Of these, {by}."
        if o.examples:
            text += f"\nThe {len(o.examples)} most confident mistakes:\n" + "\n".join(row_line(r) for r in o.examples)
        return text
