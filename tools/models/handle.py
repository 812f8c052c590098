"""A loaded model and what tools need from it: tokenizer, blocks, sizes, labels, content hash."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterator, Sequence

import torch

from tools.errors import ModelLoadError
from tools.models.architecture import decoder_layers
from tools.models.label_words import LabelWordTask
from tools.models.loading import folder_hash, refuse_headless, resolve_model_folder
from tools.models.lock import model_lock
from tools.models.placement import Placement, follow_model_device
from tools.models.tasks import (
    GenerationTask,
    SequenceClassifierTask,
    Task,
    accepts,
    generation_signature,
    label_words_signature,
    sequence_classifier_signature,
)
from tools.progress import stage
from tools.settings import precision_tag


@dataclass
class ModelHandle:
    model: torch.nn.Module
    tokenizer: object
    name: str
    folder: Path
    content_hash: str
    kind: str  # "causal_lm" | "sequence_classifier"
    load_seconds: float = 0.0
    _accepts: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.lock  # the model and all its submodules get their lock now, before any thread uses them

    @property
    def lock(self) -> threading.RLock:
        """The model's re-entrant lock (tools/models/lock.py), shared with its submodules."""
        return model_lock(self.model)

    @contextmanager
    def exclusive(self) -> Iterator["ModelHandle"]:
        """Hold the model's lock: for hooks, shared model state, and forward passes that hooks
        registered by another thread must not see."""
        with self.lock:
            yield self

    @property
    def config(self):
        return self.model.config

    @property
    def architecture(self) -> str:
        archs = getattr(self.config, "architectures", None) or [type(self.model).__name__]
        return archs[0]

    @property
    def device(self) -> str:
        """Where inputs go: the input embeddings' device (the first of several with a device map)."""
        return str(self.model.get_input_embeddings().weight.device)

    @property
    def dtype(self) -> str:
        return str(self.model.dtype).removeprefix("torch.")

    @cached_property
    def layers(self) -> torch.nn.ModuleList | None:
        return decoder_layers(self.model)

    @property
    def n_layers(self) -> int:
        counted = len(self.layers) if self.layers is not None else 0
        return int(getattr(self.config, "num_hidden_layers", 0) or counted)

    @property
    def hidden_size(self) -> int:
        return int(getattr(self.config, "hidden_size", 0) or getattr(self.config, "n_embd", 0))

    @property
    def intermediate_size(self) -> int | None:
        value = getattr(self.config, "intermediate_size", None) or getattr(self.config, "n_inner", None)
        return int(value) if value else None

    @cached_property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def eos_token_ids(self) -> list[int]:
        eos = getattr(self.config, "eos_token_id", None)
        ids = eos if isinstance(eos, list) else [eos]
        tok_eos = getattr(self.tokenizer, "eos_token_id", None)
        return sorted({i for i in ids + [tok_eos] if i is not None})

    @property
    def pad_token_id(self) -> int:
        pad = getattr(self.tokenizer, "pad_token_id", None)
        if pad is None:
            pad = self.eos_token_ids[0] if self.eos_token_ids else 0
        return int(pad)

    def accepts(self, argument: str) -> bool:
        if argument not in self._accepts:
            self._accepts[argument] = accepts(self.model, argument)
        return self._accepts[argument]


def _kind_of(config) -> str:
    archs = (config.get("architectures") if isinstance(config, dict) else getattr(config, "architectures", None)) or []
    if any(a.endswith("ForSequenceClassification") for a in archs):
        return "sequence_classifier"
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs) or not archs:
        return "causal_lm"
    refuse_headless(archs)
    raise ModelLoadError(
        f"Unsupported architecture {archs[0]}.", "whybox explains causal LMs and sequence classifiers."
    )


_GENERIC_TOKENIZERS = ("TokenizersBackend", "PreTrainedTokenizerFast")


