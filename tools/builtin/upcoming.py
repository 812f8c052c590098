"""Catalogue tools whose arguments are fixed by tools.md but whose implementations arrive with
a later issue (counterfactuals and friends, #6).

They are registered with `available = False` so the planner plans them and `whybox plan --json`
honours the contract; running one says plainly that it is not implemented yet.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from tools.base import InstanceParams, Tool

class _Upcoming(Tool, abstract=True):
    available = False

    def run(self, ctx, params):  # pragma: no cover - run_tool refuses before calling
        raise NotImplementedError


class CounterfactualParams(InstanceParams):
    target: str | None = None
    k: int | None = Field(default=None, ge=1)


class Counterfactual(_Upcoming):
    name = "counterfactual"
    description = "Minimal edits that change the prediction, verified on the model."
    Params = CounterfactualParams
    examples = ("what is the smallest edit that flips review 4?",)


class InstanceOnly(InstanceParams):
    pass


class InstanceK(InstanceParams):
    k: int | None = Field(default=None, ge=1)


class Adversarial(_Upcoming):
    name = "adversarial"
    description = "A small meaning-preserving perturbation that changes the prediction."
    Params = InstanceOnly


class Augment(_Upcoming):
    name = "augment"
    description = "Label-preserving paraphrases or new instances."
    Params = InstanceK


class Rationalize(_Upcoming):
    name = "rationalize"
    description = "The model's own free-text explanation, with a check of how faithful it is."
    Params = InstanceOnly


class Similar(_Upcoming):
    name = "similar"
    description = "The most similar dataset rows."
    Params = InstanceK


class Influence(_Upcoming):
    name = "influence"
    description = "Training rows that most influenced the prediction."
    Params = InstanceK
