"""The model's lock (design.md habit 15): anything that registers hooks on a model, changes its
state, or runs it while hooks may be registered holds it. LangGraph runs a turn's tool calls in a
thread pool and web sessions share one model, so without it one call's hooks record another call's
forward pass.

The lock belongs to the module object, and a model's submodules share their root's lock, so
code that only sees the model (`captured_residual(model)`) or one of its layers takes the same
lock as code that sees the `ModelHandle` (`handle.exclusive()`). It is re-entrant: a capture
context may call the task's forward, which takes it again.

Lock order: a workspace's own lock (lazy loading, predictions) may be held when the model's lock
is taken, never the other way round, so nothing under the model's lock may touch the workspace.
"""
from __future__ import annotations

import threading
import weakref

from torch import nn

_LOCKS: "weakref.WeakKeyDictionary[nn.Module, threading.RLock]" = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def model_lock(module: nn.Module) -> threading.RLock:
    """The re-entrant lock of `module`'s model: created on first use and shared with every
    submodule that does not have one yet (a `ModelHandle` registers its model when it is made)."""
    with _GUARD:
        lock = _LOCKS.get(module)
        if lock is None:
            lock = threading.RLock()
            for sub in module.modules():
                _LOCKS.setdefault(sub, lock)
        return lock
