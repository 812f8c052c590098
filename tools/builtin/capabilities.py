"""capabilities: what the assistant can do, with example questions (read from the registry)."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tools.base import NoParams, Output, Tool
from tools.planning import Trigger, alternatives

if TYPE_CHECKING:
    from tools.context import ToolContext


class ToolInfo(Output):
    tool: str
    description: str
    examples: list[str]
    available: bool  # False: in the catalogue, not implemented yet
    scope: str = "rows"  # what it is asked about: "instance" (one review or text), "rows" (the data), "model"


class CapabilitiesOutput(Output):
    tools: list[ToolInfo]  # in registry order


class Capabilities(Tool):
    name = "capabilities"
    asked_about = "itself"  # for the capabilities list (tools/base.py)
    description = "What the assistant can do, with example questions."
    Params = NoParams
    Output = CapabilitiesOutput
    triggers = (
        Trigger(alternatives(
            r"what can (?:you|whybox|this (?:tool|app|thing|assistant)) do",
            r"\b(?:example|sample) questions\b|\bquestions (?:i|we) (?:could|can|might|should) ask\b",
            r"what (?:are|is) (?:you|your) (?:capable|able)",
            r"what (?:else )?can (?:i|we) (?:ask|do)",
            r"\bhelp\b",
            r"\bfunctions\b",
            r"functionalit",
            r"what (?:tasks|operations|things|kind of \w+|kinds of \w+)",
            r"what do you (?:do|support|offer)",
            r"your (?:capabilities|features|abilities|strengths|skills)",
            r"how (?:can|do) i use you",
            r"capabilit",
            r"what can you (?:accomplish|handle|perform|offer)",
            r"functional (?:strengths|abilities)",
            r"(?:tasks|operations|actions|things|functions|services) (?:that "
            r")?(?:you|this \w+) (?:can|are able|could|provide|offer|support)",
            r"capable of",
            r"able to (?:do|perform|handle|execute)",
            r"what (?:can|could) (?:this|the) (?:chat|tool|system|assistant|bot)",
            r"what i can do",
            r"(?:can|could) you (?:do|handle|perform|execute|carry out)\b",
            r"(?:which|what) (?:operations|services|features) (?:do|does|can)",
        ), priority=260),
    )
    intent_examples = (
        "what can I do with this tool?",
        "what sort of questions do you answer?",
        "help",
        "what are your features?",
        "which analyses can you run?",
        "what are you good for?",
    )
    examples = ("what can you do?", "help")

    planner_role = "help"  # what the assistant can do

    def run(self, ctx: ToolContext, params: NoParams) -> CapabilitiesOutput:
        from tools.registry import all_tools

        return CapabilitiesOutput(tools=[
            ToolInfo(tool=tool.name, description=tool.description, examples=list(tool.examples),
                     available=tool.available, scope=_scope(tool))
            for tool in all_tools().values()
        ])

    def narrate(self, output: CapabilitiesOutput, args: dict[str, Any]) -> str:
        """A question to ask first, in plain words; the tool's name last, for those who want it (a newcomer
        read the old list of 28 tool names as internals)."""
        ready = [t for t in output.tools if t.available]
        later = [t.tool for t in output.tools if not t.available]
        lines = ["Ask in your own words; one example each (the tool's name in brackets):"]
        for scope, heading in SCOPES:
            group = [t for t in ready if t.scope == scope]
            if group:
                lines.append(heading)
            for t in group:
                what = _gist(t.description)
                lines.append(f"- \"{t.examples[0]}\": {what} ({t.tool})" if t.examples else f"- {what} ({t.tool})")
        if later:
            lines.append("Planned but not available yet in this version: " + ", ".join(later) + ".")
        return "\n".join(lines)


SCOPES = (("instance", "About one review, or a text of yours:"), ("rows", "About the data, or a group of rows:"),
          ("model", "About the model and its insides:"), ("ideas", "About explanation methods and ideas:"))


def _scope(tool: type[Tool]) -> str:
    if tool.asked_about:
        return tool.asked_about
    if (tool.takes_instance() and tool.Params.instance_required) or (tool.takes("id") and not tool.takes("where")):
        return "instance"
    return "rows" if tool.takes("where") else "model"


def _gist(description: str) -> str:
    """The description's first sentence, without its parenthesised details, in lower case after the colon."""
    first = re.split(r"(?<=[a-z)])\.\s", description.strip(), maxsplit=1)[0].rstrip(".")
    first = re.sub(r"\s*\([^)]*\)", "", first)
    word = first.split(" ", 1)[0]
    return first if len(word) > 1 and word.isupper() else first[:1].lower() + first[1:]
