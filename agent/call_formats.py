"""Tool calls written as text, the way small instruct models behind Ollama, llama.cpp or vLLM
often answer: a fenced ```json block, a bare JSON object or list, `<tool_call>...</tool_call>`
tags (Qwen, Hermes), `[TOOL_CALLS]` (Mistral), in any of the common shapes ({"name", "arguments"},
{"tool", "args"}, {"function": {...}}, {"tool_calls": [...]}, whybox's own {"calls": [...]}).

Why: such a model often picks the right tool but not the native `tool_calls` field; reading its
text as calls keeps the turn grounded in tool results instead of discarding it. A reply that is
whybox's clarification contract (tools.md "Plan output": `calls: []`, a `message`, `choices`) is
read as a clarifying question, not as calls.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_TAGGED = re.compile(r"<(tool_call|function_call|tool|function)>\s*(.*?)\s*</\1>", re.S | re.I)
_FENCED = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)```", re.S)
_NAME_KEYS = ("name", "tool", "tool_name", "function", "action")
_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
_ARG_KEYS = ("arguments", "args", "parameters", "params", "tool_input", "input", "action_input")


@dataclass
class TextCalls:
    """What a model's text held: calls [(name, args)], or a clarification (message + choices)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    clarification: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)  # argument strings that were not JSON objects


def _arguments(value: Any, problems: list[str]) -> dict[str, Any]:
    """Arguments may come as an object or as a JSON string of one (OpenAI's own wire form)."""
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except json.JSONDecodeError:
            problems.append(f"arguments are not JSON: {value[:80]!r}")
            return {}
    if not isinstance(value, dict):
        problems.append(f"arguments must be a JSON object, not {type(value).__name__}")
        return {}
    return value


def _call(obj: dict[str, Any], problems: list[str]) -> tuple[str, dict[str, Any]] | None:
    """One call from one of the common shapes, or None when the object is not a call."""
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {"name", "arguments"}}
        return _call(obj["function"], problems)
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str) and obj[k].strip()), None)
    if name is None or not _TOOL_NAME.fullmatch(name.strip()):
        return None
    args_key = next((k for k in _ARG_KEYS if k in obj), None)
    if args_key is None:  # {"name": "count", "where": {...}}: the arguments inline
        args = {k: v for k, v in obj.items() if k not in _NAME_KEYS and k != "type"}
    else:
        args = _arguments(obj[args_key], problems)
    return name.strip(), args


def _from_json(value: Any, found: TextCalls) -> bool:
    """Add the calls (or the clarification) that one parsed JSON value holds; whether it held any."""
    if isinstance(value, list):
        return any([_from_json(item, found) for item in value])
    if not isinstance(value, dict):
        return False
    for key in ("tool_calls", "calls"):
        if isinstance(value.get(key), list):
            if not value[key] and (value.get("message") or value.get("choices")):
                found.clarification = value
                return True
            held = False
            for item in value[key]:
                call = _call(item, found.problems) if isinstance(item, dict) else None
                if call is not None:
                    found.calls.append(call)
                    held = True
            return held
    call = _call(value, found.problems)
    if call is not None:
        found.calls.append(call)
        return True
    return False


def _json_values(text: str) -> list[Any]:
    """Every top-level JSON object or list in free text, left to right (raw_decode at each brace)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while True:
        starts = [i for i in (text.find("{", at), text.find("[", at)) if i >= 0]
        if not starts:
            return values
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            at = start + 1
            continue
        values.append(value)
        at = end


def parse_text_calls(content: str) -> TextCalls:
    """The calls a model wrote as text, trying the tagged, fenced, then bare forms in that order."""
    found = TextCalls()
    text = (content or "").strip()
    if not text or ("{" not in text and "[" not in text):
        return found
    text = text.replace("[TOOL_CALLS]", " ")
    pieces = [m.group(2) for m in _TAGGED.finditer(text)] or [m.group(1) for m in _FENCED.finditer(text)] or [text]
    for piece in pieces:
        for value in _json_values(piece):
            _from_json(value, found)
    return found
