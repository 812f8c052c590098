"""The tool interface: a name, a description, pydantic `Params` (extra="forbid"), a pydantic
`Output`, one `run(ctx, params)` method, and what the rest of whybox needs to know about the tool:
how to narrate a result (`narrate`), how to draw it (`figure`), and how a question asks for it
(`triggers`, `intent_examples`, `plan_args`). One tool = one module (design.md habit 13): the
planner, narrator, figures, UI and reports find all of this through the registry.

Subclasses are checked and registered when they are defined (design.md habits 1-3), so a
malformed tool fails at import, not when a user first calls it.
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.errors import InputError
from tools.planning import PlanQuery, Trigger

if TYPE_CHECKING:
    from tools.context import ToolContext

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
REGISTRY: dict[str, type["Tool"]] = {}


class Params(BaseModel):
    """Base for tool arguments: unknown arguments are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: Any) -> Any:
        """`{"id": true}` is not row 1 (issue 22): pydantic's lax mode reads a JSON boolean as
        0 or 1, so a boolean given for a number field is refused here."""
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(key)
                kind = str(field.annotation) if field is not None else ""
                if isinstance(value, bool) and "bool" not in kind and ("int" in kind or "float" in kind):
                    raise ValueError(f"`{key}` is a number, not true/false")
        return data


class NoParams(Params):
    """For tools that take no arguments."""


