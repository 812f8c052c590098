"""Dependency injection for tools (design.md habit 4).

`Workspace` is shared by every conversation of a process: settings, dataset, result cache, and
the lazily loaded model, task and predictions (each built once, under a lock, on first need).
`ToolContext` is one conversation's view of it: the same workspace plus that conversation's
gold-label edits. Tools never load models or create clients themselves.
"""
from __future__ import annotations

import threading
from functools import cached_property
from typing import Any, Callable

from tools.cache import ResultCache
from tools.data import Dataset, load_dataset
from tools.models import ModelHandle, Task, build_task, load_model
from tools.models.handle import peek_task_signature
from tools.models.loading import folder_hash, resolve_model_folder
from tools.paths import PathRoots
from tools.predictions import PredictionTable, compute_predictions
from tools.settings import Settings


class Workspace:
    def __init__(self, settings: Settings, quiet: bool = False) -> None:
        self.settings = settings
        self.quiet = quiet
        self.cache = ResultCache(settings.cache_dir)
        self._lock = threading.RLock()
        self._model: ModelHandle | None = None
        self._task: Task | None = None
        self._predictions: PredictionTable | None = None
        # Set by a server (web UI, MCP): the folders tool arguments naming files must lie in.
        self.path_roots: PathRoots | None = None

    @cached_property
    def dataset(self) -> Dataset:
        s = self.settings
        return load_dataset(s.data, s.text_column, s.label_column, s.id_column)

    def check(self) -> None:
        """Fail now, with a one-line message, if the data file or the model folder is unusable
        (without loading the weights)."""
        self.dataset
        self._folder

    @property
    def model_id(self) -> str:
        return self._model.name if self._model is not None else self.settings.model

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> ModelHandle:
        with self._lock:
            if self._model is None:
                s = self.settings
                self._model = load_model(s.model, s.models_dir, s.trust_remote_code, quiet=self.quiet,
                                         placement=s.placement())
            return self._model

    @cached_property
    def _folder(self):
        return resolve_model_folder(self.settings.model, self.settings.models_dir, self.quiet)

    @property
    def model_hash(self) -> str:
        """Content hash of the model, without loading its weights when it is not loaded yet; the
        weights' dtype is part of it when not float32 (bfloat16 results are cached apart)."""
        if self._model is not None:
            return self._model.content_hash  # tagged with the dtype at load
        return folder_hash(self._folder[0], memo_file=self.settings.models_dir / "hashes.json") + \
            self.settings.precision_tag

    @property
    def task_signature(self) -> str:
        """What the task's outputs depend on besides the weights, without loading the model."""
        if self._task is not None:
            return self._task.signature
        s = self.settings
        return peek_task_signature(self._folder[0], s.task, self.labels, s.max_new_tokens, self.label_words)

    @property
    def labels(self) -> list[str] | None:
        """Configured labels, else the dataset's gold label set (no model needed)."""
        if self.settings.labels:
            return list(self.settings.labels)
        return self.dataset.labels or None

    @property
    def label_words(self) -> list[str] | None:
        """What a causal LM answers for each label: `label_names` where given, else the label itself.
        A name for a label that is not in the label set is a typo worth a message."""
        names = dict(self.settings.label_names or ())
        labels = self.labels
        if not names:
            return None
        unknown = [k for k in names if k not in (labels or [])]
        if unknown:
            from tools.errors import InputError

            raise InputError(f"--label-names names {', '.join(map(repr, unknown))}, which "
                             f"{'is' if len(unknown) == 1 else 'are'} not a label here.",
                             f"The labels are: {', '.join(labels or []) or '(none)'}.")
        return [names.get(label, label) for label in labels or []]

    @cached_property
    def knowledge(self):
        """Card retrieval over the Chroma store under WHYBOX_HOME (opened on first question)."""
        from tools.knowledge.retrieval import Retriever
        from tools.knowledge.store import KnowledgeStore

        with self._lock:
            return Retriever(KnowledgeStore(self.settings.home, quiet=self.quiet))

    @property
    def task(self) -> Task:
        with self._lock:
            if self._task is None:
                self._task = build_task(self.model, self.settings.task, self.labels, self.settings.max_new_tokens,
                                        self.label_words)
            return self._task

    def predictions(self) -> PredictionTable:
        with self._lock:
            if self._predictions is None:
                self._predictions = compute_predictions(
                    lambda: (self.model, self.task), self.model_hash, self.task_signature,
                    self.dataset, self.cache, self.settings.batch_size, self.quiet,
                )
            return self._predictions


class ToolContext:
    """One conversation's view: the shared workspace plus its own label edits and state."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.label_edits: dict[int, str] = {}
        self.state: dict[str, Any] = {}
        # Set by the assistant: writes a report for the `report` tool (tools never import agent).
        self.reporter: Callable[[Any], dict[str, Any]] | None = None
        # Set by the assistant when an LLM is configured: ((system, user) -> text, its name).
        self.llm: tuple[Callable[[str, str], str], str] | None = None

    @property
    def settings(self) -> Settings:
        return self.workspace.settings

    @property
    def cache(self) -> ResultCache:
        return self.workspace.cache

    @property
    def dataset(self) -> Dataset:
        return self.workspace.dataset.with_labels(self.label_edits)

    @property
    def model(self) -> ModelHandle:
        return self.workspace.model

    @property
    def task(self) -> Task:
        return self.workspace.task

    def predictions(self) -> PredictionTable:
        return self.workspace.predictions()

    @property
    def knowledge(self):
        return self.workspace.knowledge

    def predicted_labels(self) -> dict[int, str]:
        return self.predictions().predicted
