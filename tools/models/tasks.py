"""What a loaded model is asked to do: classify (two ways) or generate.

- `SequenceClassifierTask`: a *ForSequenceClassification head; labels from the config.
- `LabelWordTask` (tools/models/label_words.py): a causal LM as a classifier, from the
  probability that it answers with each label's word(s) after a prompt; this module holds the
  prompt handling and batched forwards it shares with the other tasks.
- `GenerationTask`: greedy continuation with the probability of each generated token.

Every task exposes `encode(text)`, which marks the tokens that belong to the user's text so that
later tools score and perturb only content, never the template. Every forward pass and generation
holds the model's lock (`handle.exclusive()`, tools/models/lock.py).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from tools.errors import InputError, ModelLoadError
from tools.progress import bar

if TYPE_CHECKING:
    from tools.models.handle import ModelHandle

_SENTINEL = "\x00WHYBOX_TEXT\x00"


@dataclass
class Encoded:
    """Token ids of the full model input and which of them belong to the user's text."""

    input_ids: list[int]
    content_mask: list[bool]
    # per token, its (start, end) characters inside the user's text; None outside the text
    offsets: list[tuple[int, int] | None] | None = None

    @property
    def n_content(self) -> int:
        return sum(self.content_mask)


def label_words_signature(prompt_signature: str, calibrate: bool, labels: Sequence[str], words: Sequence[str]) -> str:
    mode = "calibrated" if calibrate else "raw"
    return f"label_words|{prompt_signature}|{mode}|{','.join(labels)}|{','.join(words)}"


def sequence_classifier_signature(labels: Sequence[str]) -> str:
    return f"sequence_classification|{','.join(labels)}"


def generation_signature(max_new_tokens: int) -> str:
    return f"generation|greedy|{max_new_tokens}"


class Task:
    name: str = "task"
    labels: list[str] = []

    def __init__(self, handle: "ModelHandle") -> None:
        self.handle = handle

    @property
    def is_classifier(self) -> bool:
        return False

    @property
    def signature(self) -> str:
        """What, besides the model hash, determines this task's outputs (part of cache keys)."""
        return self.name

    def max_tokens(self) -> int:
        limit = getattr(self.handle.model.config, "max_position_embeddings", None) or 2048
        return min(int(limit), 4096)

    def _check_length(self, n_tokens: int) -> None:
        if n_tokens > self.max_tokens():
            raise InputError(f"The input is {n_tokens:,} tokens long; this model takes at most {self.max_tokens():,}.")


class _PromptedTask(Task):
    """Shared prompt handling for causal-LM tasks: chat template when the tokenizer has one."""

    def _user_message(self, text: str) -> str:
        return text

    def _system_message(self) -> str | None:
        """A system message for the chat template: none by default (the template's own)."""
        return None

    def _sentinel_prompt(self) -> str:
        """The prompt with a sentinel where the text goes, rendered once per chat template (issue 20:
        rendering it for every text was most of `encode`, which the edit searches call per edit)."""
        chat = getattr(self.handle.tokenizer, "chat_template", None)
        memo = self.__dict__.get("_sentinel_memo")
        if memo is None or memo[0] != chat:
            if chat:
                prompt = _chat_prompt(self.handle.tokenizer, self._system_message(), self._user_message(_SENTINEL))
                prompt += self._answer_prefix()
            else:
                prompt = self._plain_prompt(_SENTINEL)
            memo = self.__dict__["_sentinel_memo"] = (chat, prompt)
        return memo[1]

    def prompt_with_span(self, text: str) -> tuple[str, tuple[int, int]]:
        """The full prompt and the character span of the user's text inside it."""
        prompt = self._sentinel_prompt()
        start = prompt.index(_SENTINEL)
        prompt = prompt.replace(_SENTINEL, text, 1)
        return prompt, (start, start + len(text))

    def _plain_prompt(self, text: str) -> str:
        return text

    def _answer_prefix(self) -> str:
        """Text the assistant's answer starts with in a chat template (the plain prompt ends with its
        own cue): none by default."""
        return ""

    def encode(self, text: str) -> Encoded:
        prompt, (start, end) = self.prompt_with_span(text)
        tokenizer = self.handle.tokenizer
        enc = tokenizer(prompt, add_special_tokens=False, return_offsets_mapping=True)
        mask = [(s < end and e > start and e > s) for s, e in enc["offset_mapping"]]
        offsets = [(max(s, start) - start, min(e, end) - start) if m else None
                   for (s, e), m in zip(enc["offset_mapping"], mask)]
        self._check_length(len(enc["input_ids"]))
        return Encoded(list(enc["input_ids"]), mask, offsets)


