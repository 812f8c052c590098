"""capabilities: what the assistant can do, with example questions (read from the registry)."""
from __future__ import annotations

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


class CapabilitiesOutput(Output):
    tools: list[ToolInfo]  # in registry order


class Capabilities(Tool):
    name = "capabilities"
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
                     available=tool.available)
            for tool in all_tools().values()
        ])

    def narrate(self, output: CapabilitiesOutput, args: dict[str, Any]) -> str:
        ready = [t for t in output.tools if t.available]
        later = [t.tool for t in output.tools if not t.available]
        lines = ["I can answer questions about the data and the model's predictions:"]
        for t in ready:
            example = f" (e.g. \"{t.examples[0]}\")" if t.examples else ""
            lines.append(f"- {t.tool}: {t.description}{example}")
        if later:
            lines.append("Planned but not available yet in this version: " + ", ".join(later) + ".")
        return "\n".join(lines)
