"""Paths a remote user can name, confined to folders the operator chose (issue 22).

The web UI's "Model and data" switch, its column preview and the path arguments of tools called
over MCP or by an LLM (explain_neuron's corpus `files`) read files on the server's machine with the
server's rights. Without a bound, anyone who can reach the server could read any CSV or JSON file
that user can (a secret under /tmp was shown by "show review 0"), and the error messages told
whether a path exists and what columns a file has.

So such a path must resolve (symlinks and `..` followed, `~` expanded) to the working directory,
WHYBOX_HOME, or a folder given with `--data-dir`; the model and data the server was started with
and the built-in aliases ('smollm2', 'demo') are always allowed. A refused path gets one message,
the same whether it exists or not, that names neither the path nor anything about it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from tools.errors import InputError

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tools.settings import Settings

PATH_FIELD = "x-whybox-path"  # json_schema_extra marker on a tool argument that names local files
REFUSED = ("That {what} is not in a folder this server may read (its working directory, WHYBOX_HOME "
           "or a folder given with --data-dir).")
HINT = "Put the file in one of those folders, or ask whoever runs the server to add its folder with --data-dir."


@dataclass(frozen=True)
class PathRoots:
    """The folders a remote user's paths may resolve into, and the specs that are always allowed."""

    roots: tuple[Path, ...]
    allowed: frozenset[str] = frozenset()

    @classmethod
    def for_server(cls, settings: Settings, data_dirs: Iterable[str | Path] = ()) -> PathRoots:
        """Working directory, WHYBOX_HOME and each --data-dir (which must exist: a typo would
        otherwise silently allow nothing); the startup model and data and the aliases allowed."""
        from tools.data.dataset import DEMO_NAME
        from tools.model_shape import DEFAULT_ALIASES

        extra = []
        for folder in data_dirs:
            path = Path(folder).expanduser()
            if not path.is_dir():
                raise InputError(f"--data-dir {folder} is not a folder.")
            extra.append(path)
        roots = tuple(dict.fromkeys(p.resolve() for p in (Path(os.getcwd()), settings.home, *extra)))
        allowed = frozenset({settings.model, settings.data, DEMO_NAME, *DEFAULT_ALIASES})
        return cls(roots, allowed)

    def confine(self, spec: str, what: str = "path") -> str:
        """`spec` itself when it is always allowed, else its resolved absolute path when that lies
        under a root; any other path (existing or not) is refused with the same message."""
        if spec in self.allowed:
            return spec
        try:
            resolved = Path(spec).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte, an unknown ~user
            raise InputError(REFUSED.format(what=what), HINT) from None
        if not any(resolved == root or resolved.is_relative_to(root) for root in self.roots):
            raise InputError(REFUSED.format(what=what), HINT)
        return str(resolved)


def path_fields(params: BaseModel) -> list[str]:
    """The arguments of a tool that name local files (marked with PATH_FIELD in their Field)."""
    fields = type(params).model_fields
    return [name for name, info in fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get(PATH_FIELD)]


def check_path_arguments(params: BaseModel, roots: PathRoots | None) -> None:
    """Refuse, before any work, a tool argument naming a file outside the roots (no roots: a local
    CLI or Python session, where the user reads their own files)."""
    if roots is None:
        return
    for name in path_fields(params):
        value: Any = getattr(params, name)
        for spec in [value] if isinstance(value, str) else value or []:
            roots.confine(spec, what=f"file in `{name}`")
