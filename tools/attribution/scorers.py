"""Scorers: the differentiable function every attribution method explains, evaluated fast.

A scorer maps the *variable part* of the input (everything after the fixed prefix) to the
target's log-probabilities, one column per target output:
- `score_embeds(E)`: E [B, S, H] embeddings of equal-length rows, differentiable (gradients, IG).
- `score_ids(rows)`: token-id rows of any length, no gradient, batched (perturbation methods,
  faithfulness).

Why it is faster than wrapping `model(...)` (what Captum and Inseq do): the prefix (system prompt,
instruction) is run once and its KV cache reused for every row; the unembedding is applied only at
the positions the target reads (not over the whole sequence and vocabulary); a whole generated
answer is scored in one teacher-forced pass instead of one pass per token.

Every forward pass holds the model's lock (`handle.exclusive()`, tools/models/lock.py); a backward
pass through a returned graph does not need it (no module backward hooks, frozen weights).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import torch

from tools.attribution.budget import rows_per_pass
from tools.attribution.inputs import AttributionInput, Target

if TYPE_CHECKING:
    from tools.models.handle import ModelHandle
    from tools.models.tasks import Task


class Scorer:
    """Shared batching; subclasses implement `_score_padded`."""

    def __init__(self, handle: "ModelHandle", task: "Task", inp: AttributionInput, batch_size: int = 16) -> None:
        self.handle = handle
        self.task = task
        self.inp = inp
        self.target = inp.target
        self.batch_size = batch_size
        self.embedding = handle.model.get_input_embeddings()
        self.dtype = self.embedding.weight.dtype  # what the model takes; attribution sums stay float32
        self.forwards = 0  # rows evaluated, read by benchmarks and tests
        self._label_bias = self._calibration_offsets()

    # ----- target read-out -------------------------------------------------------------
    def _calibration_offsets(self) -> torch.Tensor | None:
        """log of the content-free label probabilities that calibration divides by."""
        if self.target.kind != "label" or not hasattr(self.task, "label_token_ids"):
            return None
        if getattr(self.task, "calibrate", False):
            return torch.log(torch.tensor(self.task.calibration, dtype=torch.float32))  # type: ignore[attr-defined]
        return torch.zeros(len(self.task.labels))

    def _label_log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """[B, V] next-token logits (or [B, L] classifier logits) -> [B, L] calibrated log-probs."""
        if self._label_bias is None:  # classifier head
            return torch.log_softmax(logits, dim=-1)
        log_probs = torch.log_softmax(logits, dim=-1)
        per_label = torch.stack(
            [torch.logsumexp(log_probs[:, ids], dim=-1) for ids in self.task.label_token_ids], dim=-1  # type: ignore[attr-defined]
        )
        return torch.log_softmax(per_label - self._label_bias.to(per_label.device), dim=-1)

    def _read_label(self, logits: torch.Tensor) -> torch.Tensor:
        labels = list(self.task.labels)
        scores = self._label_log_probs(logits)
        value = scores[:, labels.index(self.target.label)]
        if self.target.contrast is not None:
            value = value - scores[:, labels.index(self.target.contrast)]
        return value[:, None]

    # ----- public ------------------------------------------------------------------------
    def embed(self, ids: Sequence[int]) -> torch.Tensor:
        with self.handle.exclusive(), torch.no_grad():
            return self.embedding(torch.tensor([list(ids)]))[0]

    def variable_embeds(self) -> torch.Tensor:
        return self.embed(self.inp.variable_ids)

    def score_embeds(self, embeds: torch.Tensor) -> torch.Tensor:
        """[B, S, H] -> [B, T] (keeps the graph)."""
        lengths = torch.full((embeds.shape[0],), embeds.shape[1], dtype=torch.long)
        self.forwards += embeds.shape[0]
        with self.handle.exclusive():
            return self._score_padded(embeds, lengths)

    def score_ids(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """Token-id rows (variable part) -> [len(rows), T] float32 on the CPU, batched, no gradient.
        A batch holds at most `batch_size` rows, fewer on long inputs: its activations must fit
        the memory budget (tools/attribution/budget.py)."""
        out = []
        rows = list(rows)
        width = max((len(r) for r in rows), default=0)
        size = max(1, min(self.batch_size, rows_per_pass(self.handle, self.inp.prefix_len + width, backward=False)))
        with self.handle.exclusive(), torch.no_grad():
            for chunk in _chunks(rows, size):
                width = max(len(r) for r in chunk)
                ids = torch.full((len(chunk), width), self.handle.pad_token_id, dtype=torch.long)
                for i, r in enumerate(chunk):
                    ids[i, :len(r)] = torch.tensor(list(r), dtype=torch.long)
                lengths = torch.tensor([len(r) for r in chunk])
                self.forwards += len(chunk)
                out.append(self._score_padded(self.embedding(ids), lengths).float().cpu())
        return torch.cat(out, dim=0)

    def _score_padded(self, embeds: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class CausalScorer(Scorer):
    """Causal LM: prefix KV cache, right-padded variable part, unembedding at read positions only."""

    def __init__(self, handle, task, inp, batch_size: int = 16) -> None:
        super().__init__(handle, task, inp, batch_size)
        model = handle.model
        self.base = model.base_model
        self.head = model.get_output_embeddings()
        self.prefix = None
        if inp.prefix_len:
            with handle.exclusive(), torch.no_grad():
                ids = torch.tensor([inp.ids[:inp.prefix_len]])
                self.prefix = self.base(input_ids=ids, use_cache=True).past_key_values

    def _cache_for(self, batch: int):
        if self.prefix is None:
            return None
        from transformers import DynamicCache

        layers = [(layer.keys.expand(batch, -1, -1, -1), layer.values.expand(batch, -1, -1, -1))
                  for layer in self.prefix.layers]
        return DynamicCache(ddp_cache_data=layers, config=self.handle.model.config)

    def _score_padded(self, embeds: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        batch, width, _ = embeds.shape
        prefix = self.inp.prefix_len
        attention = torch.ones((batch, prefix + width), dtype=torch.long)
        attention[:, prefix:] = (torch.arange(width)[None, :] < lengths[:, None]).long()
        positions = torch.arange(prefix, prefix + width)[None, :].expand(batch, -1)
        hidden = self.base(
            inputs_embeds=embeds, attention_mask=attention, position_ids=positions,
            past_key_values=self._cache_for(batch), use_cache=self.prefix is not None,
        ).last_hidden_state
        rows = torch.arange(batch)
        if self.target.kind == "label":
            return self._read_label(self.head(hidden[rows, lengths - 1]).float())
        answer = torch.tensor(self.target.answer_ids)
        n = len(answer)
        reads = (lengths - n - 1)[:, None] + torch.arange(n)[None, :]  # positions predicting each answer token
        logits = self.head(hidden[rows[:, None], reads]).float()  # [B, n, V]
        return torch.log_softmax(logits, dim=-1)[:, torch.arange(n), answer]


class ClassifierScorer(Scorer):
    """Sequence-classification head: whole input varies (no prefix), left padding."""

    def _score_padded(self, embeds: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        batch, width, hidden = embeds.shape
        if bool((lengths < width).any()):  # move right padding to the left: heads pool the last token
            shifted = torch.zeros_like(embeds)
            for i, n in enumerate(lengths.tolist()):
                shifted[i, width - n:] = embeds[i, :n]
            embeds = shifted
        attention = (torch.arange(width)[None, :] >= (width - lengths)[:, None]).long()
        kwargs = {"inputs_embeds": embeds, "attention_mask": attention}
        if self.handle.accepts("position_ids"):
            kwargs["position_ids"] = (attention.cumsum(-1) - 1).clamp(min=0)
        logits = self.handle.model(**kwargs).logits.float()
        return self._read_label(logits)


def make_scorer(handle, task, inp: AttributionInput, batch_size: int = 16) -> Scorer:
    return (ClassifierScorer if handle.kind == "sequence_classifier" else CausalScorer)(handle, task, inp, batch_size)


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def log_prob_to_prob(values: torch.Tensor, target: Target) -> torch.Tensor:
    """[B, T] target log-probs -> [B] the probability faithfulness metrics compare: the label's
    probability, or the answer's per-token geometric-mean probability."""
    if target.kind == "label" and target.contrast is None:
        return values[:, 0].exp()
    if target.kind == "label":  # log-odds a vs b -> p(a) among {a, b}
        return torch.sigmoid(values[:, 0])
    return values.mean(dim=1).exp()
