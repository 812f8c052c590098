"""explain_neuron's pipeline over mined documents: select windows per part, explain (LLM or
deterministic), simulate and score on the test part next to three baselines:

- another neuron's description (a random other neuron of the same layer, explained the same way),
- a token look-up table (each token's mean activation in the explain part),
- a random description (random corpus tokens quoted as if they were the pattern).

Activations come through `acts(doc_indices) -> [(tokens, [tokens, neurons])]`, so the same code
runs on a real model's layer and on planted synthetic units in the tests.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from tools.internals.describe import (
    Description,
    Rule,
    Window,
    exemplar_prompt,
    explain_deterministic,
    rule_from_text,
    score_predictions,
    simulate,
    token_table,
)

N_TOP = {"explain": 12, "validation": 10, "test": 20}
N_RANDOM = {"explain": 12, "validation": 10, "test": 20}
ActsFn = Callable[[Sequence[int]], list[tuple[list[str], np.ndarray]]]
LLM = Callable[[str, str], str]  # (system, user) -> text
RANDOM_DRAWS = 10
WINDOW = 8  # tokens per exemplar window


def select_docs(
    values: np.ndarray,
    parts: np.ndarray,
    part: int,
    n_top: int,
    n_random: int,
    rng: np.random.Generator,
    descending: bool = True,
) -> tuple[list[int], list[int]]:
    """The part's top documents by `values` and random others from the same part."""
    members = np.flatnonzero(parts == part)
    order = members[np.argsort(-values[members] if descending else values[members], kind="stable")]
    top = [int(i) for i in order[:n_top]]
    rest = [int(i) for i in members if int(i) not in set(top)]
    random = [int(i) for i in rng.choice(rest, size=min(n_random, len(rest)), replace=False)] if rest else []
    return top, random


def random_descriptions(
    vocab: Sequence[str],
    test: list[Window],
    scale: float,
    rng: np.random.Generator,
    seed: int,
    draws: int = RANDOM_DRAWS,
) -> dict:
    """Baseline: descriptions quoting 5 random corpus tokens, averaged over draws (one draw is noisy);
    the intervals are the 2.5-97.5 percentiles over the draws."""
    results = []
    for _ in range(draws if vocab else 0):
        rule = Rule(tokens=frozenset(rng.choice(vocab, size=min(5, len(vocab)), replace=False).tolist()))
        results.append(score_predictions(simulate(rule, test), test, scale, seed=seed))
    if not results:
        return {"baseline": "random description", "simulation": 0.0, "detection": 0.5, "draws": 0}
    out: dict = {"baseline": "random description", "draws": len(results)}
    for key in ("simulation", "detection"):
        values = np.array([r[key] for r in results])
        out[key] = round(float(values.mean()), 4)
        out[f"{key}_ci95"] = [
            round(float(np.percentile(values, 2.5)), 4),
            round(float(np.percentile(values, 97.5)), 4),
        ]
    return out


class _Windows:
    """Windows of one neuron per part and side, with the layer's activations fetched once per document."""

    def __init__(self, acts: ActsFn) -> None:
        self._acts = acts
        self._memo: dict[int, tuple[list[str], np.ndarray]] = {}

    def fetch(self, docs: Sequence[int]) -> None:
        missing = [d for d in dict.fromkeys(docs) if d not in self._memo]
        if missing:
            self._memo.update(zip(missing, self._acts(missing)))

    def windows(
        self, docs: Sequence[int], neuron: int, kind: str, sign: float, rng: np.random.Generator
    ) -> list[Window]:
        """Windows of WINDOW tokens: around the extreme token for top windows, at a random place
        for random ones, so that both kinds have the same length (longer text is not a cue)."""
        self.fetch(docs)
        out = []
        for d in docs:
            tokens, acts = self._memo[d][0], sign * self._memo[d][1][:, neuron]
            if kind == "top":
                start = int(np.argmax(acts)) - WINDOW // 2
            else:
                start = int(rng.integers(0, max(1, len(tokens) - WINDOW + 1)))
            start = max(0, min(start, len(tokens) - WINDOW))
            out.append(Window(tokens[start : start + WINDOW], acts[start : start + WINDOW].tolist(), kind, d))
        return out


def _scale(windows: Sequence[Window]) -> float:
    return max((max(w.acts) for w in windows if w.acts), default=0.0)


