"""Versioned prompt templates (package data), rendered with jinja2's StrictUndefined.

Each template is a YAML file with `version` and named text fields. A missing variable is an error,
never an empty string, so a prompt cannot silently lose the text it was meant to carry.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
import yaml

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    fields: dict[str, Any]

    def render(self, field: str, **variables: Any) -> str:
        return _ENV.from_string(self.fields[field]).render(**variables)

    @property
    def signature(self) -> str:
        """Name and version: part of every cache key that depends on this prompt."""
        return f"{self.name}@{self.version}"


@lru_cache(maxsize=None)
def load_prompt(name: str) -> PromptTemplate:
    text = resources.files("prompts").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    version = int(data.pop("version"))
    return PromptTemplate(name=name, version=version, fields=dict(data))
