"""Importing this package registers every built-in tool."""
from tools.builtin import (  # noqa: F401
    about,
    attribute,
    counterfactual,
    data_tools,
    influence,
    internals,
    knowledge,
    neurons,
    performance,
    perturb,
    predict,
    rationalize,
    report,
    similar,
)
