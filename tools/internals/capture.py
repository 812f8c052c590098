"""Activation capture through context managers (design.md habit 10): the hooks are removed on
exit, after success and after errors. Each context holds the model's lock while its hooks are on
the model (habit 15, tools/models/lock.py), and its hooks record only forward passes of the thread
that opened it: a forward pass some other code runs without the lock cannot fill the store.

- `captured_neurons`: every MLP neuron of every layer in one forward pass, taken at the input of
  the MLP's output projection, so the value is the signed one the model uses (SiLU(gate) x up for
  LLaMA), not a ReLU-clipped one. With `keep_grad`, the tensors keep their graph and gradient.
- `captured_residual`: the residual stream after the embeddings and after each block.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

from tools.errors import ToolUnavailable
from tools.models.architecture import decoder_layers, mlp_output_projections
from tools.models.lock import model_lock


def _unknown(what: str) -> ToolUnavailable:
    return ToolUnavailable(f"whybox does not know where this architecture keeps its {what}.",
                           "Supported: LLaMA-family, Gemma, Phi-3, GPT-2, GPT-J, Pythia, OPT and BERT-style models.")


def _this_thread() -> Callable[[], bool]:
    """True when called from the thread that made it (hooks ignore other threads' passes)."""
    owner = threading.get_ident()
    return lambda: threading.get_ident() == owner


@contextmanager
def captured_neurons(model: nn.Module, keep_grad: bool = False) -> Iterator[list[torch.Tensor]]:
    """A list filled by the next forward pass: one [batch, seq, neurons] tensor per layer."""
    projections = mlp_output_projections(model)
    if not projections:
        raise _unknown("MLP layers")
    store: list[torch.Tensor] = []
    mine = _this_thread()
    shape: list[torch.Size] = []  # [batch, seq] of the current block's input

    def block_hook(module, args, kwargs):
        hidden = args[0] if args else kwargs.get("hidden_states")
        if mine() and isinstance(hidden, torch.Tensor) and hidden.dim() == 3:
            shape[:] = [hidden.shape[:2]]

    def hook(module, args):
        if not mine():
            return None
        x = args[0]
        flat = x.dim() == 2 and bool(shape) and shape[0].numel() == x.shape[0]
        if flat:  # OPT runs its MLP on [batch * seq, neurons]: stored as [batch, seq, neurons]
            x = x.view(*shape[0], x.shape[-1])
        if keep_grad and x.requires_grad:
            x.retain_grad()
            store.append(x)
        else:
            store.append(x.detach())
        return (x.reshape(-1, x.shape[-1]),) + tuple(args[1:]) if flat else None

    with model_lock(model):
        handles = [p.register_forward_pre_hook(hook) for p in projections]
        handles += [b.register_forward_pre_hook(block_hook, with_kwargs=True) for b in decoder_layers(model) or []]
        try:
            yield store
        finally:
            for h in handles:
                h.remove()


@contextmanager
def captured_residual(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """A list filled by the next forward pass: the embeddings' output, then each block's output."""
    layers = decoder_layers(model)
    if not layers:
        raise _unknown("transformer blocks")
    store: list[torch.Tensor] = []
    mine = _this_thread()

    def first(module, args, kwargs):
        hidden = args[0] if args else kwargs.get("hidden_states")
        if not store and mine():
            store.append(hidden.detach())

    def after(module, args, output):
        if mine():
            store.append((output[0] if isinstance(output, tuple) else output).detach())

    with model_lock(model):
        handles = [layers[0].register_forward_pre_hook(first, with_kwargs=True)]
        handles += [layer.register_forward_hook(after) for layer in layers]
        try:
            yield store
        finally:
            for h in handles:
                h.remove()


def hook_count(model: nn.Module) -> int:
    """Forward hooks and pre-hooks on all modules (tests prove the capture leaves none)."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@contextmanager
def captured_input_and_output_grad(module: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """A dict filled by the next forward and backward pass: "input" (the module's input) and
    "grad" (the gradient of the loss with respect to its output)."""
    store: dict[str, torch.Tensor] = {}
    mine = _this_thread()

    def pre(mod, args):
        if mine():
            store["input"] = args[0].detach()

    def after(mod, args, output):
        if output.requires_grad and mine():
            output.register_hook(lambda grad: store.__setitem__("grad", grad.detach()))

    with model_lock(module):  # a submodule shares its model's lock
        handles = [module.register_forward_pre_hook(pre), module.register_forward_hook(after)]
        try:
            yield store
        finally:
            for h in handles:
                h.remove()
