"""Progress for long work, on stderr so that `--json` output on stdout stays clean."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

from tqdm.auto import tqdm


@contextmanager
def stage(message: str, quiet: bool = False) -> Iterator[None]:
    """Print 'message...' then 'done in N s' (a stage with no natural progress bar)."""
    if not quiet:
        print(f"whybox: {message}...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    if not quiet:
        print(f"whybox: {message}: done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)


def bar(total: int, desc: str, quiet: bool = False) -> tqdm:
    """A progress bar on stderr. Off a terminal (a log, a pipe, CI) it updates every 10 s instead of
    several times a second, so a 218-row pass writes a few lines, not a screenful of redraws."""
    interactive = sys.stderr.isatty()
    return tqdm(total=total, desc=f"whybox: {desc}", file=sys.stderr, disable=quiet, leave=False,
                mininterval=0.1 if interactive else 10.0, maxinterval=10.0 if interactive else 60.0)
