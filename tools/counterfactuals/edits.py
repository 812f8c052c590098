"""Word-level edits and their measures: an edit replaces the word at one position by zero or more
words (deletion, substitution, "not" inserted after an auxiliary), so several edits at distinct
positions compose without index bookkeeping."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from tools.counterfactuals.lexicon import ANTONYMS, AUXILIARIES, NEGATORS

_SPLIT = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
CONTRACTIONS = {"isn't": "is", "wasn't": "was", "aren't": "are", "weren't": "were", "don't": "do", "doesn't": "does",
                "didn't": "did", "can't": "can", "won't": "will", "wouldn't": "would", "couldn't": "could",
                "shouldn't": "should", "hasn't": "has", "haven't": "have", "hadn't": "had"}


@dataclass(frozen=True)
class Edit:
    position: int
    replacement: tuple[str, ...]
    kind: str  # delete | antonym | negation | model | synonym | typo | insert
    description: str


def parts(word: str) -> tuple[str, str, str]:
    """(leading punctuation, core, trailing punctuation)."""
    match = _SPLIT.match(word)
    return (match.group(1), match.group(2), match.group(3)) if match else ("", word, "")


def recase(template: str, word: str) -> str:
    return word[:1].upper() + word[1:] if template[:1].isupper() else word


def swap(word: str, new_core: str) -> str:
    lead, core, trail = parts(word)
    return lead + recase(core, new_core) + trail


def apply(words: Sequence[str], edits: Iterable[Edit]) -> list[str]:
    by_position = {e.position: e for e in edits}
    out: list[str] = []
    for i, w in enumerate(words):
        out.extend(by_position[i].replacement if i in by_position else (w,))
    return out


def lexical_edits(words: Sequence[str]) -> list[Edit]:
    """Deletions, antonym swaps and negation edits at every position."""
    edits = []
    for i, word in enumerate(words):
        lead, core, trail = parts(word)
        low = core.lower()
        if not core:
            continue
        if len(words) > 1:
            edits.append(Edit(i, (), "delete", f"delete '{core}'"))
        for antonym in ANTONYMS.get(low, []):
            edits.append(Edit(i, (swap(word, antonym),), "antonym", f"'{core}' → '{antonym}'"))
        if low in NEGATORS:
            if len(words) > 1:
                edits.append(Edit(i, (), "negation", f"remove '{core}'"))
        elif low in CONTRACTIONS:
            edits.append(Edit(i, (swap(word, CONTRACTIONS[low]),), "negation", f"'{core}' → '{CONTRACTIONS[low]}'"))
        elif low in AUXILIARIES and not (i + 1 < len(words) and parts(words[i + 1])[1].lower() in NEGATORS):
            edits.append(Edit(i, (lead + core, "not" + trail), "negation", f"'{core}' → '{core} not'"))
    return edits


def word_edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Levenshtein distance over words (case-insensitive)."""
    a = [w.lower() for w in a]
    b = [w.lower() for w in b]
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def minimality(original: Sequence[str], edited: Sequence[str]) -> float:
    """MiCE's minimality: word edit distance normalised by the original's length."""
    return word_edit_distance(original, edited) / max(1, len(original))


def diversity(texts: Sequence[Sequence[str]]) -> float | None:
    """Mean pairwise normalised word edit distance within a set (None for fewer than two)."""
    pairs = [(a, b) for i, a in enumerate(texts) for b in texts[i + 1:]]
    if not pairs:
        return None
    return sum(word_edit_distance(a, b) / max(len(a), len(b), 1) for a, b in pairs) / len(pairs)


def _typos(word: str) -> list[str]:
    """Adjacent swaps and single deletions inside the word (first and last letters kept)."""
    lead, core, trail = parts(word)
    if len(core) < 4 or not core.isalpha():
        return []
    out = []
    for i in range(1, len(core) - 2):
        out.append(core[:i] + core[i + 1] + core[i] + core[i + 2:])
    for i in range(1, len(core) - 1):
        out.append(core[:i] + core[i + 1:])
    return [lead + t + trail for t in dict.fromkeys(out) if t != core][:4]


def perturbation_edits(words: Sequence[str]) -> list[Edit]:
    """Meaning-preserving perturbations: synonym swaps, character typos, a neutral phrase in front."""
    from tools.counterfactuals.lexicon import NEUTRAL_PHRASES, SYNONYMS

    edits = []
    for i, word in enumerate(words):
        core = parts(word)[1]
        for synonym in SYNONYMS.get(core.lower(), []):
            edits.append(Edit(i, (swap(word, synonym),), "synonym", f"'{core}' → '{synonym}'"))
        for typo in _typos(word):
            edits.append(Edit(i, (typo,), "typo", f"'{core}' → '{parts(typo)[1]}'"))
    if words:
        first = words[0] if words[0] == "I" else words[0][:1].lower() + words[0][1:]
        for phrase in NEUTRAL_PHRASES:
            edits.append(Edit(0, (phrase[:1].upper() + phrase[1:], first), "insert", f"insert '{phrase}'"))
    return edits


def synonym_edits(words: Sequence[str], neighbours: bool = True) -> list[Edit]:
    """Curated synonyms, plus MiniLM embedding neighbours of content words (known antonyms removed)."""
    from tools.counterfactuals.lexicon import ANTONYMS, FUNCTION_WORDS, SYNONYMS

    edits = []
    for i, w in enumerate(words):
        core = parts(w)[1]
        low = core.lower()
        options = list(SYNONYMS.get(low, []))
        if neighbours and low not in FUNCTION_WORDS and len(low) > 2:
            from tools.embeddings import neighbour_words

            options += [n for n in neighbour_words(low) if n not in options and n not in ANTONYMS.get(low, [])]
        edits += [Edit(i, (swap(w, s),), "synonym", f"'{core}' → '{s}'") for s in options]
    return edits
