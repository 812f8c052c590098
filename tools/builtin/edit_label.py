"""edit_label: change a row's gold label for this conversation (the data file is not changed)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tools.base import Output, Params, Tool
from tools.errors import InputError
from tools.planning import NeedsClarification, PlanQuery, Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class EditLabelParams(Params):
    id: int
    label: str


class EditLabelOutput(Output):
    id: int
    text: str
    old_label: str | None  # the gold label before (None: the row had none)
    new_label: str  # the label as the dataset spells it
    edits: int  # label edits in this conversation so far


class EditLabel(Tool):
    name = "edit_label"
    description = "Change a row's gold label for this conversation (the data file is not changed)."
    Params = EditLabelParams
    Output = EditLabelOutput
    triggers = (
        Trigger(alternatives(
            r"\b(?:change|edit|modify|revise|update|set|correct|fix|alter|switch|adjust|amend|assign)\b.*\blabel",
            r"\brelabel",
            r"\b(?:mark|tag|annotate)\b.*\b(?:as|with the label)\b",
            r"\b(?:change|set|switch|turn|put|mark) (?:it|this|that|them|this one|that one)(?: back)? (?:to|as)\b",
            r"\blabel\b.*\b(?:to|as) (?:be )?(?:the )?(?:given|specified|provided|designated|assigned)",
        ), priority=60),
    )
    intent_examples = (
        "change the label of row 4 to negative",
        "relabel review 9",
        "set item 30's label to positive",
        "mark id 12 as negative",
    )
    precise = True
    planner_role = "relabel"  # "actually review 7 is positive" (agent/planner/claims.py)
    examples = ("change the label of review 5 to positive",)

    @classmethod
    def plan_args(cls, query: PlanQuery, args: dict[str, Any]) -> dict[str, Any]:
        """The row (named, or the conversation's) and the new label if the question gives one."""
        if query.follow_up:
            return args
        bare_id = query.search(r"\blabel (?:of|for) #?(\d+)\b")  # "set the label of 88 to positive"
        ids = query.ids() or ([int(bare_id.group(1))] if bare_id else []) or (
            [query.last_id] if query.last_id is not None else [])
        if not ids:
            raise NeedsClarification("Which row's label should I change? Give its id.")
        label = next((label for label in query.labels if query.search(
            rf"\b(?:to|as|into|with|be|is)\s+(?:the label\s+|label\s+)?['\"]?{re.escape(label)}\b")), None)
        return {"id": ids[0], **({"label": label} if label else {})}

    def restore(self, ctx: ToolContext, output: dict[str, Any]) -> None:
        ctx.label_edits[int(output["id"])] = output["new_label"]

    def run(self, ctx: ToolContext, params: EditLabelParams) -> EditLabelOutput:
        row = ctx.dataset.get(params.id)
        known = ctx.workspace.labels or ctx.dataset.labels
        match = next((label for label in known if label.lower() == params.label.strip().lower()), None)
        if match is None:
            raise InputError(f"Unknown label {params.label!r}.", f"Labels: {', '.join(known)}.")
        ctx.label_edits[params.id] = match
        return EditLabelOutput(id=row.id, text=row.text, old_label=row.label, new_label=match,
                               edits=len(ctx.label_edits))

    def narrate(self, output: EditLabelOutput, args: dict[str, Any]) -> str:
        o = output
        if o.old_label == o.new_label:
            return f"Row #{o.id} already has the label {o.new_label}; nothing changed."
        return (f"Changed the gold label of row #{o.id} from {o.old_label} to {o.new_label} for this conversation "
                f"({o.edits} edit(s) so far; the data file is unchanged).")
