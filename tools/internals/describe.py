"""Neuron descriptions, after Bills et al. (2023): explain -> simulate -> score.

- Exemplars carry one neuron's per-token activations, scaled 0-10 by the largest activation in
  the explain part (the negative side uses the negated activations).
- The deterministic explainer tries token and context patterns (digits, capitalised words,
  negations, punctuation, and sets of specific tokens grown greedily) on the explain part, picks
  the one that simulates the validation part best, and writes it as a sentence that names its
  pattern. It says that it is the deterministic explainer.
- The simulator reads a description (from this explainer or from an LLM) as a rule: the pattern
  words it names (digits, capitalised, negation, punctuation) and the tokens it quotes. A token
  matching the rule is predicted at 10, others at 0.
- Scores use the test part only: simulation correlation over top and random windows pooled, and
  detection balanced accuracy (top vs random windows, a window is predicted active when any
  token matches), each with a bootstrap 95% interval, next to baselines scored the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "nobody",
        "nothing",
        "none",
        "neither",
        "nor",
        "without",
        "n't",
        "cannot",
        "dont",
        "don't",
        "didn't",
        "doesn't",
        "isn't",
        "wasn't",
        "won't",
        "can't",
        "hardly",
    }
)
PUNCTUATION = re.compile(r"^[^\w\s]+$")
CATEGORIES: dict[str, tuple[str, Callable[[str], bool]]] = {
    "digit": ("digits and numbers", lambda t: any(c.isdigit() for c in t)),
    "capitalised": ("capitalised words", lambda t: t[:1].isupper() and t[:1].isalpha()),
    "negation": ("negation words", lambda t: t.lower() in NEGATIONS),
    "punctuation": ("punctuation", lambda t: bool(PUNCTUATION.match(t))),
}
CATEGORY_WORDS = {
    "digit": r"\bdigits?\b|\bnumbers?\b|\bnumerals?\b",
    "capitalised": r"\bcapitali[sz]ed\b|\bupper-?case\b",
    "negation": r"\bnegations?\b|\bnegative words?\b|\bnegating\b",
    "punctuation": r"\bpunctuation\b",
}
MAX_TOKENS_IN_SET = 8


def norm(token: str) -> str:
    return token.strip().lower()


@dataclass
class Window:
    tokens: list[str]
    acts: list[float]  # raw activations
    kind: str  # top | random
    doc: int = -1


@dataclass
class Rule:
    categories: tuple[str, ...] = ()
    tokens: frozenset[str] = frozenset()

    def matches(self, token: str) -> bool:
        text = token.strip()
        return bool(text) and (norm(text) in self.tokens or any(CATEGORIES[c][1](text) for c in self.categories))

    @property
    def empty(self) -> bool:
        return not self.categories and not self.tokens


@dataclass
class Description:
    """What an explainer wrote; the simulator reads the rule back from `positive` (rule_from_text)."""

    positive: str
    negative: str
    explainer: str


def scaled(acts: Sequence[float], scale: float) -> np.ndarray:
    """Activations on Bills et al.'s 0-10 scale (negative values clip to 0)."""
    return np.clip(np.asarray(acts, dtype=float) / scale * 10, 0, 10) if scale > 0 else np.zeros(len(acts))


def simulate(rule: Rule, windows: Sequence[Window]) -> list[np.ndarray]:
    return [np.array([10.0 if rule.matches(t) else 0.0 for t in w.tokens]) for w in windows]


def _corr(pred: np.ndarray, real: np.ndarray) -> float:
    if len(pred) < 2 or pred.std() == 0 or real.std() == 0:
        return 0.0
    return float(np.corrcoef(pred, real)[0, 1])


def correlation(predicted: Sequence[np.ndarray], windows: Sequence[Window], scale: float) -> float:
    """Pearson correlation of predicted and real (0-10) activations over all tokens pooled."""
    if not windows:
        return 0.0
    return _corr(np.concatenate(list(predicted)), np.concatenate([scaled(w.acts, scale) for w in windows]))


def balanced_accuracy(predicted_active: Sequence[bool], windows: Sequence[Window]) -> float:
    truth = [w.kind == "top" for w in windows]
    rates = []
    for positive in (True, False):
        idx = [i for i, t in enumerate(truth) if t == positive]
        if idx:
            rates.append(sum(predicted_active[i] == positive for i in idx) / len(idx))
    return float(np.mean(rates)) if rates else 0.0


def _bootstrap(
    windows: Sequence[Window], stat: Callable[[list[int]], float], seed: int = 0, n: int = 300
) -> list[float]:
    rng = np.random.default_rng(seed)
    values = sorted(stat(list(rng.integers(0, len(windows), len(windows)))) for _ in range(n))
    return [round(values[int(0.025 * n)], 4), round(values[int(0.975 * n) - 1], 4)]