def _chat_prompt(tokenizer, system: str | None, user: str) -> str:
    """The chat template's prompt for one user turn, with `system` as the system message. A template
    that refuses a system role (Gemma 2 raises) or drops it gets the system text at the top of the
    user turn instead, so the instruction is never silently lost."""
    def render(messages: list[dict]) -> str:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    if system:
        try:
            prompt = render([{"role": "system", "content": system}, {"role": "user", "content": user}])
            if system in prompt:
                return prompt
        except Exception:  # noqa: BLE001 (jinja's TemplateError and whatever a template raises)
            pass
        user = f"{system}\n\n{user}"
    return render([{"role": "user", "content": user}])


def _forward_last_logits(handle: "ModelHandle", batch: Sequence[list[int]]) -> torch.Tensor:
    """Next-token logits after each sequence, batched with left padding and explicit positions."""
    model = handle.model
    width = max(len(ids) for ids in batch)
    pad = handle.pad_token_id
    input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
        attention[row, width - len(ids):] = 1
    kwargs: dict = {"input_ids": input_ids, "attention_mask": attention}
    if handle.accepts("position_ids"):
        kwargs["position_ids"] = (attention.cumsum(-1) - 1).clamp(min=0)
    if handle.accepts("logits_to_keep"):
        kwargs["logits_to_keep"] = 1
    with handle.exclusive(), torch.inference_mode():
        logits = model(**kwargs).logits
    return logits[:, -1, :].float()


def _has_hooks(model: torch.nn.Module) -> bool:
    """Whether any module has a forward (pre-)hook: steering and patching hook the residual stream,
    so a prefix cache computed without them must not be reused under them (or the reverse)."""
    def changes(hooks: dict) -> bool:
        return any(not getattr(h, "moves_inputs_only", False) for h in hooks.values())

    return any(changes(m._forward_hooks) or changes(m._forward_pre_hooks) for m in model.modules())


_PREFIX_MEMO_SIZE = 4


def _prefix_cache(handle: "ModelHandle", prefix: list[int]):
    """The key/value cache of `prefix`, computed once per model and reused while no hook is set: every
    row of a dataset shares the prompt's template before its text, so batches of different rows pay
    for it once instead of once per forward. The caller holds the model's lock."""
    model = handle.model
    if _has_hooks(model):
        return model(input_ids=torch.tensor([prefix]), use_cache=True).past_key_values
    memo = handle.__dict__.setdefault("_prefix_memo", {})
    key = tuple(prefix)
    if key in memo:  # least recently used goes first: the template, used by every row, stays
        memo[key] = memo.pop(key)
    else:
        if len(memo) >= _PREFIX_MEMO_SIZE:
            memo.pop(next(iter(memo)))
        memo[key] = model(input_ids=torch.tensor([prefix]), use_cache=True).past_key_values
    return memo[key]