def _llm_description(
    llm: LLM,
    prompt_system: str,
    top: list[Window],
    bottom: list[Window],
    scale: float,
    neg_scale: float,
    render: Callable[..., str],
    name: str,
) -> Description:
    positive = llm(prompt_system, render("user", side="highest", exemplars=exemplar_prompt(top, scale))).strip()
    negative = llm(
        prompt_system, render("user", side="most negative", exemplars=exemplar_prompt(bottom, neg_scale))
    ).strip()
    return Description(positive=positive, negative=negative, explainer=f"LLM ({name})")


def explain_neuron_from(
    acts: ActsFn,
    maxima: np.ndarray,
    minima: np.ndarray,
    parts: np.ndarray,
    neuron: int,
    n_neurons: int,
    seed: int = 0,
    llm: tuple[LLM, Callable[..., str], str] | None = None,
) -> dict:
    """maxima / minima: [docs, neurons] per-document extremes of the layer; parts from document_parts."""
    rng = np.random.default_rng(seed)
    source = _Windows(acts)

    def side_windows(target: int, sign: float) -> dict[str, tuple[list[Window], list[Window]]]:
        values = maxima[:, target] if sign > 0 else minima[:, target]
        out = {}
        for index, part in enumerate(("explain", "validation", "test")):
            top, random = select_docs(
                values.astype(float), parts, index, N_TOP[part], N_RANDOM[part], rng, descending=sign > 0
            )
            out[part] = (
                source.windows(top, target, "top", sign, rng),
                source.windows(random, target, "random", sign, rng),
            )
        return out

    def describe(target: int) -> tuple[Description, dict, dict]:
        pos, neg = side_windows(target, 1.0), side_windows(target, -1.0)
        scales = (
            _scale(pos["explain"][0]),
            _scale(pos["validation"][0]),
            _scale(neg["explain"][0]),
            _scale(neg["validation"][0]),
        )
        explained = explain_deterministic(
            (pos["explain"][0] + pos["explain"][1], pos["validation"][0] + pos["validation"][1]),
            (neg["explain"][0] + neg["explain"][1], neg["validation"][0] + neg["validation"][1]),
            scales,
        )
        return explained, pos, neg

    description, pos, neg = describe(neuron)
    explain_scale = _scale(pos["explain"][0])
    if llm is not None:
        chat, render, name = llm
        description = _llm_description(
            chat,
            render("system"),
            pos["explain"][0],
            neg["explain"][0],
            explain_scale,
            _scale(neg["explain"][0]),
            render,
            name,
        )
    test = pos["test"][0] + pos["test"][1]
    test_scale = _scale(pos["test"][0])

    def scored(rule_or_predictions, label: str, **extra) -> dict:
        predicted = (
            simulate(rule_or_predictions, test) if isinstance(rule_or_predictions, Rule) else rule_or_predictions
        )
        return {"baseline": label, **extra, **score_predictions(predicted, test, test_scale, seed=seed)}

    rule = rule_from_text(description.positive)  # the simulator reads the words, whoever wrote them
    other = int(rng.choice([n for n in range(n_neurons) if n != neuron])) if n_neurons > 1 else neuron
    other_description = describe(other)[0] if other != neuron else Description("", "", "")
    vocab = sorted({t.strip().lower() for w in pos["explain"][1] for t in w.tokens if t.strip()})
    scores = scored(rule, "description")
    baselines = [
        scored(
            rule_from_text(other_description.positive),
            "another neuron's description",
            neuron=other,
            description=other_description.positive,
        ),
        scored(token_table(pos["explain"][0] + pos["explain"][1], explain_scale)(test), "token look-up table"),
        random_descriptions(vocab, test, test_scale, rng, seed),
    ]
    top_explain = pos["explain"][0]
    return {
        "neuron": neuron,
        "description": {"positive": description.positive, "negative": description.negative},
        "explainer": description.explainer,
        "rule": {"categories": list(rule.categories), "tokens": sorted(rule.tokens)},
        "scores": scores,
        "baselines": baselines,
        "beats": {
            b["baseline"]: scores["simulation"] > b["simulation"] and scores["detection"] >= b["detection"]
            for b in baselines
        },
        "exemplars": [
            {"doc": w.doc, "tokens": list(w.tokens), "activations": [round(a, 3) for a in w.acts]}
            for w in top_explain[:5]
        ],
        "negative_exemplars": [
            {"doc": w.doc, "tokens": list(w.tokens), "activations": [round(-a, 3) for a in w.acts]}
            for w in neg["explain"][0][:3]
        ],
        "test_windows": {"top": len(pos["test"][0]), "random": len(pos["test"][1])},
        "split_documents": {name: int((parts == i).sum()) for i, name in enumerate(("explain", "validation", "test"))},
        "seed": seed,
    }
