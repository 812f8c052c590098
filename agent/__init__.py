"""whybox agent: planning, execution, conversation state, narration. Imports no UI library."""
from agent.assistant import Assistant

__all__ = ["Assistant"]
