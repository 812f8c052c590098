"""Importing this package registers every built-in tool."""
from tools.builtin import about, attribute, data_tools, internals, knowledge, performance, predict, upcoming  # noqa: F401
