"""The tool interface: a name, a description, pydantic `Params` (extra="forbid"), an output type
and one `run(ctx, params)` method. Subclasses are checked and registered when they are defined
(design.md habits 1-3), so a malformed tool fails at import, not when a user first calls it.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.errors import InputError

if TYPE_CHECKING:
    from tools.context import ToolContext

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
REGISTRY: dict[str, type["Tool"]] = {}


class Params(BaseModel):
    """Base for tool arguments: unknown arguments are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid")


class InstanceParams(Params):
    """`id` (a dataset row) OR `text` (free text), not both; subclasses decide if one is required."""

    id: int | None = Field(default=None, description="row id of the loaded dataset")
    text: str | None = Field(default=None, description="free text")

    instance_required: ClassVar[bool] = True

    @field_validator("text")
    @classmethod
    def _text_is_usable(cls, value: str | None) -> str | None:
        """Empty or huge text is rejected here, before any model work starts."""
        if value is None:
            return None
        from tools.data.dataset import validate_text
        from tools.errors import WhyboxError

        try:
            return validate_text(value)
        except WhyboxError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _one_instance(self) -> "InstanceParams":
        if self.id is not None and self.text is not None:
            raise ValueError("give either `id` or `text`, not both")
        if self.instance_required and self.id is None and self.text is None:
            raise ValueError("give a row `id` or a `text`")
        return self


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[Params]]
    version: ClassVar[str] = "1"
    examples: ClassVar[tuple[str, ...]] = ()
    available: ClassVar[bool] = True  # False: in the catalogue, not implemented yet
    cacheable: ClassVar[bool] = False  # results cached on disk by (model, data, tool, version, params)
    needs_model: ClassVar[bool] = False
    knowledge_card: ClassVar[str | None] = None  # card whose main caveat every result states

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        for attribute in ("name", "description", "Params"):
            if attribute not in cls.__dict__ and not hasattr(cls, attribute):
                raise TypeError(f"Tool {cls.__name__} must define `{attribute}`.")
        if not _NAME.match(cls.name):
            raise TypeError(f"Tool name {cls.name!r} must be snake_case.")
        if not (isinstance(cls.Params, type) and issubclass(cls.Params, BaseModel)):
            raise TypeError(f"Tool {cls.name}: Params must be a pydantic model.")
        if cls.Params.model_config.get("extra") != "forbid":
            raise TypeError(f"Tool {cls.name}: Params must forbid extra arguments.")
        if not cls.description.strip():
            raise TypeError(f"Tool {cls.name}: description is empty.")
        if cls.name in REGISTRY and REGISTRY[cls.name].__qualname__ != cls.__qualname__:
            raise TypeError(f"Tool name {cls.name!r} is registered twice.")
        REGISTRY[cls.name] = cls

    @abstractmethod
    def run(self, ctx: "ToolContext", params: Any) -> BaseModel | dict[str, Any]:
        """Compute the output. Raise `WhyboxError` subclasses for problems the caller can fix."""

    def card_for(self, params: Any, output: dict[str, Any]) -> str | None:
        """The knowledge card (prompts/cards) whose caveat applies to this result."""
        return self.knowledge_card

    def caveats(self, ctx: "ToolContext", params: Any, output: dict[str, Any]) -> list[str]:
        """Warnings the narration must state (small sample, low confidence...)."""
        return []


def parse_params(tool: type[Tool], args: dict[str, Any] | None) -> Params:
    """Validate raw arguments; errors become one readable `InputError` naming the bad fields."""
    from pydantic import ValidationError

    try:
        return tool.Params.model_validate(args or {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "arguments"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown argument"
            problems.append(f"{where}: {message}")
        allowed = ", ".join(tool.Params.model_fields) or "none"
        raise InputError(f"Bad arguments for {tool.name}: {'; '.join(problems)}.", f"Arguments: {allowed}.") from None