def _load_tokenizer(folder: Path, common: dict):
    """The tokenizer the folder declares. transformers 5's AutoTokenizer swaps a generic fast
    tokenizer (tokenizer.json) for the model type's own class (Qwen2Tokenizer for a qwen2 config),
    which rebuilds a BPE from the vocabulary and loses the folder's real model: every word encodes
    to nothing. A folder that says it holds a generic tokenizer gets exactly that."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    try:
        declared = json.loads((folder / "tokenizer_config.json").read_text()).get("tokenizer_class")
    except (OSError, ValueError, AttributeError):
        declared = None
    if declared in _GENERIC_TOKENIZERS and (folder / "tokenizer.json").exists():
        return PreTrainedTokenizerFast.from_pretrained(folder, **common)
    return AutoTokenizer.from_pretrained(folder, **common)


def load_model(spec: str, models_dir: Path, trust_remote_code: bool = False, quiet: bool = False,
               placement: Placement | None = None) -> ModelHandle:
    """Load a model spec (see `resolve_model_folder`) from safetensors only, in float32 on CPU
    unless `placement` (tools/models/placement.py) says another device, dtype or device map."""
    placement = placement or Placement()
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own stage messages say what is happening
    start = time.perf_counter()
    folder, name = resolve_model_folder(spec, models_dir, quiet)
    common = {"local_files_only": True, "trust_remote_code": trust_remote_code}
    try:
        config = AutoConfig.from_pretrained(folder, **common)
    except (ValueError, KeyError, OSError) as exc:
        raise ModelLoadError(f"{folder} has a config whybox cannot read: {str(exc).splitlines()[0]}") from None
    kind = _kind_of(config)
    auto = AutoModelForSequenceClassification if kind == "sequence_classifier" else AutoModelForCausalLM
    with stage(f"loading {name}", quiet):
        try:
            tokenizer = _load_tokenizer(folder, common)
            model = auto.from_pretrained(folder, use_safetensors=True, **placement.load_kwargs(), **common)
        except (ValueError, KeyError, OSError) as exc:
            raise ModelLoadError(f"Could not load the model in {folder}: {str(exc).splitlines()[0]}") from None
        if placement.device_map is None and placement.device != "cpu":
            model.to(placement.device)
        if placement.device_map is not None or placement.device != "cpu":
            follow_model_device(model)  # tools build inputs on the CPU
    model.eval()
    model.requires_grad_(False)
    content_hash = folder_hash(folder, memo_file=models_dir / "hashes.json") + precision_tag(placement.dtype)
    return ModelHandle(model, tokenizer, name, folder, content_hash, kind, time.perf_counter() - start)


def _choose_task(kind: str, task: str, labels: Sequence[str] | None) -> str:
    """auto: a classifier head classifies; a causal LM classifies with label words when there are
    labels (given, or from the dataset), else generates."""
    if kind == "sequence_classifier":
        if task == "generate":
            raise ModelLoadError("A sequence classifier cannot generate text.")
        return "sequence_classification"
    if task == "generate" or (task == "auto" and not labels):
        return "generation"
    if not labels:
        raise ModelLoadError("A causal LM needs label words to classify.", "Pass --labels positive,negative.")
    return "label_words"


def build_task(handle: ModelHandle, task: str, labels: Sequence[str] | None, max_new_tokens: int = 20,
               label_words: Sequence[str] | None = None) -> Task:
    """The task a session runs; `label_words` (a causal LM's verbalizer, one per label) default to
    the labels themselves."""
    chosen = _choose_task(handle.kind, task, labels)
    if chosen == "sequence_classification":
        return SequenceClassifierTask(handle, labels)
    if chosen == "generation":
        return GenerationTask(handle, max_new_tokens)
    return LabelWordTask(handle, list(labels or []), list(label_words) if label_words else None)


def peek_task_signature(folder: Path, task: str, labels: Sequence[str] | None, max_new_tokens: int = 20,
                        label_words: Sequence[str] | None = None) -> str:
    """The signature `build_task(...).signature` will have, read from config.json without loading
    transformers or weights: cache hits on a warm start stay fast."""
    from prompts import load_prompt

    config = json.loads((folder / "config.json").read_text())
    chosen = _choose_task(_kind_of(config), task, labels)
    if chosen == "sequence_classification":
        if not labels:
            id2label = config.get("id2label") or {}
            n = int(config.get("num_labels") or len(id2label) or 2)
            labels = [str(id2label.get(str(i), f"LABEL_{i}")) for i in range(n)]
        return sequence_classifier_signature(labels)
    if chosen == "generation":
        return generation_signature(max_new_tokens)
    words = list(label_words) if label_words else list(labels or [])
    return label_words_signature(load_prompt("classify").signature, True, list(labels or []), words)
