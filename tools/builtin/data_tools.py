"""Data tools: show, count, label_distribution, keywords, edit_label. No model needed, except
when a `where` filter asks about predictions."""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

from pydantic import Field
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tools.base import Params, Tool
from tools.context import ToolContext
from tools.errors import InputError
from tools.where import Where, select

MAX_SHOW = 50


def selected_rows(ctx: ToolContext, where: Where | None):
    """Rows matching `where`; predictions are computed only if the filter needs them."""
    return select(ctx.dataset, where, ctx.predicted_labels)


def row_view(ctx: ToolContext, row, with_prediction: bool) -> dict[str, Any]:
    view = row.to_dict()
    if with_prediction:
        table = ctx.predictions()
        probs = table.probs_of(row.id)
        view["prediction"] = max(probs, key=probs.get)
        view["confidence"] = round(max(probs.values()), 4)
    return view


class ShowParams(Params):
    id: int | None = None
    where: Where | None = None
    k: int | None = Field(default=None, ge=1, le=MAX_SHOW)


class Show(Tool):
    name = "show"
    description = "Show dataset rows: one row by id, or the rows matching a filter (first k)."
    Params = ShowParams
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
    examples = ("how many reviews are there?", "how many reviews mention price?")

    def run(self, ctx: ToolContext, params: WhereParams) -> dict[str, Any]:
        rows = selected_rows(ctx, params.where)
        return {"selection": (params.where or Where()).describe(), "count": len(rows), "total": len(ctx.dataset)}


class LabelDistribution(Tool):
    name = "label_distribution"
    description = "Gold label counts and shares of the rows matching a filter."
    Params = WhereParams
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
    examples = ("change the label of review 5 to positive",)

    def run(self, ctx: ToolContext, params: EditLabelParams) -> dict[str, Any]:
        row = ctx.dataset.get(params.id)
        known = ctx.workspace.labels or ctx.dataset.labels
        match = next((l for l in known if l.lower() == params.label.strip().lower()), None)
        if match is None:
            raise InputError(f"Unknown label {params.label!r}.", f"Labels: {', '.join(known)}.")
        ctx.label_edits[params.id] = match
        return {"id": row.id, "text": row.text, "old_label": row.label, "new_label": match, "edits": len(ctx.label_edits)}
