"""Importing this package registers every built-in tool."""
from tools.builtin import about, attribute, data_tools, internals, knowledge, neurons, performance, predict, report, upcoming  # noqa: F401
