"""Errors sorted by who can recover (design.md habit 8).

`WhyboxError` and its subclasses are mistakes a user or a planner can fix: they carry a one-line
message (and optionally a hint) that the CLI prints and the conversation shows, and the chat goes
on. Anything else that escapes a tool is our own bug and is raised.
"""
from __future__ import annotations


class WhyboxError(Exception):
    """A recoverable problem with a message meant for the person (or planner) who caused it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InputError(WhyboxError):
    """Bad arguments: empty text, unknown id, out-of-range values, malformed JSON."""


class DataError(WhyboxError):
    """A dataset that cannot be read: missing file, unknown column, unsupported format."""


class ModelLoadError(WhyboxError):
    """A model path that is not a model, unsafe weights, or an unsupported architecture."""


class UnknownToolError(WhyboxError):
    """A tool name that is not in the registry; the message lists the valid ones."""


class ToolUnavailable(WhyboxError):
    """A catalogue tool whose implementation has not landed yet, or that the model cannot run."""
