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
