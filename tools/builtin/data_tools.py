"""Data tools: show, count, label_distribution, keywords, edit_label. No model needed, except
when a `where` filter asks about predictions."""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import Field
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tools.base import Params, Tool
from tools.common import row_view, selected_rows
from tools.context import ToolContext
from tools.errors import InputError
from tools.planning import Trigger, alternatives
from tools.where import Where

MAX_SHOW = 50


class ShowParams(Params):
    id: int | None = None
    where: Where | None = None
    k: int | None = Field(default=None, ge=1, le=MAX_SHOW)


class Show(Tool):
    name = "show"
    description = "Show dataset rows: one row by id, or the rows matching a filter (first k)."
    Params = ShowParams
    triggers = (
        Trigger(alternatives(
            r"\bwhat (?:does|do|did) (?:it|that|this|they|that one|this one|"
            r"(?:the )?(?:review|item|row|instance|example|sample|id|data "
            r"?point) ?#?\d+) (?:look like|say)\b",
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

    def run(self, ctx: ToolContext, params: ShowParams) -> dict[str, Any]:
        if params.id is not None and params.where is not None:
            raise InputError("Give either `id` or `where` to show, not both.")
        with_prediction = ctx.workspace.model_loaded and ctx.task.is_classifier
        if params.id is not None:
            row = ctx.dataset.get(params.id)
            return {"selection": f"row {row.id}", "total": 1, "rows": [row_view(ctx, row, with_prediction)]}
        rows = selected_rows(ctx, params.where)
        k = params.k or 5
        return {
            "selection": (params.where or Where()).describe(),
            "total": len(rows),
            "rows": [row_view(ctx, r, with_prediction) for r in rows[:k]],
        }


class WhereParams(Params):
    where: Where | None = None


class Count(Tool):
    name = "count"
    description = "How many dataset rows match a filter (all rows without one)."
    Params = WhereParams
    triggers = (
        Trigger(alternatives(
            r"\bid'?s? of all",
            r"item ids",
            r"how many",
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

    def run(self, ctx: ToolContext, params: WhereParams) -> dict[str, Any]:
        rows = selected_rows(ctx, params.where)
        return {"selection": (params.where or Where()).describe(), "count": len(rows), "total": len(ctx.dataset)}


class LabelDistribution(Tool):
    name = "label_distribution"
    description = "Gold label counts and shares of the rows matching a filter."
    Params = WhereParams
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
            r"proportion of",
            r"classes (?:exist|are there)",
            r"labels can",
            r"what labels",
            r"label options",
            r"(?:what|which) (?:\w+ )?categor(?:y|ies)",
            r"categor(?:y|ies) (?:can|do|are|exist)",
            r"\babout the labels\b",
            r"\blabels of (?:the |this |your )?(?:data|dataset|data set)\b",
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

    def run(self, ctx: ToolContext, params: WhereParams) -> dict[str, Any]:
        if not ctx.dataset.has_labels:
            raise InputError("This dataset has no gold labels.", "Load it with --label-column NAME.")
        rows = selected_rows(ctx, params.where)
        counts = Counter(r.label for r in rows if r.label is not None)
        total = sum(counts.values())
        dist = [
            {"label": label, "count": counts.get(label, 0), "share": round(counts.get(label, 0) / total, 4) if total else 0.0}
            for label in ctx.dataset.labels
        ]
        return {"selection": (params.where or Where()).describe(), "total": total, "labels": dist}


_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


def content_words(text: str) -> list[str]:
    """Lower-cased words minus English stop words and one-letter tokens."""
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in ENGLISH_STOP_WORDS and not w.endswith("'t")]


class KeywordsParams(Params):
    k: int | None = Field(default=None, ge=1, le=200)
    where: Where | None = None


class Keywords(Tool):
    name = "keywords"
    description = "Most frequent content words (stop words removed) of the rows matching a filter, overall and per gold label."
    knowledge_card = "keywords"
    Params = KeywordsParams
    triggers = (
        Trigger(alternatives(
            r"words? (?:that )?(?:occur|appear|come up)s? (?:the )?most",
            r"(?:appear|occur|come up)s? most",
            r"\bkey ?words?\b",
            r"keyword",
            r"most (?:frequent|common|used|popular) (?:words|tokens|terms)",
            r"(?:frequent|common|used) (?:words|tokens|terms)",
            r"word frequenc",
            r"top (?:\d+ )?(?:words|terms|tokens) (?:in|of|across) (?:the )?data",
            r"highest occurrence",
        ), priority=130),
    )
    intent_examples = (
        "which words are most frequent?",
        "top terms in the reviews",
        "what words show up most in the negative reviews?",
        "common words among the mistakes",
    )
    examples = ("what are the most common words?", "top 5 keywords in negative reviews")

    def run(self, ctx: ToolContext, params: KeywordsParams) -> dict[str, Any]:
        rows = selected_rows(ctx, params.where)
        k = params.k or 10
        overall: Counter[str] = Counter()
        per_label: dict[str, Counter[str]] = {}
        for row in rows:
            words = content_words(row.text)
            overall.update(words)
            if row.label is not None:
                per_label.setdefault(row.label, Counter()).update(words)
        return {
            "selection": (params.where or Where()).describe(),
            "rows": len(rows),
            "keywords": [{"word": w, "count": c} for w, c in overall.most_common(k)],
            "by_label": {label: [{"word": w, "count": c} for w, c in counter.most_common(k)] for label, counter in sorted(per_label.items())},
        }


class EditLabelParams(Params):
    id: int
    label: str


class EditLabel(Tool):
    name = "edit_label"
    description = "Change a row's gold label for this conversation (the data file is not changed)."
    Params = EditLabelParams
    triggers = (
        Trigger(alternatives(
            r"\b(?:change|edit|modify|revise|update|set|correct|fix|alter|switch|adjust|amend|assign)\b.*\blabel",
            r"\brelabel",
            r"\b(?:mark|tag|annotate)\b.*\b(?:as|with the label)\b",
            r"\b(?:change|set|switch|turn|put|mark) (?:it|this|that|them|this one|that one)(?: back)? (?:to|as)\b",
            r"\blabel\b.*\b(?:to|as) (?:be )?(?:the )?(?:given|specified|provided|designated|assigned)",
        ), priority=60),
    )
    intent_examples = (
        "change the label of row 4 to negative",
        "relabel review 9",
        "set item 30's label to positive",
        "mark id 12 as negative",
    )
    precise = True
    examples = ("change the label of review 5 to positive",)

    def run(self, ctx: ToolContext, params: EditLabelParams) -> dict[str, Any]:
        row = ctx.dataset.get(params.id)
        known = ctx.workspace.labels or ctx.dataset.labels
        match = next((l for l in known if l.lower() == params.label.strip().lower()), None)
        if match is None:
            raise InputError(f"Unknown label {params.label!r}.", f"Labels: {', '.join(known)}.")
        ctx.label_edits[params.id] = match
        return {"id": row.id, "text": row.text, "old_label": row.label, "new_label": match, "edits": len(ctx.label_edits)}
