"""A real `whybox ui` server (ui.app.launch, the code path of the command) on 127.0.0.1 and a
free port, for the tests that talk to it over HTTP; closed after the test."""
from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Any, Iterator

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_ui(settings: Any, **options: Any) -> Iterator[str]:
    """`launch(settings, **options)` without blocking; yields the server's URL."""
    from ui.app import launch

    port = free_port()
    app, _, _ = launch(settings, host="127.0.0.1", port=port, block=False, **options)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.blocks.close()


@pytest.fixture
def tiny_settings(tiny_models, tiny_data, isolated_home):
    from tools.settings import Settings

    return Settings.from_env(model=str(tiny_models["causal"]), data=str(tiny_data))
