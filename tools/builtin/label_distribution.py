"""label_distribution: gold label counts and shares of the rows matching a filter."""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from tools.base import Output, Params, Tool
from tools.common import selected_rows
from tools.errors import InputError
from tools.narration import pct
from tools.planning import PlanQuery, Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    from tools.context import ToolContext


class LabelDistributionParams(Params):
    where: Where | None = None


class LabelShare(Output):
    label: str
    count: int
    share: float  # of the selected labelled rows, 0-1


class LabelDistributionOutput(Output):
    selection: str  # the filter in words ("all rows" without one)
    total: int  # selected rows that have a gold label
    labels: list[LabelShare]  # every label of the dataset, in its label order


class LabelDistribution(Tool):
    name = "label_distribution"
    description = "Gold label counts and shares of the rows matching a filter."
    Params = LabelDistributionParams
    Output = LabelDistributionOutput
    triggers = (
        Trigger(alternatives(
            r"gold labels?",
            r"true labels?",
            r"target labels?",
            r"label(?:ing|ling)\b",
            r"labell?ed\??$",
            r"different labels?",
            r"(?:data|dataset)(?:'s)? labels",
            r"label distribution",
            r"distribution of (?:the )?(?:gold )?(?:labels|classes)",
            r"class (?:balance|distribution|breakdown)",
            r"breakdown of (?:the )?(?:gold )?(?:labels|classes)",
            r"(?:what|which) (?:are the )?(?:\w+ )?(?:labels|classes)\b",
            r"labels? (?:are )?(?:there|present|available|in the data)",
            r"(?:available|possible|existing) (?:\w+ )?(?:labels|classes)",
            r"how (?:are|is) .* (?:labels? distributed|labell?ed)",
            r"\blabels? (?:counts|shares|frequenc)",
            r"how many .* (?:per|each|of each) (?:label|class)",
            # "how many of the reviews are negative vs positive?": both labels counted
            r"how many .*\b(?:negative|positive|neutral)s? (?:vs\.?|versus|and|or) "
            r"(?:the )?(?:negative|positive|neutral)",
            r"proportion of",
            # "how do positives and negatives balance out in the film reviews", "the pos/neg balance"
            r"\b(?:positives?|negatives?|pos|neg) (?:and|vs\.?|versus|/|to) (?:the )?(?:positives?|negatives?|pos"
            r"|neg)\b.*\b(?:balance|split|ratio|mix|share)",
            r"\b(?:balance|split|ratio|mix) (?:of|between) (?:the )?(?:positives?|negatives?)\b",
            r"\bbalance out\b",
            r"\bhow (?:balanced|imbalanced|unbalanced|skewed)\b",  # "how balanced is the dataset between ..."
            r"\b(?:label|class|sentiment) (?:split|mix|balance|ratio|breakdown)\b",
            r"\bpos(?:itive)? ?(?:/|vs\.?|versus|to) ?neg(?:ative)?\b.{0,20}\b(?:ratio|split|breakdown|balance"
            r"|mix|share)",
            r"\b(?:ratio|split|breakdown|balance|mix) (?:between|of) (?:the )?(?:positive|negative|pos"
            r"|neg)\w* (?:and|vs\.?|to) ",
            r"\bas (?:much|many) (?:positive|negative) (?:data |reviews |rows )?as (?:positive|negative)\b",
            r"classes (?:exist|are there)",
            # "is the service data balanced between good and bad reviews"
            r"\b(?:is|are) (?:the |my |our )?(?:\w+ )?(?:data(?:set)?|reviews|rows|labels|classes) (?:\w+ )?"
            r"(?:balanced|imbalanced"
            r"|unbalanced|skewed)\b",
            r"labels can",
            r"what labels",
            r"label options",
            r"(?:what|which) (?:\w+ )?categor(?:y|ies)",
            r"categor(?:y|ies) (?:can|do|are|exist)",
            r"\babout the labels\b",
            r"\blabels of (?:the |this |your )?(?:data|dataset|data set)\b",
            r"\blabel balance\b",
            r"\bmostly \w+ or \w+",  # "are the service reviews mostly negative or positive?"
            r"\bwhat (?:share|fraction|percentage|percent|part) of\b"
            r"(?!.*\b(?:correct|right|wrong|mistakes?|errors?|misclassif))",
            r"labels (?:are |do we )?(?:assigned|have|present|available|at our disposal)",
        ), priority=120),
    )
    intent_examples = (
        "how balanced are the classes?",
        "what share of the rows is negative?",
        "which label is most common in the data?",
        "give me label counts",
        "what fraction of the reviews are positive?",
    )
    examples = ("what labels are there?", "label distribution of reviews longer than 20 words")
    planner_role = "label_counts"  # every label counted (agent/planner/planner.py `_comparison`)

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        """'the gold label of review 5' shows the row; 'how many reviews labelled negative' counts."""
        ids = query.ids()
        if len(ids) == 1:
            return "show"
        if not ids and "QUOTED" not in query.text:
            return query.beyond_filters(cls.name)
        return None

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """'how many positive and negative film reviews': the labels named are what is counted, not a
        filter (a distribution inside one label is that label alone)."""
        where = args.get("where") or {}
        if "label" in where and len(query.labels_named()) > 1:
            where.pop("label")
            if not where:
                args.pop("where", None)
        return args

    def run(self, ctx: ToolContext, params: LabelDistributionParams) -> LabelDistributionOutput:
        if not ctx.dataset.has_labels:
            raise InputError("This dataset has no gold labels.", "Load it with --label-column NAME.")
        rows = selected_rows(ctx, params.where)
        counts = Counter(r.label for r in rows if r.label is not None)
        total = sum(counts.values())
        dist = [
            LabelShare(label=label, count=counts.get(label, 0),
                       share=round(counts.get(label, 0) / total, 4) if total else 0.0)
            for label in ctx.dataset.labels
        ]
        return LabelDistributionOutput(selection=(params.where or Where()).describe(), total=total, labels=dist)

    def narrate(self, output: LabelDistributionOutput, args: dict[str, Any]) -> str:
        o = output
        parts = [f"{d.label}: {d.count} ({pct(d.share)})" for d in o.labels]
        scope = "" if o.selection == "all rows" else f" among {o.selection}"
        return f"Gold labels{scope} ({o.total} rows): " + "; ".join(parts) + "."
