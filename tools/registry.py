"""The single source of truth for tools: planner schemas, CLI choices, UI menus and tests read it."""
from __future__ import annotations

import difflib
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from tools.base import REGISTRY, Tool, parse_params
from tools.cache import cache_key
from tools.errors import ToolUnavailable, UnknownToolError
from tools.knowledge.cards import caveat
from tools.paths import check_path_arguments
from tools.results import Provenance, ToolResult

if TYPE_CHECKING:  # the planner reads the registry and must not import torch
    from tools.context import ToolContext

_LOADED = False


def _load_builtins() -> None:
    global _LOADED
    if not _LOADED:
        import tools.builtin  # noqa: F401  (registers every tool module)

        _LOADED = True


def all_tools() -> dict[str, type[Tool]]:
    _load_builtins()
    return dict(REGISTRY)


def tool_names(available_only: bool = False) -> list[str]:
    return [name for name, tool in all_tools().items() if tool.available or not available_only]


def get_tool(name: str) -> type[Tool]:
    tools = all_tools()
    if name not in tools:
        close = difflib.get_close_matches(name, tools, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise UnknownToolError(f"Unknown tool {name!r}.", f"{hint}Tools: {', '.join(sorted(tools))}.")
    return tools[name]


def _as_output(tool_cls: type[Tool], raw: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """The tool's result as JSON-ready data, validated against its `Output` model first: a
    missing or unexpected field is our bug and raises here, before anything is cached."""
    if tool_cls.Output is not None:
        raw = tool_cls.Output.model_validate(raw.model_dump() if isinstance(raw, BaseModel) else raw)
    return raw.model_dump(mode="json") if isinstance(raw, BaseModel) else dict(raw)


def _shape_problem(tool_cls: type[Tool], ctx: ToolContext, output: dict[str, Any]) -> str | None:
    """The tool's own check of a result against the loaded model and data (e.g. the logit lens has
    one row per block plus the embeddings); None when it has no such check or the result fits."""
    check = getattr(tool_cls, "shape_problem", None)
    return check(ctx, output) if check is not None else None


def _checked(tool_cls: type[Tool], ctx: ToolContext, cached: dict[str, Any] | None) -> dict[str, Any] | None:
    """A cached output of another shape (written by an older version, or a wrong result stored by
    one that did not check shapes) is recomputed, not served."""
    if cached is None or tool_cls.Output is None:
        return cached
    try:
        tool_cls.Output.model_validate(cached)
    except ValueError:
        return None
    return None if _shape_problem(tool_cls, ctx, cached) else cached


def model_blocks(ctx: ToolContext) -> int | None:
    """The model's block count: from the loaded model, else from its files without loading it."""
    if ctx.workspace.model_loaded:
        return ctx.model.n_layers
    from tools.model_shape import shape_for_spec

    shape = shape_for_spec(str(ctx.settings.model))
    return shape.n_layers if shape is not None else None


def _lowest_layer(params: BaseModel, field: str) -> int:
    """The field's own lower bound (`ge`, e.g. -1 for the embeddings), else block 0."""
    info = type(params).model_fields[field]
    return next((int(m.ge) for m in info.metadata if getattr(m, "ge", None) is not None), 0)


def check_layers(tool_cls: type[Tool], ctx: ToolContext, params: BaseModel) -> None:
    """Every `layer` / `layers` argument checked against the model before any work (issue 22: a
    probe of layer 999 computed every row's activations for 201 s before refusing; a list of
    10^8 layers exhausted memory). One clear line; the model is not loaded for this."""
    from tools.errors import InputError

    fields = type(params).model_fields
    if not tool_cls.needs_model or not ({"layer", "layers"} & set(fields)):
        return
    asked: list[tuple[str, int]] = []
    if "layer" in fields and isinstance(getattr(params, "layer"), int):
        asked.append(("layer", params.layer))  # type: ignore[attr-defined]
    if "layers" in fields and getattr(params, "layers") is not None:
        layers = params.layers  # type: ignore[attr-defined]
        if not layers:
            raise InputError("`layers` is empty: name at least one block, or leave it out for all of them.")
        asked += [("layers", v) for v in layers]
    n = model_blocks(ctx) if asked else None
    if not n:
        return
    for field, value in asked:
        low = _lowest_layer(params, field)
        if not low <= value < n:
            shown = value if abs(value) < 10**6 else f"{str(value)[:6]}... ({len(str(value))} digits)"
            raise InputError(f"Layer {shown} is out of range: the model has {n} layers ({low} to {n - 1}).")
    if len(asked) > n + 1:
        raise InputError(f"{len(asked)} layers asked for; the model has {n}.", "Name each block at most once.")


def run_tool(ctx: ToolContext, name: str, args: dict[str, Any] | None = None) -> ToolResult:
    """Validate, run (or fetch from the cache) and wrap one tool call with provenance."""
    tool_cls = get_tool(name)
    params = parse_params(tool_cls, args)
    if not tool_cls.available:
        raise ToolUnavailable(
            f"`{name}` is part of the whybox catalogue but is not implemented in this version yet.",
            "See `whybox tool --list` for what runs today.",
        )
    check_layers(tool_cls, ctx, params)
    check_path_arguments(params, ctx.workspace.path_roots)
    tool = tool_cls()
    clean = params.model_dump(mode="json", exclude_none=True)
    start = time.perf_counter()
    provenance = Provenance(tool=name, tool_version=tool_cls.version, params=clean, data_id=ctx.dataset.name)
    if tool_cls.needs_model or tool_cls.cacheable:
        provenance.model_id = ctx.workspace.model_id
        provenance.model_hash = ctx.workspace.model_hash  # no weights loaded for this
        provenance.task = ctx.workspace.task_signature
    provenance.data_hash = ctx.dataset.content_hash()
    provenance.row_noun = ctx.dataset.row_noun
    output: dict[str, Any] | None = None
    key = None
    if tool_cls.cacheable:
        key = cache_key(
            model=provenance.model_hash, task=provenance.task, data=provenance.data_hash,
            tool=name, version=tool_cls.version, params=clean,
        )
        output = _checked(tool_cls, ctx, ctx.cache.get(key))
        provenance.cached = output is not None
    if output is None:
        # No model lock around the whole run: it is taken where hooks are registered and the model
        # runs (captures, tasks, scorers; tools/models/lock.py). A run asks the workspace for the
        # model, task or predictions under the workspace's lock, and computing the predictions takes
        # the model's lock inside it; holding the model's lock here would take the two the other way
        # round, and two concurrent calls could deadlock.
        output = _as_output(tool_cls, tool.run(ctx, params))
        if problem := _shape_problem(tool_cls, ctx, output):
            raise RuntimeError(f"`{name}` produced a result of the wrong shape ({problem}); it was not cached.")
        if key is not None:
            ctx.cache.put(key, output)
    provenance.seconds = round(time.perf_counter() - start, 4)
    caveats = tool.caveats(ctx, params, output)
    card = tool.card_for(params, output)
    if card and (main := caveat(card)):
        loud = [c for c in caveats if c.startswith("Warning:")]  # a tool's loud warnings come before the card's
        caveats = loud + [f"{main['text']} ({main['source']})"] + [c for c in caveats if c not in loud]
    return ToolResult(tool=name, params=clean, output=output, caveats=caveats, provenance=provenance)
