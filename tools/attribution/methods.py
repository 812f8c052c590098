"""Attribution methods over a `Scorer`. Each returns `Scores`: one row per explained output
(row 0 is the whole target; rows 1.. are the answer's tokens when `per_output` is asked), one
column per token of the variable part (gradient methods) or per feature (perturbation methods).

Semantics follow the reference implementations so results can be compared with them:
gradient x input and integrated gradients on the input embeddings (Captum's `InputXGradient`,
`IntegratedGradients` with Gauss-Legendre steps); KernelSHAP draws coalitions exactly as Captum's
`KernelShap` does for the same seed and fits the same weighted linear regression; LIME follows
the `lime` package for text (cosine distance kernel, ridge regression).

Perturbation baselines (issue 18): occlusion, KernelSHAP and LIME switch a feature off by
*deleting* its tokens (`baseline="delete"`, the default), the same operation as the ERASER
faithfulness check, so the ranking and the check measure one thing. `baseline="token"` replaces
the tokens with the baseline token instead (Captum `FeatureAblation` / `KernelShap` with a token
baseline): on SmolLM2 the baseline token (`<|im_end|>`) inside the review shifts the label by
itself, an offset shared by every word that made all words score one sign. It stays reachable
for the Captum agreement tests and the before/after benchmark, and occlusion then reports the
offset (replacement minus deletion effect) next to the raw effect.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from tools.attribution.budget import rows_per_pass
from tools.attribution.scorers import Scorer

BASELINES = ("delete", "token")  # how a perturbation switches a feature off (see the module docstring)


@dataclass
class Scores:
    values: np.ndarray  # [rows, columns]
    unit: str  # "token" (columns = variable-part positions) | "feature" (columns = features)
    info: dict = field(default_factory=dict)


def output_weights(n_outputs: int, per_output: bool) -> torch.Tensor:
    """Rows of weights over the target's outputs: the whole target, then each output alone."""
    whole = torch.ones(1, n_outputs)
    if per_output and n_outputs > 1:
        return torch.cat([whole, torch.eye(n_outputs)], dim=0)
    return whole