def _forward_last_logits_shared(handle: "ModelHandle", batch: Sequence[list[int]],
                                min_prefix: int = 8) -> torch.Tensor:
    """Like `_forward_last_logits`, but the token prefix every sequence shares (the prompt before
    the text) is run once and its key/value cache reused (across calls too, `_prefix_cache`); the
    suffixes run right-padded. Many candidate edits of one text cost about their differing tokens
    only, and rows of one dataset skip the template."""
    import copy

    n = min(len(ids) for ids in batch)
    shared = 0
    while shared < n - 1 and all(ids[shared] == batch[0][shared] for ids in batch):
        shared += 1
    if shared < min_prefix or not handle.accepts("past_key_values"):
        return _forward_last_logits(handle, batch)
    model = handle.model
    with handle.exclusive(), torch.inference_mode():
        prefix = _prefix_cache(handle, list(batch[0][:shared]))
        suffixes = [ids[shared:] for ids in batch]
        width = max(len(x) for x in suffixes)
        input_ids = torch.full((len(batch), width), handle.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(batch), shared + width), dtype=torch.long)
        attention[:, :shared] = 1
        for row, ids in enumerate(suffixes):
            input_ids[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention[row, shared:shared + len(ids)] = 1
        cache = copy.deepcopy(prefix)
        if len(batch) > 1:
            cache.batch_repeat_interleave(len(batch))
        positions = torch.arange(shared, shared + width).unsqueeze(0).expand(len(batch), -1)
        logits = model(input_ids=input_ids, attention_mask=attention, past_key_values=cache, position_ids=positions,
                       use_cache=True).logits
        last = torch.tensor([len(ids) - 1 for ids in suffixes])
        return logits[torch.arange(len(batch)), last].float()


class SequenceClassifierTask(Task):
    name = "sequence_classification"

    def __init__(self, handle: "ModelHandle", labels: Sequence[str] | None = None) -> None:
        super().__init__(handle)
        config = handle.model.config
        n = int(config.num_labels)
        names = [str(config.id2label.get(i, f"LABEL_{i}")) for i in range(n)]
        if labels:
            if len(labels) != n:
                raise ModelLoadError(f"The model has {n} labels but {len(labels)} were given ({', '.join(labels)}).")
            names = list(labels)
        self.labels = names

    @property
    def is_classifier(self) -> bool:
        return True

    @property
    def signature(self) -> str:
        return sequence_classifier_signature(self.labels)

    def encode(self, text: str) -> Encoded:
        tokenizer = self.handle.tokenizer
        enc = tokenizer(text, return_special_tokens_mask=True, return_offsets_mapping=True)
        self._check_length(len(enc["input_ids"]))
        mask = [not s for s in enc["special_tokens_mask"]]
        offsets = [tuple(o) if m else None for o, m in zip(enc["offset_mapping"], mask)]
        return Encoded(list(enc["input_ids"]), mask, offsets)

    def predict_proba(self, texts: Sequence[str], batch_size: int = 16, quiet: bool = True,
                      shared_prefix: bool = False) -> tuple[np.ndarray, np.ndarray]:
        tokenizer = self.handle.tokenizer
        for text in texts:
            self.encode(text)  # length check with a clear message
        probs = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        progress = bar(len(texts), "predicting", quiet=quiet)
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start:start + batch_size])
            enc = tokenizer(chunk, padding=True, return_tensors="pt")
            with self.handle.exclusive(), torch.inference_mode():
                logits = self.handle.model(**enc).logits.float()
            probs[start:start + len(chunk)] = torch.softmax(logits, -1).double().cpu().numpy()
            progress.update(len(chunk))
        progress.close()
        return probs, np.ones(len(texts))


@dataclass
class Generation:
    prompt_tokens: int
    text: str
    tokens: list[str]
    token_probs: list[float]
    stopped: str  # "eos" | "length"
    token_ids: list[int] = field(default_factory=list)
    prompt_ids: list[int] = field(default_factory=list)


class GenerationTask(_PromptedTask):
    name = "generation"

    def __init__(self, handle: "ModelHandle", max_new_tokens: int = 20) -> None:
        super().__init__(handle)
        self.max_new_tokens = max_new_tokens

    @property
    def signature(self) -> str:
        return generation_signature(self.max_new_tokens)

    def generate(self, text: str, max_new_tokens: int | None = None) -> Generation:
        limit = max_new_tokens or self.max_new_tokens
        encoded = self.encode(text)
        tokenizer, model = self.handle.tokenizer, self.handle.model
        input_ids = torch.tensor([encoded.input_ids])
        with self.handle.exclusive(), torch.inference_mode():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=limit,
                do_sample=False,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=self.handle.pad_token_id,
            )
        new_ids = out.sequences[0, input_ids.shape[1]:].tolist()
        probs = [float(torch.softmax(step[0].float(), -1)[tok]) for step, tok in zip(out.logits, new_ids)]
        eos = set(self.handle.eos_token_ids)
        stopped = "length"
        if new_ids and new_ids[-1] in eos:
            stopped = "eos"
            new_ids, probs = new_ids[:-1], probs[:-1]
        tokens = [tokenizer.decode([t]) for t in new_ids]
        return Generation(len(encoded.input_ids), tokenizer.decode(new_ids), tokens, probs, stopped,
                          new_ids, list(encoded.input_ids))


def accepts(model: torch.nn.Module, argument: str) -> bool:
    return argument in inspect.signature(model.forward).parameters