def score_predictions(
    predicted: list[np.ndarray], windows: list[Window], scale: float, threshold: float = 5.0, seed: int = 0
) -> dict[str, object]:
    """Simulation correlation and detection balanced accuracy, each with a bootstrap interval."""
    active = [bool(len(p) and p.max() >= threshold) for p in predicted]

    def corr_of(idx: list[int]) -> float:
        return correlation([predicted[i] for i in idx], [windows[i] for i in idx], scale)

    def detect_of(idx: list[int]) -> float:
        return balanced_accuracy([active[i] for i in idx], [windows[i] for i in idx])

    every = list(range(len(windows)))
    return {
        "simulation": round(corr_of(every), 4),
        "simulation_ci95": _bootstrap(windows, corr_of, seed),
        "detection": round(detect_of(every), 4),
        "detection_ci95": _bootstrap(windows, detect_of, seed + 1),
    }


# ---------- the deterministic explainer ----------
def _candidates(windows: Sequence[Window], scale: float) -> list[Rule]:
    """Category rules, and token sets grown greedily from the tokens with the highest mean activation."""
    rules = [Rule(categories=(name,)) for name in CATEGORIES]
    sums: dict[str, list[float]] = {}
    for w in windows:
        for token, act in zip(w.tokens, scaled(w.acts, scale)):
            if token.strip():
                sums.setdefault(norm(token), []).append(float(act))
    ranked = sorted(
        (t for t, v in sums.items() if len(v) >= 2 or np.mean(v) >= 5), key=lambda t: (-np.mean(sums[t]), t)
    )
    chosen: list[str] = []
    best = -math.inf
    for token in ranked[:40]:
        trial = Rule(tokens=frozenset(chosen + [token]))
        value = correlation(simulate(trial, windows), windows, scale)
        if value > best + 1e-6 and len(chosen) < MAX_TOKENS_IN_SET:
            chosen.append(token)
            best = value
            rules.append(Rule(tokens=frozenset(chosen)))
    return rules


def _quote(tokens: frozenset[str], windows: Sequence[Window]) -> str:
    order = {}
    for w in windows:
        for t, a in zip(w.tokens, w.acts):
            order[norm(t)] = max(order.get(norm(t), -math.inf), a)
    return ", ".join(f"'{t}'" for t in sorted(tokens, key=lambda t: (-order.get(t, 0), t)))


def rule_sentence(rule: Rule, windows: Sequence[Window], side: str) -> str:
    if rule.empty:
        return "nothing this explainer can name (no token or context pattern beat chance on the validation part)"
    parts = [CATEGORIES[c][0] for c in rule.categories]
    if rule.tokens:
        parts.append(f"the tokens {_quote(rule.tokens, windows)}")
    return " and ".join(parts)


def best_rule(explain: list[Window], validation: list[Window], scale: float, val_scale: float) -> Rule:
    rules = _candidates(explain, scale)
    scored = [
        (correlation(simulate(r, validation), validation, val_scale), -len(r.tokens), i) for i, r in enumerate(rules)
    ]
    best = max(scored)
    return rules[best[2]] if best[0] > 0 else Rule()


def explain_deterministic(
    pos: tuple[list[Window], list[Window]],
    neg: tuple[list[Window], list[Window]],
    scales: tuple[float, float, float, float],
) -> Description:
    """pos / neg: (explain, validation) windows for each side; scales: their 0-10 scale maxima."""
    rule = best_rule(pos[0], pos[1], scales[0], scales[1])
    negative_rule = best_rule(neg[0], neg[1], scales[2], scales[3])
    return Description(
        positive=f"Fires most on {rule_sentence(rule, pos[0], 'top')}.",
        negative=f"Most negative on {rule_sentence(negative_rule, neg[0], 'bottom')}.",
        explainer="deterministic pattern explainer (no LLM): token and context patterns chosen on the validation part",
    )


def rule_from_text(text: str) -> Rule:
    """The simulator's reading of a description: pattern words it names and tokens it quotes."""
    categories = tuple(name for name, pattern in CATEGORY_WORDS.items() if re.search(pattern, text, re.I))
    quoted = re.findall(r"'([^']{1,30})'|\"([^\"]{1,30})\"", text)
    tokens = frozenset(norm(a or b) for a, b in quoted if norm(a or b))
    return Rule(categories=categories, tokens=tokens)


def token_table(explain: Sequence[Window], scale: float) -> Callable[[Sequence[Window]], list[np.ndarray]]:
    """Baseline: each token's mean 0-10 activation in the explain part (unseen tokens: the mean)."""
    values: dict[str, list[float]] = {}
    for w in explain:
        for t, a in zip(w.tokens, scaled(w.acts, scale)):
            values.setdefault(norm(t), []).append(float(a))
    table = {t: float(np.mean(v)) for t, v in values.items()}
    default = float(np.mean([a for v in values.values() for a in v])) if values else 0.0
    return lambda windows: [np.array([table.get(norm(t), default) for t in w.tokens]) for w in windows]


def exemplar_prompt(windows: Sequence[Window], scale: float, limit: int = 8) -> str:
    """Top exemplars as token<TAB>activation lines on the 0-10 scale (Bills et al.'s format)."""
    blocks = []
    for w in windows[:limit]:
        lines = [f"{t.strip() or repr(t)}\t{int(round(a))}" for t, a in zip(w.tokens, scaled(w.acts, scale))]
        blocks.append("<start>\n" + "\n".join(lines) + "\n<end>")
    return "\n\n".join(blocks)
