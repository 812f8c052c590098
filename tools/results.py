"""Typed, JSON-serialisable tool results with provenance (design.md habit 5).

The narrator, UI, reports and cache consume `ToolResult`, never tensors.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from tools import __version__


class Provenance(BaseModel):
    tool: str
    tool_version: str
    whybox_version: str = __version__
    model_id: str | None = None
    model_hash: str | None = None
    task: str | None = None
    data_id: str | None = None
    data_hash: str | None = None
    row_noun: str | None = None  # what the data calls its rows, for the narration ("review", "row")
    params: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = None
    seconds: float = 0.0
    cached: bool = False
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))


class ToolResult(BaseModel):
    tool: str
    params: dict[str, Any]
    output: dict[str, Any]
    caveats: list[str] = Field(default_factory=list)
    provenance: Provenance

    # Notebook display (tools/display.py): the tool's narration, its figure inline, the output folded away.
    def _display_parts(self) -> tuple[str, list[dict[str, Any]]]:
        from tools.narration import narrate_result

        step = {"tool": self.tool, "args": self.params, "status": "done", "output": self.output}
        text = narrate_result(self.tool, self.output, self.params, self.caveats, self.provenance.row_noun)
        return text, [step]

    def _repr_html_(self) -> str:
        from tools.display import html

        return html(*self._display_parts())

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from tools.display import text

        p.text(text(*self._display_parts()))

    def __repr__(self) -> str:
        from tools.display import short

        return short("ToolResult", self.tool, self._display_parts()[0])
