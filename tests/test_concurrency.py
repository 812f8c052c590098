"""Concurrent tool calls on one shared model (design.md habit 15). LangGraph's ToolNode runs a
turn's tool calls in a thread pool, and browser sessions share one Workspace: activation capture
registers hooks on the shared model, so without the model's lock one call's hooks record another
call's forward pass (a wrong lens, another input's tokens, or an IndexError)."""
from __future__ import annotations

import sys
import threading

import pytest
import torch

from tools.context import ToolContext, Workspace
from tools.internals.capture import captured_input_and_output_grad, captured_neurons, captured_residual, hook_count
from tools.registry import run_tool
from tools.settings import Settings

# Distinct lengths, so that a forward pass recorded by the wrong call's hooks breaks the shapes.
TEXTS = (
    "good",
    "the food was good",
    "the movie was very great and the price was good",
    "bad service",
    "it was not good but the battery was very bad and the price was terrible",
    "a great movie",
)
ROUNDS = 6


def _context(models, data, home) -> ToolContext:
    settings = Settings.from_env(model=str(models["causal"]), data=str(data), home=str(home))
    return ToolContext(Workspace(settings, quiet=True))


def _calls() -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = []
    for r in range(ROUNDS):
        for i, text in enumerate(TEXTS):
            calls.append(("logit_lens", {"text": text, "top": 1 + r}))  # distinct params: no cache hits
        calls.append(("top_neurons", {"text": TEXTS[r % len(TEXTS)], "k": 2 + r}))
    calls.append(("probe", {"layers": [1]}))
    return calls


def _output(ctx: ToolContext, name: str, args: dict) -> dict:
    result = run_tool(ctx, name, args)
    assert not result.provenance.cached
    return result.output


def test_concurrent_internals_calls_equal_the_sequential_ones(tiny_models, tiny_data, tmp_path):
    calls = _calls()
    serial_ctx = _context(tiny_models, tiny_data, tmp_path / "serial")
    expected = [_output(serial_ctx, name, args) for name, args in calls]

    ctx = _context(tiny_models, tiny_data, tmp_path / "concurrent")  # its own model and an empty cache
    ctx.model, ctx.task  # loaded up front: the race is in the tools, not in the (locked) lazy loading
    results: list[dict | None] = [None] * len(calls)
    errors: list[BaseException] = []
    n_threads = 4
    barrier = threading.Barrier(n_threads)

    def worker(k: int) -> None:
        try:
            barrier.wait()
            for index in range(k, len(calls), n_threads):
                results[index] = _output(ctx, *calls[index])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    # Every forward pass goes through the first block: count how many run at the same time.
    running, peak, guard = [0], [0], threading.Lock()

    def enter(module, args):
        with guard:
            running[0] += 1
            peak[0] = max(peak[0], running[0])

    def leave(module, args, output):
        with guard:
            running[0] -= 1

    first = ctx.model.layers[0]
    counters = [first.register_forward_pre_hook(enter), first.register_forward_hook(leave)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: the race shows on a tiny, fast model too
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    finally:
        sys.setswitchinterval(interval)
        for counter in counters:
            counter.remove()
    assert not errors, f"{len(errors)} calls failed, first: {errors[0]!r}"
    mismatched = [calls[i] for i in range(len(calls)) if results[i] != expected[i]]
    assert not mismatched, f"{len(mismatched)} of {len(calls)} concurrent results differ, e.g. {mismatched[0]}"
    assert peak[0] == 1, "forward passes of the shared model overlapped: some path runs it without its lock"
    assert hook_count(ctx.model.model) == 0


def test_the_model_lock_is_reentrant_and_shared_by_the_handle_and_its_modules(tiny_assistant):
    handle = tiny_assistant.workspace.model
    projection = handle.model.model.layers[-1].mlp.down_proj
    from tools.models.lock import model_lock

    assert model_lock(handle.model) is handle.lock is model_lock(projection)
    with handle.exclusive(), captured_residual(handle.model), captured_input_and_output_grad(projection):
        holder = threading.Thread(target=lambda: got.append(handle.lock.acquire(timeout=0.05)))
        got: list[bool] = []
        holder.start()
        holder.join()
        assert got == [False]  # another thread waits while captures are active


@pytest.mark.parametrize("capture", ["neurons", "residual", "grad", "attention"])
def test_hooks_and_the_lock_are_released_after_an_error(tiny_assistant, capture):
    from tools.attribution.methods import captured_attention

    handle = tiny_assistant.workspace.model
    model = handle.model
    previous = model.config._attn_implementation
    contexts = {
        "neurons": lambda: captured_neurons(model, keep_grad=True),
        "residual": lambda: captured_residual(model),
        "grad": lambda: captured_input_and_output_grad(model.model.layers[-1].mlp.down_proj),
        "attention": lambda: captured_attention(model),
    }
    with pytest.raises(RuntimeError, match="boom"):
        with contexts[capture]():
            model(input_ids=torch.tensor([[5, 6, 7]]))
            raise RuntimeError("boom")
    assert hook_count(model) == 0
    assert model.config._attn_implementation == previous

    def other_thread_can_lock() -> None:
        ok.append(handle.lock.acquire(timeout=5))
        handle.lock.release()

    ok: list[bool] = []
    thread = threading.Thread(target=other_thread_can_lock)
    thread.start()
    thread.join()
    assert ok == [True]
