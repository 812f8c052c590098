"""Issue 22: `whybox ui` credentials come from WHYBOX_UI_AUTH or a private --auth-file (argv still
works, with a warning: it shows in `ps`); failed logins are throttled per client; a server on a
non-loopback address without a password is refused unless --allow-no-auth. Checked with real HTTP
requests against real servers on 127.0.0.1."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.reliability.conftest import free_port, running_ui
from tools.errors import InputError
from ui.server_auth import ARGV_WARNING, AUTH_ENV, LoginThrottle, check_exposure, read_credentials


def test_credentials_from_the_environment_a_private_file_or_argv(tmp_path, capsys):
    assert read_credentials(None, None, {AUTH_ENV: "alice:s3cret:with:colons"}) == ("alice", "s3cret:with:colons")
    assert read_credentials(None, None, {}) is None
    secret = tmp_path / "auth"
    secret.write_text("bob:hunter2\n")
    secret.chmod(0o600)
    assert read_credentials("x:y", str(secret), {AUTH_ENV: "a:b"}) == ("bob", "hunter2")  # the file wins
    secret.chmod(0o644)
    with pytest.raises(InputError, match=r"can be read by other users \(mode 644\)\. Make it private: chmod 600"):
        read_credentials(None, str(secret), {})
    with pytest.raises(InputError, match="^Cannot read the auth file .*missing: No such file or directory"):
        read_credentials(None, str(tmp_path / "missing"), {})
    with pytest.raises(InputError, match=f"^{AUTH_ENV} must hold USER:PASSWORD"):
        read_credentials(None, None, {AUTH_ENV: "nopassword"})
    capsys.readouterr()
    assert read_credentials("carol:pw", None, {}) == ("carol", "pw")
    assert capsys.readouterr().err.strip() == ARGV_WARNING


def test_a_non_loopback_host_needs_a_password_or_an_explicit_allow():
    with pytest.raises(InputError, match=r"^--host 0\.0\.0\.0 lets other machines reach the UI, and no password"):
        check_exposure("0.0.0.0", None, allow_no_auth=False)
    check_exposure("0.0.0.0", ("a", "b"), allow_no_auth=False)
    check_exposure("0.0.0.0", None, allow_no_auth=True)
    check_exposure("127.0.0.1", None, allow_no_auth=False)
    check_exposure("localhost", None, allow_no_auth=False)
    check_exposure("::1", None, allow_no_auth=False)


def test_the_throttle_counts_failures_in_a_window_per_client():
    now = [0.0]
    throttle = LoginThrottle(max_failures=3, window_s=10, lockout_s=30, clock=lambda: now[0])
    for _ in range(2):
        throttle.failed("a")
    now[0] = 11.0  # those two are out of the window
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.wait_s("a") == 0
    throttle.failed("a")  # three within 10 s
    assert throttle.wait_s("a") == 30 and throttle.wait_s("b") == 0  # another client is not affected
    now[0] = 41.5
    assert throttle.wait_s("a") == 0
    throttle.failed("a")
    throttle.failed("a")
    throttle.succeeded("a")  # a good login clears the count
    throttle.failed("a")
    assert throttle.wait_s("a") == 0


def _login(url: str, user: str, password: str) -> httpx.Response:
    return httpx.post(url + "login", data={"username": user, "password": password}, timeout=30)


def test_logins_are_throttled_over_http(tiny_settings):
    throttle = LoginThrottle(max_failures=5, window_s=60, lockout_s=3)
    with running_ui(tiny_settings, auth=("alice", "s3cret"), throttle=throttle) as url:
        assert httpx.get(url + "config", timeout=30).status_code == 401  # nothing without a login
        assert _login(url, "alice", "s3cret").status_code == 200
        statuses = [_login(url, "alice", f"guess{i}").status_code for i in range(5)]
        assert statuses == [400] * 5
        locked = _login(url, "alice", "s3cret")  # the right password, but too soon
        assert locked.status_code == 429 and locked.headers["retry-after"] in {"3", "4"}
        assert locked.json() == {"detail": f"Too many failed logins; try again in {locked.headers['retry-after']} s."}
        time.sleep(3.2)
        good = _login(url, "alice", "s3cret")
        assert good.status_code == 200
        assert httpx.get(url + "config", cookies=good.cookies, timeout=30).status_code == 200


@pytest.mark.slow
def test_whybox_ui_reads_the_password_from_the_environment_not_argv(tiny_models, tiny_data, tmp_path):
    port = free_port()
    env = {**os.environ, AUTH_ENV: "alice:env-s3cret", "WHYBOX_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "ui", "--port", str(port), "--model",
                             str(tiny_models["causal"]), "--data", str(tiny_data)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(url + "config", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.5)
        cmdline = open(f"/proc/{proc.pid}/cmdline", "rb").read()
        assert b"env-s3cret" not in cmdline  # what `ps` shows
        assert httpx.get(url + "config", timeout=30).status_code == 401
        assert _login(url, "alice", "wrong").status_code == 400
        assert _login(url, "alice", "env-s3cret").status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)
    assert "warning" not in proc.stderr.read()


def test_whybox_ui_on_all_interfaces_without_a_password_is_refused(tiny_data, tmp_path):
    env = {**os.environ, "WHYBOX_HOME": str(tmp_path)}
    env.pop(AUTH_ENV, None)
    done = subprocess.run([sys.executable, "-m", "ui.cli", "ui", "--host", "0.0.0.0", "--data", str(tiny_data)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("whybox: --host 0.0.0.0 lets other machines reach the UI, and no password is set.")
