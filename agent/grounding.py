"""The grounding check: every number and quoted token an LLM narration mentions must appear in
the tool results (or the question). A narration that fails is replaced by the template one."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?:\.\d+)?%?")
QUOTED = re.compile(
    r"\"([^\"]{1,80})\""
    r"|“([^”]{1,80})”"
    # an apostrophe between letters stays inside a single-quoted token: 'won't'
    r"|(?<![A-Za-z])'((?:[^']|(?<=[A-Za-z])'(?=[A-Za-z])){1,80})'(?![A-Za-z])"
)


@dataclass
class Grounding:
    ok: bool
    unsupported_numbers: list[str] = field(default_factory=list)
    unsupported_quotes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"number {n}" for n in self.unsupported_numbers] + [f"quote {q!r}" for q in self.unsupported_quotes]
        return ", ".join(parts)


def _numbers_in(value: Any) -> Iterable[float]:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield float(value)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers_in(v)
    elif isinstance(value, str):
        for m in NUMBER.finditer(value):
            parsed = _parse(m.group(0))
            if parsed is not None:
                yield parsed


def _parse(token: str) -> float | None:
    token = token.rstrip("%").replace(",", "")
    try:
        return float(token)
    except ValueError:
        return None


def _decimals(token: str) -> int:
    token = token.rstrip("%")
    return len(token.split(".")[1]) if "." in token else 0


def _supported(token: str, facts: list[float]) -> bool:
    """True when a result value rounds to the token, directly or as a percentage (71.6% ~ 0.716)."""
    value = _parse(token)
    if value is None:
        return True
    tolerance = 0.5 * 10 ** -_decimals(token) + 1e-9
    return any(abs(fact - value) <= tolerance or abs(fact * 100 - value) <= tolerance for fact in facts)


def check(narration: str, results: list[Any], question: str = "") -> Grounding:
    """Numbers must match a result value at the precision written; quotes must occur verbatim."""
    facts = list(_numbers_in(results)) + list(_numbers_in(question))
    corpus = (json.dumps(results, ensure_ascii=False, default=str) + " " + question).lower()
    numbers = [m.group(0) for m in NUMBER.finditer(narration)]
    bad_numbers = [n for n in numbers if not _supported(n, facts)]
    quotes = [next(g for g in m.groups() if g) for m in QUOTED.finditer(narration)]
    bad_quotes = [q for q in quotes if q.lower().strip() not in corpus]
    return Grounding(ok=not bad_numbers and not bad_quotes, unsupported_numbers=bad_numbers,
                     unsupported_quotes=bad_quotes)
