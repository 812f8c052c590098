"""Check an LLM's tool-call arguments against what the person said and what the tools returned.

Why: small models invent arguments (`"id": 1` next to a quoted text, a layer nobody asked for, a
review text they never read). A row id, a text, a layer or a neuron that appears neither in the
question nor in the conversation (earlier turns and this turn's tool results) is not run silently:
it is dropped when the call stands without it (an optional argument, or the other half of an
`id`/`text` pair that is grounded), and otherwise questioned (a fixable error back to the model).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.U)
_NUMBER = re.compile(r"(?<![\d.])\d+(?![\d])")
_NUMBER_ARGS = ("layer", "neuron")


@dataclass
class Grounding:
    """The checked arguments, what was dropped (said in the steps) and what must be questioned."""

    args: dict[str, Any]
    dropped: list[str] = field(default_factory=list)
    questioned: list[str] = field(default_factory=list)


class Conversation:
    """The question and the conversation as searchable text: its numbers, words and lowered text."""

    def __init__(self, texts: list[str]) -> None:
        joined = "\n".join(texts)
        self.lowered = " ".join(joined.lower().split())
        self.numbers = {int(n) for n in _NUMBER.findall(joined) if len(n) < 12}
        self.words = set(_WORD.findall(self.lowered))

    def has_number(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value in self.numbers

    def has_text(self, value: Any) -> bool:
        """The text verbatim (case and spacing aside), or every word of it: a what-if edit of a row
        the conversation showed ("replace 'cold' with 'hot'") is grounded, an invented review is not."""
        if not isinstance(value, str):
            return True  # not ours to judge: Params validation answers it
        text = " ".join(value.lower().split()).strip(" '\"")
        if not text or text in self.lowered:
            return True
        words = _WORD.findall(text)
        return bool(words) and all(word in self.words for word in words)


def ground_call(args: dict[str, Any], conversation: Conversation, required: set[str]) -> Grounding:
    """Check one call's `id`, `text`, `where.ids`, `layer` and `neuron` against the conversation."""
    out = Grounding(args=dict(args))
    id_ok = "id" not in args or conversation.has_number(args["id"])
    text_ok = "text" not in args or conversation.has_text(args["text"])
    if not id_ok and "text" in args and text_ok:
        out.dropped.append(f"id {args['id']} (not in the question or the conversation; the quoted text was used)")
        del out.args["id"]
    elif not text_ok and "id" in args and id_ok:
        out.dropped.append(f"text {_short(args['text'])} (not in the question or the conversation; "
                           f"row {args['id']} was used)")
        del out.args["text"]
    else:
        if not id_ok:
            out.questioned.append(f"row id {args['id']} appears neither in the question nor in the conversation: "
                                  "use the id the person gave, or call `show`/`mistakes` to find one")
        if not text_ok:
            out.questioned.append(f"the text {_short(args['text'])} appears neither in the question nor in the "
                                  "conversation: use the person's exact words, or call `show` with the row's id")
    where = args.get("where")
    if isinstance(where, dict) and isinstance(where.get("ids"), list):
        invented = [i for i in where["ids"] if not conversation.has_number(i)]
        if invented:
            out.questioned.append(f"where.ids {invented} appear neither in the question nor in the conversation")
    for name in _NUMBER_ARGS:
        value = args.get(name)
        if value is None or conversation.has_number(value):
            continue
        if name in required:
            out.questioned.append(f"{name} {value} appears neither in the question nor in the conversation: "
                                  f"ask the person which {name}, or use one a tool returned")
        else:
            out.dropped.append(f"{name} {value} (not asked for; the tool's default applies)")
            del out.args[name]
    return out


def _short(text: Any) -> str:
    text = str(text)
    return repr(text if len(text) <= 60 else text[:57] + "...")
