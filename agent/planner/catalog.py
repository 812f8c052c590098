"""The registry as the planner sees it: which tools take an instance, a `where`, a `k`, nothing
at all; which have precise triggers; which fill a planner role. Derived from each tool's `Params`
and class attributes (tools/base.py), never restated here."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tools.base import Tool


@dataclass(frozen=True)
class Catalog:
    tools: dict[str, type[Tool]]
    instance: frozenset[str]  # need an `id` or a `text`
    where: frozenset[str]  # select rows with `where` (and need no instance)
    k: frozenset[str]  # take a `k`
    no_args: frozenset[str]  # take nothing
    precise: frozenset[str]  # their triggers are exact words the learned model never overrides

    def role(self, role: str) -> str:
        """The one tool that fills a planner role (tools/base.py `planner_role`)."""
        return next(name for name, tool in self.tools.items() if tool.planner_role == role)

    def takes(self, tool: str, field: str) -> bool:
        return tool in self.tools and self.tools[tool].takes(field)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    from tools.registry import all_tools

    tools = all_tools()
    instance = frozenset(n for n, t in tools.items() if t.takes_instance() and t.Params.instance_required)
    return Catalog(
        tools=tools,
        instance=instance,
        where=frozenset(n for n, t in tools.items() if t.takes("where") and n not in instance),
        k=frozenset(n for n, t in tools.items() if t.takes("k")),
        no_args=frozenset(n for n, t in tools.items() if t.takes_nothing()),
        precise=frozenset(n for n, t in tools.items() if t.precise),
    )
