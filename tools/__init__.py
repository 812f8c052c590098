"""whybox XAI tools: one interface, one registry, no imports from agent or ui."""
__version__ = "0.1.0"
