"""mistakes: the misclassified rows of a selection, counted or the most confident ones shown."""
from __future__ import annotations

from pathlib import Path
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
    mode: Literal["count", "sample", "confusion"] = "sample"
    k: int | None = Field(default=None, ge=1, le=50)
    where: Where | None = None


class Confusion(Output):
    gold: str
    predicted: str
    count: int
    share_of_gold: float  # of the rows with this gold label


class MistakesOutput(Output):
    mode: Literal["count", "sample", "confusion"]
    selection: str  # the filter in words ("all rows" without one)
    rows: int  # labelled rows looked at
    mistakes: int
    error_rate: float
    by_gold_label: dict[str, int]  # mistakes per gold label (every label of the selection)
    examples: list[RowView] | None = None  # mode=sample: the k most confident mistakes
    labels: list[str] | None = None  # mode=confusion: the order of the matrix's rows and columns
    confusion: list[list[int]] | None = None  # mode=confusion: [gold][predicted] counts
    confusions: list[Confusion] | None = None  # mode=confusion: the off-diagonal cells, largest first


class Mistakes(Tool):
    name = "mistakes"
    description = ("Misclassified rows: how many (mode=count), the k most confident ones (mode=sample), or which gold "
                   "labels are mistaken for which (mode=confusion).")
    knowledge_card = "mistakes"
    rows_are = {"correct": False}
    concept_topic = r"confusion matri"  # "what's a confusion matrix?", then "give me one for those"
    concept_args = {"mode": "confusion"}
    Params = MistakesParams
    Output = MistakesOutput
    triggers = (
        Trigger(alternatives(  # "which label does it confuse most?": the confusion matrix
            r"\bconfus\w* (?:most|with|for|between)\b",
            r"\bconfusion matrix\b",
            r"\bmix(?:es|ed|ing)? up\b",
            r"\bmistak\w* (?:for|as) (?:the )?(?:other|another|which)\b",
            # "does it mistake positives for negatives more than the other way round?"
            r"\bmistak\w* (?:the )?\w+ (?:reviews? |ones? |rows? )?for (?:the )?\w+\b"
            r".*\b(?:other way|vice versa|than)\b",
            r"\b(?:other way (?:round|around)|vice versa)\b",
            r"\bwhich (?:labels?|classes?) (?:does it|do they|is|are) (?:\w+ )?confus",

        ), priority=75),
        # "which labels get confused with which?": the confusion matrix, never the label counts it mentions
        Trigger(r"\b(?:labels?|classes?) (?:get|gets|are|is) (?:\w+ )?(?:confused|mixed up|mistaken)\b"
                r"|\bconfusion table\b",
                priority=20, exact=True),
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
            # "how many film reviews did it botch", "which ones did it mess up"
            r"\b(?:botch\w*|screw\w* up|mess\w* up|flub\w*|fumbl\w*|blew|blow\w*)\b",
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
        if query.search(r"\bconfus|\bmix(?:es|ed|ing)? up\b|\bmistak\w* (?:for|as)\b|\bother way (?:round|around)\b"
                        r"|\bvice versa\b|\bmistak\w* (?:the )?\w+ (?:reviews? |ones? |rows? )?for\b"):
            args["mode"] = "confusion"
            if where and "label" in where and len(query.labels_named()) > 1:  # "positives for negatives"
                where.pop("label")
                if not where:
                    args.pop("where", None)
        elif counting:
            args["mode"] = "count"
        elif not query.same_tool or query.k() is not None or asks_rows:
            args["mode"] = "sample"
        else:
            args["mode"] = args.get("mode", "sample")
        if args["mode"] in ("count", "confusion"):
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
        extra: dict[str, Any] = {}
        if params.mode == "confusion":
            extra = confusion_of(rows, predicted, sorted(set(labels) | set(table.labels)))
        return MistakesOutput(
            **extra,
            mode=params.mode,
            selection=(params.where or Where()).describe(),
            rows=len(rows),
            mistakes=len(wrong),
            error_rate=round(len(wrong) / len(rows), 4),
            by_gold_label={label: sum(1 for r in wrong if r.label == label) for label in labels},
            examples=examples,
        )

    figure_name = "confusion"
    figure_caption = "Confusion matrix: rows are gold labels, columns predicted labels; off the diagonal are mistakes."

    def figure(self, output: MistakesOutput, path: Path) -> Path | None:
        if output.confusion is None or output.labels is None:
            return None
        from tools.figures import colour_legend, pyplot, save, text_colour

        plt = pyplot()
        n = len(output.labels)
        fig, ax = plt.subplots(figsize=(1.1 * n + 3.0, 0.9 * n + 1.6))
        image = ax.imshow(output.confusion, cmap="Blues", vmin=0)
        for i, row in enumerate(output.confusion):
            for j, value in enumerate(row):  # white on the dark cells, black on the light ones
                ax.text(j, i, str(value), ha="center", va="center", color=text_colour(image.to_rgba(value)))
        colour_legend(fig, image, "rows (count)", ax=ax)
        ax.set_xticks(range(n), output.labels, rotation=30, ha="right")
        ax.set_yticks(range(n), output.labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("gold")
        ax.set_title(f"Confusions on {output.selection}", fontsize=10, loc="left")
        return save(fig, path)

    def narrate(self, output: MistakesOutput, args: dict[str, Any]) -> str:
        o = output
        scope = "" if o.selection == "all rows" else f" among {o.selection}"
        text = f"The model misclassifies {o.mistakes} of {o.rows} rows{scope} (error rate {pct(o.error_rate)})."
        by = ", ".join(f"{n} with gold label {label}" for label, n in o.by_gold_label.items() if n)
        if by:
            text += f" Of these, {by}."
        if o.examples:
            text += f"\nThe {len(o.examples)} most confident mistakes:\n" + "\n".join(row_line(r) for r in o.examples)
        if o.confusions is not None:
            if not o.confusions:
                text += " There is nothing to confuse: every row is predicted right."
            else:
                top = o.confusions[0]
                text += (f"\nThe most common confusion: gold {top.gold} predicted as {top.predicted}, "
                         f"{top.count} times ({pct(top.share_of_gold)} of the {top.gold} rows).")
                rest = "; ".join(f"{c.gold} → {c.predicted} {c.count}" for c in o.confusions[1:6])
                if rest:
                    text += f" Then: {rest}."
        return text


def confusion_of(rows: list, predicted: dict[int, str], labels: list[str]) -> dict[str, Any]:
    """Gold x predicted counts over `labels`, and the off-diagonal cells as words, largest first."""
    where = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for row in rows:
        matrix[where[row.label]][where[predicted[row.id]]] += 1
    cells = []
    for gold, i in where.items():
        total = sum(matrix[i])
        for guess, j in where.items():
            if i != j and matrix[i][j]:
                cells.append(Confusion(gold=gold, predicted=guess, count=matrix[i][j],
                                       share_of_gold=round(matrix[i][j] / total, 4)))
    cells.sort(key=lambda c: (-c.count, c.gold, c.predicted))
    return {"labels": labels, "confusion": matrix, "confusions": cells}
