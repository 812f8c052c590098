"""keywords: the most frequent content words of the rows matching a filter, overall and per gold
label (English stop words removed)."""
from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from pydantic import Field

from tools.base import Output, Params, Tool
from tools.common import selected_rows
from tools.planning import Trigger, alternatives
from tools.where import Where

if TYPE_CHECKING:
    from tools.context import ToolContext

_WORD = re.compile(r"[a-z][a-z'-]*[a-z]|[a-z]")


def content_words(text: str) -> list[str]:
    """Lower-cased words minus English stop words and one-letter tokens."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return [w for w in _WORD.findall(text.lower())
            if len(w) > 1 and w not in ENGLISH_STOP_WORDS and not w.endswith("'t")]


class KeywordsParams(Params):
    k: int | None = Field(default=None, ge=1, le=200)
    where: Where | None = None


class WordCount(Output):
    word: str
    count: int


class KeywordsOutput(Output):
    selection: str  # the filter in words ("all rows" without one)
    rows: int  # rows selected
    keywords: list[WordCount]  # the k most frequent content words, most frequent first
    by_label: dict[str, list[WordCount]]  # the same per gold label (sorted by label)


class Keywords(Tool):
    name = "keywords"
    description = ("Most frequent content words (stop words removed) of the rows matching a filter, "
                   "overall and per gold label.")
    knowledge_card = "keywords"
    Params = KeywordsParams
    Output = KeywordsOutput
    shorthand = {"kw": "keywords", "kws": "keywords"}
    triggers = (
        Trigger(alternatives(
            r"words? (?:that )?(?:occur|appear|come up|show up)s? (?:the )?most",
            r"words? (?:that )?(?:occur|appear|come up|show up)s? (?:a lot|often|frequently)",
            r"(?:appear|occur|come up)s? most",
            r"\bkey ?words?\b",
            r"keyword",
            r"most (?:frequent|common|used|popular) (?:words|tokens|terms)",
            r"(?:frequent|common|used) (?:words|tokens|terms)",
            r"\bfrequ\w* (?:\d+ )?(?:words|tokens|terms)",  # "most frequnt 15 words" (a typo the speller keeps)
            r"\b(?:words|tokens|terms) (?:are|is) (?:most |the most )?(?:frequent|common)\b",
            # "what do people keep bringing up in restaurant reviews?", "what do they talk about most"
            r"\b(?:keep )?(?:bring|bringing|brings) up\b",
            r"\b(?:talk|talking|complain|complaining|rave|raving) about (?:the )?most\b",
            r"\bwhat do (?:people|reviewers|customers|they) (?:mention|talk about|complain about)\b",
            r"word frequenc",
            r"top (?:\d+ )?(?:words|terms|tokens) (?:in|of|across) (?:the )?data",
            # "top 15 words in negative reviews" (not "top 5 words in review 3", an attribution)
            r"\btop \d+ (?:words|terms|tokens) (?:in|of|among|across|for) (?:the |all )?(?:\w+ ){0,2}"
            r"(?:reviews|rows|texts|examples|ones)\b(?!\s*#?\d)",
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

    def run(self, ctx: ToolContext, params: KeywordsParams) -> KeywordsOutput:
        rows = selected_rows(ctx, params.where)
        k = params.k or 10
        overall: Counter[str] = Counter()
        per_label: dict[str, Counter[str]] = {}
        for row in rows:
            words = content_words(row.text)
            overall.update(words)
            if row.label is not None:
                per_label.setdefault(row.label, Counter()).update(words)

        def top(counter: Counter[str]) -> list[WordCount]:
            return [WordCount(word=w, count=c) for w, c in counter.most_common(k)]

        return KeywordsOutput(
            selection=(params.where or Where()).describe(),
            rows=len(rows),
            keywords=top(overall),
            by_label={label: top(counter) for label, counter in sorted(per_label.items())},
        )

    def narrate(self, output: KeywordsOutput, args: dict[str, Any]) -> str:
        o = output
        if not o.keywords:
            return f"No content words found in {o.selection}."
        words = ", ".join(f"{k.word} ({k.count})" for k in o.keywords)
        text = f"The most frequent content words in {o.selection} ({o.rows} rows) are: {words}."
        for label, items in o.by_label.items():
            if items:
                text += f"\nIn {label} rows: " + ", ".join(f"{k.word} ({k.count})" for k in items[:5]) + "."
        return text
