"""Helper for tests/test_batch.py: run a batch job and SIGKILL this process after chunk N (with
`--tear`, first append half of a valid line, as a kill in the middle of a write leaves it)."""
from __future__ import annotations

import argparse
import os
import signal
from pathlib import Path

from tools.batch import ToolWork, run_batch, table_for
from tools.context import ToolContext, Workspace
from tools.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--kill-after", type=int, default=2)
    parser.add_argument("--tear", action="store_true")
    ns = parser.parse_args()
    ctx = ToolContext(Workspace(Settings.from_env(model=ns.model, data=ns.data), quiet=True))
    work = ToolWork("attribute", {"method": "occlusion"}, batch_size=2)
    chunks = []

    def on_chunk(done: int, total: int) -> None:
        chunks.append(done)
        if len(chunks) == ns.kill_after:
            if ns.tear:
                table = table_for(ctx, work, Path(ns.out))
                line = table.path.read_bytes().splitlines(keepends=True)[0]
                with open(table.path, "ab") as handle:
                    handle.write(line[: len(line) // 2])
                    handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    run_batch(ctx, work, ctx.dataset.rows, Path(ns.out), on_chunk=on_chunk)


if __name__ == "__main__":
    main()
