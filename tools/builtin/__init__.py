"""Importing this package registers every built-in tool: each module here holds one tool, and
every module is imported, so adding a tool is adding a file (README "Adding a tool")."""
import importlib
import pkgutil

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    importlib.import_module(f"{__name__}.{_module.name}")
