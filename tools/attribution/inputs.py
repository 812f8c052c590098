"""What an attribution method works on: the model input split into a fixed prefix and a variable
part, the user's words (sub-word tokens merged), and the target being explained.

Only the user's content is scored or perturbed: chat-template and special tokens keep their real
ids and embeddings in every perturbation and every baseline. Everything before the first content
token is a *prefix* that no method ever changes, so causal LMs compute it once (KV cache) and
reuse it for every gradient step and perturbation.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from tools.models.tasks import Encoded

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # characters in the user's text
    end: int
    tokens: tuple[int, ...]  # positions in the full input ids


@dataclass(frozen=True)
class Target:
    """What is explained, as log-probabilities the scorer returns per row.

    kind "label": the calibrated log-probability of `label` (minus that of `contrast` when set);
    kind "tokens": log p of each `answer_ids` token, teacher-forced after the prompt
    (a one-token answer is a next-token target).
    """

    kind: str  # "label" | "tokens"
    label: str | None = None
    contrast: str | None = None
    answer_ids: tuple[int, ...] = ()
    answer_tokens: tuple[str, ...] = ()

    @property
    def n_outputs(self) -> int:
        return len(self.answer_ids) if self.kind == "tokens" else 1


@dataclass
class AttributionInput:
    text: str
    ids: list[int]  # prompt ids (template + content), then the answer ids for a "tokens" target
    content_mask: list[bool]
    words: list[Word]
    target: Target
    prefix_len: int  # ids[:prefix_len] are never changed by any method
    baseline_id: int
    n_prompt: int = field(default=0)

    @property
    def variable_ids(self) -> list[int]:
        return self.ids[self.prefix_len:]

    @property
    def content_positions(self) -> list[int]:
        return [i for i, m in enumerate(self.content_mask) if m]

    def word_positions(self) -> list[list[int]]:
        """Per word, its token positions relative to the variable part."""
        return [[t - self.prefix_len for t in w.tokens] for w in self.words]

    def token_owner(self) -> dict[int, int]:
        """Variable-part position -> index of the word it belongs to (whitespace tokens have none)."""
        return {p: w for w, positions in enumerate(self.word_positions()) for p in positions}

    def without(self, words: set[int] | list[int]) -> list[int]:
        """Variable ids with the given words' tokens deleted (true deletion, ERASER style)."""
        drop = {t for w in words for t in self.words[w].tokens}
        return [tok for i, tok in enumerate(self.ids) if i >= self.prefix_len and i not in drop]

    def only(self, words: set[int] | list[int]) -> list[int]:
        """Variable ids keeping, of the content, only the given words' tokens."""
        keep = {t for w in words for t in self.words[w].tokens}
        content = set(self.content_positions)
        return [tok for i, tok in enumerate(self.ids) if i >= self.prefix_len and (i not in content or i in keep)]

    def replaced(self, words: set[int] | list[int]) -> list[int]:
        """Variable ids with the given words' tokens replaced by the baseline token (occlusion)."""
        swap = {t for w in words for t in self.words[w].tokens}
        return [self.baseline_id if i in swap else tok for i, tok in enumerate(self.ids) if i >= self.prefix_len]


def split_words(text: str, encoded: Encoded) -> list[Word]:
    """Merge content tokens into whitespace-separated words. A token belongs to the word holding
    its first non-space character; whitespace-only tokens belong to no word (never perturbed)."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    members: list[list[int]] = [[] for _ in spans]
    offsets = encoded.offsets or [None] * len(encoded.input_ids)
    for position, (is_content, span) in enumerate(zip(encoded.content_mask, offsets)):
        if not is_content or span is None:
            continue
        start, end = span
        first = next((i for i in range(start, end) if not text[i].isspace()), None)
        if first is None:
            continue
        for w, (ws, we) in enumerate(spans):
            if ws <= first < we:
                members[w].append(position)
                break
    return [Word(text[s:e], s, e, tuple(toks)) for (s, e), toks in zip(spans, members) if toks]
