"""Issue 22, item 5 (part): `whybox ui` with a bad port, a port in use or a bad host says so in one
line before anything loads, instead of a traceback."""
from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tools.errors import InputError
from ui.server_auth import check_address


def test_a_port_outside_the_tcp_range_is_refused():
    with pytest.raises(InputError, match=r"^Port 99999 is not a TCP port \(1 to 65535\)\.$"):
        check_address("127.0.0.1", 99999)


def test_a_port_in_use_is_refused():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(InputError, match=rf"^Cannot listen on 127\.0\.0\.1:{port}: "):
            check_address("127.0.0.1", port)
    check_address("127.0.0.1", port)  # free again: accepted


def test_a_bad_host_is_refused():
    with pytest.raises(InputError, match=r"^Host 'no such host' is not an address"):
        check_address("no such host", 7860)


def test_the_cli_prints_one_line(tiny_data):
    done = subprocess.run([sys.executable, "-m", "ui.cli", "ui", "--port", "99999", "--data", str(tiny_data)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "Port 99999 is not a TCP port (1 to 65535)." in done.stderr