class Output(BaseModel):
    """Base for tool outputs. A missing field fails validation (as StrictUndefined fails a prompt)
    and an unexpected one too, so the narrator, figures and reports never read a key that is not
    there, and a cached result of another shape is recomputed instead of served."""

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
    # what people ask it about, for the capabilities list: "instance", "rows", "model", "ideas", or None to
    # read it from the Params (an instance tool, a `where` tool, the rest about the model)
    asked_about: ClassVar[str | None] = None
    cacheable: ClassVar[bool] = False  # results cached on disk by (model, data, tool, version, params)
    needs_model: ClassVar[bool] = False
    knowledge_card: ClassVar[str | None] = None  # card whose main caveat every result states
    Output: ClassVar[type[BaseModel] | None] = None  # the typed result; every builtin tool sets it
    # Planning knowledge (read by agent.planner through the registry):
    triggers: ClassVar[tuple[Trigger, ...]] = ()  # wordings that ask for this tool, with priorities
    intent_examples: ClassVar[tuple[str, ...]] = ()  # more questions, for the learned intent model
    precise: ClassVar[bool] = False  # triggers on exact words ("neuron 5"): the learned model never overrides
    # how people abbreviate the tool's own word ("cf 88", "kw top 15"): spelt out before planning
    shorthand: ClassVar[dict[str, str]] = {}
    # The planner's structural roles, one tool each: "concept" (questions about a concept), "rows"
    # (show rows), "default" (what an instance gets when nothing else is asked), "help" (what the
    # assistant can do), "metric" (a question asking for a performance figure), "relabel" (a gold-label
    # correction said as a statement: "actually review 7 is positive").
    planner_role: ClassVar[str | None] = None
    # the filter its rows imply: the rows `mistakes` shows are misclassified, so "a report on those" after
    # it is a report on the misclassified rows of its selection
    rows_are: ClassVar[dict[str, Any]] = {}
    concept_topic: ClassVar[str | None] = None  # regex: after "explain <topic>", "use it on review 8" runs this tool
    # and with these arguments ("give me one for those" after "what's a confusion matrix")
    concept_args: ClassVar[dict[str, Any]] = {}
    defers_to: ClassVar[tuple[str, ...]] = ()  # tools whose triggers win when they match the same clause
    # a clause matching this asks for part of this tool's own answer ("... and is it faithful?" after a
    # rationale, which includes its faithfulness check): planned with this tool, no second tool
    answers_also: ClassVar[str | None] = None
    figure_name: ClassVar[str | None] = None  # file-name prefix of the tool's figure, when it draws one
    figure_caption: ClassVar[str | None] = None  # what the figure shows, under it in reports

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
        if cls.available and not (isinstance(cls.Output, type) and issubclass(cls.Output, BaseModel)):
            raise TypeError(f"Tool {cls.name}: Output must be a pydantic model (the typed result).")
        for trigger in cls.triggers:
            if not isinstance(trigger, Trigger):
                raise TypeError(f"Tool {cls.name}: triggers must be tools.planning.Trigger objects.")
        if cls.name in REGISTRY and REGISTRY[cls.name].__qualname__ != cls.__qualname__:
            raise TypeError(f"Tool name {cls.name!r} is registered twice.")
        REGISTRY[cls.name] = cls

    @abstractmethod
    def run(self, ctx: "ToolContext", params: Any) -> BaseModel | dict[str, Any]:
        """Compute the output. Raise `WhyboxError` subclasses for problems the caller can fix."""

    def narrate(self, output: Any, args: dict[str, Any]) -> str:
        """The answer in words, from the typed output only: lead with the answer, give the key
        numbers (only numbers that are in the output). Caveats are added by the caller."""
        return f"{self.name} returned: {output.model_dump(mode='json') if isinstance(output, BaseModel) else output}"

    def figure(self, output: Any, path: Path) -> Path | None:
        """Draw the result as a PNG at `path` (set `figure_name` too); None: no figure."""
        return None

    def restore(self, ctx: "ToolContext", output: dict[str, Any]) -> None:
        """Re-apply what a result changed in the conversation (a label edit) when a saved
        conversation is resumed; most tools change nothing."""

    def terminal(self, output: Any) -> str | None:
        """A figure for the terminal chat (ANSI text); None: none."""
        return None

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]]:
        """Tool-specific arguments the planner cannot derive from `Params` alone (a target label,
        a metric...). `args` holds what the planner already filled from the `Params` fields (ids,
        texts, `where`, `k`, `method`, `layer(s)`, `position`). A list means one call per item;
        raise `NeedsClarification` to ask the user instead."""
        return args

    @classmethod
    def plan_instances(cls, query: PlanQuery) -> list[dict[str, Any]]:
        """Instances ({"id": n} / {"text": s}) the tool reads from the clause itself when the
        planner's own slots find none (patch: the bare ids of "between 50 and 51"); [] lets the
        planner ask which review or text is meant."""
        return []

    @classmethod
    def reroute(cls, query: PlanQuery) -> str | None:
        """When this tool's trigger matched a clause: another tool the clause really asks for
        ("why is review 70 wrong?" matched mistakes, asks for attribute), else None."""
        return None

    @classmethod
    def typed_output(cls, output: dict[str, Any] | BaseModel) -> Any:
        """The output as the tool's `Output` model (validated), or as given when it has none."""
        if cls.Output is None or isinstance(output, cls.Output):
            return output
        return cls.Output.model_validate(output)

    # Derived from `Params`: what kind of arguments the tool takes (never restated in a table).
    @classmethod
    def takes_instance(cls) -> bool:
        return issubclass(cls.Params, InstanceParams)

    @classmethod
    def takes(cls, field: str) -> bool:
        return field in cls.Params.model_fields

    @classmethod
    def takes_nothing(cls) -> bool:
        return not cls.Params.model_fields

    def card_for(self, params: Any, output: dict[str, Any]) -> str | None:
        """The knowledge card (prompts/cards) whose caveat applies to this result."""
        return self.knowledge_card

    def caveats(self, ctx: "ToolContext", params: Any, output: dict[str, Any]) -> list[str]:
        """Warnings the narration must state (small sample, low confidence...)."""
        return []


MAX_JSON_DEPTH = 32  # tool arguments nest a few levels (`where` inside a call); 100k levels was a RecursionError


def json_depth(text: str) -> int:
    """The deepest nesting of `[`/`{` in a JSON text, strings skipped; linear, no recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_json_depth(text: str, what: str) -> None:
    """One clear line for JSON nested deeper than any tool argument needs, before it is parsed."""
    from tools.errors import InputError

    if json_depth(text) > MAX_JSON_DEPTH:
        raise InputError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels; tool arguments never need that.")


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
