"""One entry point for attribution: build the input and target, run a method, merge sub-words
into words, measure faithfulness, and return a JSON-ready dict (tools consume this, never tensors).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import torch

from tools.attribution import methods as M
from tools.attribution.faithfulness import faithfulness
from tools.attribution.heatmap import heatmap_html
from tools.attribution.inputs import AttributionInput, Target, split_words
from tools.attribution.scorers import Scorer, make_scorer
from tools.errors import InputError

if TYPE_CHECKING:
    from tools.models.handle import ModelHandle
    from tools.models.tasks import Task


from tools.attribution.catalog import get_method  # noqa: E402

DEFAULT_METHOD = "integrated_gradients"
# The cross-row run in progress in this context, if any (tools/attribution/pooled.py `CrossRow`).
CROSS_ROW: ContextVar[Any] = ContextVar("whybox_cross_row", default=None)


@dataclass
class Request:
    method: str = DEFAULT_METHOD
    label: str | None = None  # classification: explain this label (default: the predicted one)
    contrast: str | None = None  # ... rather than this one
    explain_answer: bool = False  # explain a generated answer even when the task classifies
    answer: str | None = None  # generation: explain this answer (default: the model's own)
    per_output: bool = False  # generation: also one row per answer token
    steps: int = 32
    adaptive: bool = True
    samples: int | None = None
    seed: int = 0
    unit: str = "word"  # perturbation features: whole words or single tokens
    max_new_tokens: int = 10
    with_faithfulness: bool = True
    # perturbation methods: switch a word off by deleting it (as the faithfulness check does) or
    # by replacing it with the baseline token ("token", the behaviour before issue 18)
    baseline: str = "delete"


def _classification_target(task: "Task", text: str, request: Request,
                           probabilities: Sequence[float] | None = None) -> tuple[Target, dict]:
    """The explained label and the prediction; `probabilities` (the task's, for this text) when a
    caller predicted many texts in one batch (tools/attribution/pooled.py)."""
    if probabilities is None:
        probabilities = task.predict_proba([text])[0][0]  # type: ignore[attr-defined]
    distribution = {label: float(p) for label, p in zip(task.labels, probabilities)}
    predicted = max(distribution, key=distribution.get)
    for name in (request.label, request.contrast):
        if name is not None and name not in task.labels:
            raise InputError(f"Unknown label {name!r}.", f"Labels: {', '.join(task.labels)}.")
    label = request.label or predicted
    contrast = request.contrast
    if contrast == label:
        raise InputError(f"The contrast label is the explained label ({label}).", "Name two different labels.")
    info = {
        "label": label,
        "contrast": contrast,
        "predicted": predicted,
        "probabilities": {k: round(v, 6) for k, v in distribution.items()},
    }
    return Target("label", label=label, contrast=contrast), info


def build_input(handle: "ModelHandle", task: "Task", text: str, request: Request,
                probabilities: Sequence[float] | None = None) -> tuple[AttributionInput, dict]:
    """The attribution input for a classifier (label target) or a generator (answer target)."""
    from tools.models.tasks import GenerationTask

    if task.is_classifier and not request.explain_answer and request.answer is None:
        encoded = task.encode(text)  # type: ignore[attr-defined]
        target, info = _classification_target(task, text, request, probabilities)
        ids, mask = list(encoded.input_ids), list(encoded.content_mask)
    else:
        generator = task if isinstance(task, GenerationTask) else GenerationTask(handle, request.max_new_tokens)
        encoded = generator.encode(text)
        if request.answer is not None:
            answer_ids = handle.tokenizer(request.answer, add_special_tokens=False)["input_ids"]
        else:
            answer_ids = generator.generate(text, request.max_new_tokens).token_ids
        if not answer_ids:
            raise InputError("The model's answer to this text is empty, so there is nothing to attribute.")
        tokens = tuple(handle.tokenizer.decode([t]) for t in answer_ids)
        target = Target("tokens", answer_ids=tuple(answer_ids), answer_tokens=tokens)
        info = {
            "answer": handle.tokenizer.decode(answer_ids),
            "answer_tokens": list(tokens),
            "forced": request.answer is not None,
        }
        ids = list(encoded.input_ids) + list(answer_ids)
        mask = list(encoded.content_mask) + [False] * len(answer_ids)
        encoded.content_mask = mask
        encoded.offsets = (encoded.offsets or [None] * len(encoded.input_ids)) + [None] * len(answer_ids)
    words = split_words(text, encoded)
    if not words:
        raise InputError("The text has no words to attribute.")
    causal = handle.kind != "sequence_classifier"
    prefix = mask.index(True) if causal else 0
    inp = AttributionInput(text, ids, mask, words, target, prefix, handle.pad_token_id, len(encoded.input_ids))
    return inp, info


def features_of(inp: AttributionInput, unit: str) -> list[list[int]]:
    if unit == "word":
        return inp.word_positions()
    return [[p] for word in inp.word_positions() for p in word]


def run_method(scorer: Scorer, request: Request) -> tuple[M.Scores, list[list[int]]]:
    """Scores, and the features (variable-part positions) the columns refer to."""
    inp = scorer.inp
    method = get_method(request.method)
    compute = getattr(M, method.name)  # each method's function in methods.py carries its name
    per = request.per_output
    if method.kind == "gradient":
        options = {"adaptive": request.adaptive} if method.name == "integrated_gradients" else {}
        args = (request.steps, per) if method.name == "integrated_gradients" else (per,)
        return compute(scorer, *args, **options), [[p] for p in range(len(inp.variable_ids))]
    features = features_of(inp, request.unit)
    if method.kind == "perturbation":
        return compute(scorer, features, per, baseline=request.baseline), features
    return compute(scorer, features, request.samples, request.seed, per, baseline=request.baseline), features


def to_words(inp: AttributionInput, values: np.ndarray, features: list[list[int]]) -> np.ndarray:
    """[rows, features] -> [rows, words]: a word's score is the sum of its tokens' scores."""
    owner = inp.token_owner()
    out = np.zeros((values.shape[0], len(inp.words)))
    for column, positions in enumerate(features):
        words = {owner[p] for p in positions if p in owner}
        for w in words:
            out[:, w] += values[:, column] / len(words)
    return out


def sign_check(word_scores: np.ndarray, tolerance: float = 1e-9) -> dict:
    """Do all the words' scores share one sign? Then the scores mostly carry an offset shared by
    every word (the perturbation's own effect, or a baseline that scores above/below the input),
    and "none pushed towards it" would misread them: the narration says so instead (issue 18)."""
    values = np.asarray(word_scores, dtype=float)
    positive, negative = int((values > tolerance).sum()), int((values < -tolerance).sum())
    same = len(values) >= 2 and (positive == len(values) or negative == len(values))
    return {
        "all_same_sign": bool(same),
        "sign": ("positive" if positive else "negative") if same else None,
        "n_words": int(len(values)), "n_positive": positive, "n_negative": negative,
        "mean_score": round(float(values.mean()), 6) if len(values) else 0.0,
    }


def _word_level_offsets(inp: AttributionInput, info: dict, features: list[list[int]]) -> None:
    """Token-baseline occlusion: its per-feature deletion effects and offsets, per word."""
    for key in ("deletion_effect", "baseline_offset"):
        if key in info:
            words = to_words(inp, np.asarray([info[key]], dtype=float), features)[0]
            info[key] = [round(float(v), 6) for v in words]


def explain(handle: "ModelHandle", task: "Task", text: str, request: Request, k: int = 5) -> dict:
    """One explanation. Inside a cross-row run (tools/attribution/pooled.py, used by the batch
    runner) the result comes from forwards shared with the run's other rows instead."""
    start = time.perf_counter()
    shared = CROSS_ROW.get()
    if shared is not None and (found := shared.lookup(handle, task, text, request, k)) is not None:
        return found
    inp, target_info = build_input(handle, task, text, request)
    scorer = make_scorer(handle, task, inp)
    return explain_with(scorer, target_info, request, k, start)


def explain_with(scorer: Scorer, target_info: dict, request: Request, k: int, start: float) -> dict:
    """Everything `explain` does once the input, target and scorer exist."""
    inp, handle = scorer.inp, scorer.handle
    with torch.enable_grad():
        scores, features = run_method(scorer, request)
    word_scores = to_words(inp, scores.values, features)
    _word_level_offsets(inp, scores.info, features)
    method_seconds = time.perf_counter() - start
    result: dict = {
        "method": request.method,
        "diagnostic_only": request.method == "attention",
        "target": {"kind": inp.target.kind, **target_info},
        "words": [
            {"word": w.text, "score": round(float(s), 6), "start": w.start, "end": w.end}
            for w, s in zip(inp.words, word_scores[0])
        ],
        "method_info": {
            **scores.info,
            "baseline_description": M.describe_baseline(scorer, request.method, request.baseline),
            "unit": request.unit if get_method(request.method).kind != "gradient" else "token",
            "seconds": round(method_seconds, 3),
        },
        "sanity": sign_check(word_scores[0]),
    }
    order = np.argsort(-np.abs(word_scores[0]), kind="stable")[:k]
    result["top"] = [
        {"word": inp.words[i].text, "score": round(float(word_scores[0][i]), 6), "index": int(i)} for i in order
    ]
    if scores.unit == "token":
        offset = inp.prefix_len
        owner = inp.token_owner()
        result["tokens"] = [
            {
                "token": handle.tokenizer.decode([inp.ids[p + offset]]),
                "score": round(float(scores.values[0][p]), 6),
                "word": owner[p],
            }
            for p in sorted(owner)
        ]
    if request.per_output and inp.target.kind == "tokens" and word_scores.shape[0] > 1:
        result["matrix"] = {
            "outputs": list(inp.target.answer_tokens),
            "scores": [[round(float(v), 6) for v in row] for row in word_scores[1:]],
        }
    if request.with_faithfulness:
        result["faithfulness"] = faithfulness(scorer, word_scores[0], seed=request.seed)
    result["forwards"] = scorer.forwards
    result["heatmap_html"] = heatmap_html(result)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result
