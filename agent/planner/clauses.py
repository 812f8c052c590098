"""A question's parts and the words around them, for the planner (agent/planner/planner.py):
its clauses, the filter words that only describe a selection, quoted operation names, the topic
of a concept question. Pure functions over the text."""
from __future__ import annotations

import re

from agent.planner.catalog import catalog
from agent.planner.rules import clause_intent, concept_topic, concept_topics, topic_order
from agent.planner.slots import find_where
from agent.planner.vocabulary import SPLIT


def _clauses(bare: str) -> list[str]:
    """The question's parts: SPLIT's separators, then a bare "and" between two different requests
    ("show the label distribution and the top 5 keywords"), never inside a filter or a list of ids."""
    out = []
    for clause in (c for c in SPLIT.split(bare) if c and c.strip()):
        parts = re.split(r"\s+(?:and|plus)\s+", clause)  # "label split plus the top 8 words"
        if len(parts) < 2:
            out.append(clause)
            continue
        current = parts[0]
        for part in parts[1:]:
            left, right = clause_intent(current), clause_intent(part)
            # a new request starts with a determiner, a verb or a question word
            if left and right and left != right and re.match(
                r"\W*(?:the"
                r"|a"
                r"|an"
                r"|its"
                r"|their"
                r"|my"
                r"|show"
                r"|give"
                r"|what"
                r"|how"
                r"|which"
                r"|tell"
                r"|top"
                r"|list"
                r"|predict"
                r"|explain"
                r"|count"
                r"|find"
                r"|compute"
                r"|why"
                r"|please"
                r"|can"
                r"|could"
                r"|do"
                r"|about)\b",  # "tell me about the model and about the dataset"
                part,
                re.I,
            ):
                out.append(current)
                current = part
            else:
                current = f"{current} and {part}"
        out.append(current)
    return out


def _beyond_filters(tool: str, clause: str, labels: list[str]) -> str:
    """'5 reviews predicted negative', 'instances with the gold label negative': the words that
    matched `tool` only describe a selection; what is asked is in the rest ("how many" -> count),
    or, with nothing else, the rows themselves (show)."""
    if not labels or not find_where(clause, labels):
        return tool
    names = "|".join(re.escape(label) for label in labels)
    rest = re.sub(
        r"\b(?:the )?(?:gold |true )?(?:label(?:l?ed)?|predicted|predictions?|classified)(?: as| to be)? "
        rf"(?:{names})\b",
        " ",
        clause,
        flags=re.I,
    )
    if rest == clause:
        return tool
    other = clause_intent(rest)
    if other and other != tool:
        return other
    rows = catalog().role("rows")
    plural = re.search(r"\b(?:reviews|rows|items|examples|instances|samples|data ?points|ones)\b", clause, re.I)
    return rows if tool == catalog().role("default") and plural else tool


def _unquote_concepts(text: str) -> str:
    """'the "learn" functionality': a quoted operation name is not an instance text."""
    def repl(m: re.Match[str]) -> str:
        inner = next(g for g in m.groups() if g)
        return (inner
                if len(inner.split()) <= 3 and concept_topic(inner)
                and not re.search(r"\b(?:review|text|sentence)\b", text[:m.start()][-25:], re.I)
                and _looks_like_name(inner, text)
                else m.group(0))
    return re.sub(r"\"([^\"]+)\"|“([^”]+)”|(?<![a-z])'([^']+)'(?![a-z])", repl, text)


def _looks_like_name(inner: str, text: str) -> bool:
    # "your note says 'integrated gradients'. what is that?", "the 'control baseline' your answer mentions",
    # "people say these programs 'pay attention' to words": a term quoted from somewhere, not a text to run on
    return (bool(re.search(r"functionality|operation|feature|method|technique|concept|term|mean|work|mentions?"
                           r"|\bsays?\b|\bcall(?:s|ed)?\b|so-called|what(?: is|'s) that|normal language|plain words"
                           r"|simplification", text, re.I))
            or len(inner.split()) == 1)


def _topic(question: str) -> str:
    # the most specific topic named (CONCEPT_TERMS order), unless another named topic covers it:
    # "why does integrated gradients need a baseline" is about integrated gradients
    named = concept_topics(question)
    topic = min(named, key=topic_order) if named else None
    if topic:
        return topic
    t = re.sub(
        r"^(?:what(?:'s| is| are| does)"
        r"|explain"
        r"|define"
        r"|describe"
        r"|tell me about"
        r"|how does"
        r"|how do"
        r"|can you explain"
        r"|could you explain)\s+",
        "",
        question.strip(),
        flags=re.I,
    )
    t = re.sub(r"\b(?:mean|work|works|stand for)\b\??$", "", t, flags=re.I)
    return t.strip(" ?.!").removeprefix("the ").removeprefix("a ").strip() or question.strip()