def _gradients(scorer: Scorer, embeds: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """d(sum_t w[b,t] * score[b,t]) / d embeds[b] for a batch of rows, in float32 whatever the
    weights' dtype (the embeddings fed to the model are in its dtype; the gradient is upcast)."""
    embeds = embeds.detach().to(scorer.dtype).requires_grad_(True)
    scores = scorer.score_embeds(embeds)
    (grad,) = torch.autograd.grad((scores.float() * weights.to(scores.device)).sum(), embeds)
    return grad.float()


def gradient_x_input(scorer: Scorer, per_output: bool = False) -> Scores:
    x = scorer.variable_embeds()
    weights = output_weights(scorer.target.n_outputs, per_output)
    grad = _gradients(scorer, x.expand(len(weights), -1, -1), weights)
    return Scores((grad * x.float()).sum(-1).double().cpu().numpy(), "token", {})


def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1] (Captum's default `gausslegendre` rule)."""
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return 0.5 * (nodes + 1), 0.5 * weights


def describe_baseline(scorer: Scorer, method: str, baseline: str = "delete") -> str:
    """One sentence, for the answer, of what the method compares the input with."""
    tokenizer = getattr(scorer.handle, "tokenizer", None)
    token = repr(tokenizer.decode([scorer.inp.baseline_id])) if tokenizer else f"id {scorer.inp.baseline_id}"
    if method == "integrated_gradients":
        return (f"the input words' embeddings replaced by the embedding of {token} (template and special tokens "
                "kept), integrated along the straight path")
    if method == "gradient_x_input":
        return "a zero embedding (gradient x input is the first-order effect of removing each embedding)"
    if method == "attention":
        return "none (attention weights are read, nothing is perturbed)"
    if baseline == "token":
        return f"each switched-off word replaced by the token {token}"
    return "each switched-off word deleted, as the faithfulness check does"


def ig_baseline(scorer: Scorer) -> torch.Tensor:
    """Content positions become the baseline token's embedding; template and special tokens keep
    their real embeddings (replacing them too makes IG fail to converge on chat models)."""
    x = scorer.variable_embeds()
    base = x.clone()
    offset = scorer.inp.prefix_len
    baseline_vector = scorer.embed([scorer.inp.baseline_id])[0]
    for position in scorer.inp.content_positions:
        base[position - offset] = baseline_vector
    return base


def integrated_gradients(
    scorer: Scorer, n_steps: int = 32, per_output: bool = False, adaptive: bool = True,
    max_steps: int = 256, tolerance: float = 0.05, chunk: int = 16, memory_budget: int | None = None,
) -> Scores:
    """IG along the straight path from the baseline, steps computed in chunks. With `adaptive`, the
    step count doubles (up to `max_steps`) until the relative convergence delta
    |sum(attr) - (f(x) - f(b))| / |f(x) - f(b)| is under `tolerance`.

    Memory: a pass holds at most `chunk` path points, fewer on long inputs (`rows_per_pass`: the
    activations a backward pass keeps must fit `memory_budget` bytes, default
    tools/attribution/budget.py), and the gradient flows to the input embeddings only (frozen
    weights). Precision: the path, the step weights, the sums and the output gap are float32 (the
    model sees the path in its own dtype), so bfloat16 weights do not round IG's sums."""
    x = scorer.variable_embeds().float()
    base = ig_baseline(scorer).float()
    weights = output_weights(scorer.target.n_outputs, per_output).to(x.device)
    rows = len(weights)
    with torch.no_grad():
        ends = scorer.score_embeds(torch.stack([x, base]).to(scorer.dtype)).float()
    gap = (ends[0:1] * weights).sum(-1) - (ends[1:2] * weights).sum(-1)  # [rows]
    history = []
    steps = n_steps
    per_chunk = max(1, min(chunk // rows, rows_per_pass(scorer.handle, len(x), memory_budget, backward=True)))
    while True:
        alphas, step_weights = gauss_legendre(steps)
        total = torch.zeros(rows, *x.shape, device=x.device)
        for start in range(0, steps, per_chunk):
            a = torch.tensor(alphas[start:start + per_chunk], dtype=torch.float32, device=x.device)
            w = torch.tensor(step_weights[start:start + per_chunk], dtype=torch.float32, device=x.device)
            path = base[None] + a[:, None, None] * (x - base)[None]  # [n_a, S, H]
            batch = path.repeat_interleave(rows, dim=0)
            grad = _gradients(scorer, batch, weights.repeat(len(a), 1))
            total += (grad.view(len(a), rows, *x.shape) * w[:, None, None, None]).sum(0)
        attr = (total * (x - base)[None]).sum(-1)  # [rows, S]
        delta = attr.sum(-1) - gap
        relative = float(delta[0].abs() / gap[0].abs().clamp_min(1e-8))
        history.append({"steps": steps, "relative_delta": round(relative, 6)})
        if not adaptive or relative <= tolerance or steps * 2 > max_steps:
            break
        steps *= 2
    info = {
        "steps": steps, "convergence_delta": float(delta[0]), "relative_delta": relative,
        "converged": relative <= tolerance, "tolerance": tolerance, "output_gap": float(gap[0]),
        "history": history, "baseline_token_id": scorer.inp.baseline_id, "rows_per_pass": per_chunk * rows,
    }
    return Scores(attr.double().cpu().numpy(), "token", info)


def _feature_rows(scorer: Scorer, features: list[list[int]], masks: np.ndarray,
                  baseline: str = "delete") -> list[list[int]]:
    """Variable-part id rows where the features switched off (mask 0) are deleted (`"delete"`) or
    become the baseline token (`"token"`)."""
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, not {baseline!r}")
    base_ids = scorer.inp.variable_ids
    rows = []
    for mask in masks:
        off = {p for feature, on in zip(features, mask) if not on for p in feature}
        if baseline == "delete":
            rows.append([t for p, t in enumerate(base_ids) if p not in off])
        else:
            rows.append([scorer.inp.baseline_id if p in off else t for p, t in enumerate(base_ids)])
    return rows


def occlusion(
    scorer: Scorer, features: list[list[int]], per_output: bool = False, baseline: str = "delete",
    with_offset: bool = True,
) -> Scores:
    """Leave-one-feature-out: f(x) - f(x with the feature deleted), or, with `baseline="token"`,
    f(x) - f(x with the feature's tokens set to the baseline token). With the token baseline the
    deletion effects are computed too (n more rows; `with_offset=False` skips them, as the speed
    benchmark does to time what Captum does) and `info` reports the offset the token itself adds:
    per feature (replacement effect - deletion effect) and its mean."""
    n = len(features)
    masks = np.ones((n + 1, n), dtype=int)
    masks[np.arange(n) + 1, np.arange(n)] = 0
    weights = output_weights(scorer.target.n_outputs, per_output)
    rows = _feature_rows(scorer, features, masks, baseline)
    offset = baseline == "token" and with_offset
    if offset:
        rows += _feature_rows(scorer, features, masks[1:], "delete")
    combined = (scorer.score_ids(rows) @ weights.T).double().cpu().numpy()  # [len(rows), out rows]
    values = (combined[0:1] - combined[1:n + 1]).T
    info: dict = {"evaluations": len(rows), "baseline": baseline}
    if offset:
        deleted = (combined[0:1] - combined[n + 1:]).T
        offsets = values[0] - deleted[0]
        info.update(deletion_effect=[round(float(v), 6) for v in deleted[0]],
                    baseline_offset=[round(float(v), 6) for v in offsets],
                    mean_baseline_offset=round(float(offsets.mean()), 6) if n else 0.0)
    return Scores(values, "feature", info)


def kernel_shap_coalitions(n_features: int, n_samples: int, seed: int) -> np.ndarray:
    """Captum's KernelShap sampling, draw for draw: all-on, all-off, then a size k ~ (M-1)/(k(M-k))
    and a uniformly random coalition of that size (top-k of Gaussian noise)."""
    from torch.distributions import Categorical

    m = n_features
    sizes = torch.arange(m, dtype=torch.float)
    probs = torch.tensor(m - 1) / (sizes * (m - sizes))
    probs[0] = 0.0
    draws = [np.ones(m, dtype=int), np.zeros(m, dtype=int)]
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        distribution = Categorical(probs)
        while len(draws) < n_samples:
            k = distribution.sample()
            noise = torch.randn(1, m)
            threshold = torch.kthvalue(noise, m - k).values.item()
            draws.append((noise > threshold).long()[0].cpu().numpy())
    return np.stack(draws)


def kernel_shap(
    scorer: Scorer, features: list[list[int]], n_samples: int | None = None, seed: int = 0, per_output: bool = False,
    baseline: str = "delete",
) -> Scores:
    """KernelSHAP with at least 4 samples per feature (default max(64, 4M)), same coalitions and
    regression as Captum (endpoints weighted 1e6, others 1, sklearn LinearRegression). Absent
    features are deleted (default) or set to the baseline token (`baseline="token"`, Captum's way)."""
    from sklearn.linear_model import LinearRegression

    m = len(features)
    n_samples = n_samples or max(64, 4 * m)
    weights = output_weights(scorer.target.n_outputs, per_output)
    if m < 2:
        return occlusion(scorer, features, per_output, baseline)
    masks = kernel_shap_coalitions(m, n_samples, seed)
    y = (scorer.score_ids(_feature_rows(scorer, features, masks, baseline)) @ weights.T).double().cpu().numpy()
    sample_weight = np.where((masks.sum(1) == 0) | (masks.sum(1) == m), 1e6, 1.0)
    fit = LinearRegression().fit(masks.astype(float), y, sample_weight=sample_weight)
    return Scores(np.atleast_2d(fit.coef_), "feature", {"samples": int(n_samples), "seed": seed, "baseline": baseline})


def lime(
    scorer: Scorer, features: list[list[int]], n_samples: int | None = None, seed: int = 0, per_output: bool = False,
    kernel_width: float = 25.0, baseline: str = "delete",
) -> Scores:
    """LIME for text as in the `lime` package: random coalitions, weights from the cosine distance
    to the full input (x100, exponential kernel of width 25), weighted ridge regression. Absent
    words are deleted, as `lime` does (or set to the baseline token with `baseline="token"`)."""
    from sklearn.linear_model import Ridge

    m = len(features)
    n_samples = n_samples or max(64, 4 * m)
    rng = np.random.default_rng(seed)
    masks = np.ones((n_samples, m), dtype=int)
    for row in range(1, n_samples):  # like lime: remove a uniformly chosen number of features
        k = rng.integers(1, m + 1) if m > 1 else 1
        masks[row, rng.choice(m, size=k, replace=False)] = 0
    norms = np.linalg.norm(masks, axis=1)
    cosine = masks.sum(1) / np.maximum(norms * np.sqrt(m), 1e-12)
    distance = (1 - cosine) * 100
    sample_weight = np.sqrt(np.exp(-(distance ** 2) / kernel_width ** 2))
    weights = output_weights(scorer.target.n_outputs, per_output)
    y = (scorer.score_ids(_feature_rows(scorer, features, masks, baseline)) @ weights.T).double().cpu().numpy()
    fit = Ridge(alpha=1.0).fit(masks.astype(float), y, sample_weight=sample_weight)
    return Scores(np.atleast_2d(fit.coef_), "feature", {"samples": int(n_samples), "seed": seed, "baseline": baseline})


@contextmanager
def captured_attention(model: torch.nn.Module) -> Iterator[list[torch.Tensor]]:
    """Attention weights of every layer, captured by our own forward hooks on the eager kernel
    (transformers' `output_attentions` leaves its capture hooks on the model for good). The hooks
    and the previous attention implementation are restored on exit, also after an error; the
    model's lock is held meanwhile (both are shared model state)."""
    from tools.models.architecture import attention_modules
    from tools.models.lock import model_lock

    modules = attention_modules(model)
    if not modules:
        from tools.errors import ToolUnavailable

        raise ToolUnavailable("whybox does not know where this architecture keeps its attention modules.")
    captured: list[torch.Tensor] = []
    owner = threading.get_ident()

    def keep(_module, _args, out) -> None:
        if isinstance(out, tuple) and out[1] is not None and threading.get_ident() == owner:
            captured.append(out[1].detach())

    with model_lock(model):
        previous = model.config._attn_implementation
        handles = []
        try:
            if previous != "eager":
                model.set_attn_implementation("eager")
            for module in modules:
                handles.append(module.register_forward_hook(keep))
            yield captured
        finally:
            for handle in handles:
                handle.remove()
            if model.config._attn_implementation != previous:
                model.set_attn_implementation(previous)


def attention(scorer: Scorer, per_output: bool = False) -> Scores:
    """Attention paid by the read position(s) to each input token, mean over heads and layers.
    A diagnostic of where the model looked, NOT an attribution (Jain & Wallace 2019)."""
    inp = scorer.inp
    ids = torch.tensor([inp.ids])
    if inp.target.kind == "label":
        reads = [len(inp.ids) - 1]
    else:
        n = len(inp.target.answer_ids)
        reads = list(range(len(inp.ids) - n - 1, len(inp.ids) - 1))
    model = scorer.handle.model
    with captured_attention(model) as attentions, torch.no_grad():
        model(input_ids=ids)
    stacked = torch.stack([a[0].float() for a in attentions])  # [layers, heads, N, N]
    per_read = stacked.mean(dim=(0, 1))[reads][:, inp.prefix_len:]  # [reads, S]
    rows = [per_read.mean(0)]
    if per_output and len(reads) > 1:
        rows += list(per_read)
    return Scores(torch.stack(rows).double().cpu().numpy(), "token", {"layers": len(attentions)})
