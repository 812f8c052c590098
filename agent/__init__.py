"""whybox agent: planning, execution, conversation state, narration. Imports no UI library.

`Assistant` is imported on first use: `whybox plan` needs only the planner, and importing the
assistant pulls in torch and transformers (seconds)."""
from typing import Any

__all__ = ["Assistant"]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from agent.assistant import Assistant

        return Assistant
    raise AttributeError(name)
