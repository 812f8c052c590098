"""What a question must be before it is planned, stored or shown; light (no torch), so `whybox
plan` can check its questions without importing the assistant."""
from __future__ import annotations

from typing import Any

from tools.errors import InputError


def usable_question(question: Any) -> str:
    """A question is text that can be stored and shown: `plan(123)` or a lone surrogate (from
    undecodable argv or a Python caller) gets one clear line, not a traceback deep inside (issue 22)."""
    if not isinstance(question, str):
        raise InputError(f"A question is text, not {type(question).__name__}.")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("The question holds characters that are not valid Unicode text (lone surrogates, e.g. "
                         "from bytes that are not UTF-8); type it again as plain text.") from None
    return question
