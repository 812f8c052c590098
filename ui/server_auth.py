"""Who may use `whybox ui`, and how slowly a stranger can guess (issue 22).

* Credentials come from WHYBOX_UI_AUTH or `--auth-file` (a file only its owner can read, like an
  ssh key): `--auth USER:PASSWORD` still works but puts the password in argv, which every user of
  the machine sees in `ps`, so it is warned about.
* Logins are throttled per client address: after `MAX_FAILURES` failed logins within `WINDOW_S`
  seconds, that client's logins are refused with HTTP 429 for `LOCKOUT_S` seconds, right password
  or not. Gradio's `auth=` callable is not told who is asking, so the throttle is an ASGI
  middleware around Gradio's `/login` route, given to the app through `launch(app_kwargs=...)`.
* A server bound to an address other people can reach (not loopback) without credentials is
  refused unless `--allow-no-auth` says that is meant.
"""
from __future__ import annotations

import ipaddress
import os
import socket
import stat
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from tools.errors import InputError

AUTH_ENV = "WHYBOX_UI_AUTH"
MAX_FAILURES = 5
WINDOW_S = 60.0
LOCKOUT_S = 60.0
ARGV_WARNING = ("whybox: warning: --auth puts the password on the command line, where every user of this "
                f"machine can read it (ps); use {AUTH_ENV}=USER:PASSWORD or --auth-file FILE instead.")


def _parse(value: str, source: str) -> tuple[str, str]:
    user, _, password = value.strip().partition(":")
    if not user or not password:
        raise InputError(f"{source} must hold USER:PASSWORD.")
    return user, password


def read_credentials(argv_value: str | None, auth_file: str | None,
                     environ: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """(user, password) from --auth-file, else WHYBOX_UI_AUTH, else --auth (warned); None: no auth."""
    if auth_file:
        path = Path(auth_file).expanduser()
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise InputError(f"Cannot read the auth file {auth_file}: {reason}.") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InputError(f"The auth file {auth_file} can be read by other users (mode {stat.S_IMODE(mode):o}).",
                             f"Make it private: chmod 600 {auth_file}.")
        return _parse(text, f"The auth file {auth_file}")
    if environ.get(AUTH_ENV, "").strip():
        return _parse(environ[AUTH_ENV], AUTH_ENV)
    if argv_value:
        credentials = _parse(argv_value, "--auth")
        print(ARGV_WARNING, file=sys.stderr, flush=True)
        return credentials
    return None


def is_loopback(host: str) -> bool:
    """True when every address `host` resolves to is this machine only (127.0.0.0/8, ::1)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


def check_exposure(host: str, credentials: tuple[str, str] | None, allow_no_auth: bool) -> None:
    """Refuse to serve other machines without a password, unless the operator says so."""
    if credentials is None and not allow_no_auth and not is_loopback(host):
        raise InputError(f"--host {host} lets other machines reach the UI, and no password is set.",
                         f"Set {AUTH_ENV}=USER:PASSWORD or --auth-file FILE, or pass --allow-no-auth "
                         "if the network is trusted.")


def check_address(host: str, port: int) -> None:
    """Refuse, in one line and before anything loads, a port outside 1-65535, a host this machine
    cannot bind, or an address already in use (issue 22: each was a traceback)."""
    if not 0 < port < 65536:
        raise InputError(f"Port {port} is not a TCP port (1 to 65535).")
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError):
        raise InputError(f"Host {host!r} is not an address this machine can listen on.",
                         "Use 127.0.0.1 (this machine only) or an interface's address.") from None
    with socket.socket(family, kind) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            raise InputError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                             "Choose another --port, or stop the program using this one.") from None


class LoginThrottle:
    """Failed logins per client; thread-safe; `clock` injectable so expiry can be tested."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S, lockout_s: float = LOCKOUT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures, self.window_s, self.lockout_s, self.clock = max_failures, window_s, lockout_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds this client must wait before its next login is heard (0: go ahead)."""
        with self._lock:
            left = self._locked_until.get(client, 0.0) - self.clock()
            if left <= 0:
                self._locked_until.pop(client, None)
            return max(left, 0.0)

    def failed(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            times = self._failures.setdefault(client, deque())
            times.append(now)
            while times and now - times[0] > self.window_s:
                times.popleft()
            if len(times) >= self.max_failures:
                self._locked_until[client] = now + self.lockout_s
                times.clear()

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


ASGIApp = Callable[[dict[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


class ThrottleLogins:
    """ASGI middleware: POST /login from a locked-out client gets 429; other requests pass."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app, self.throttle = app, throttle

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Awaitable[Any]],
                       send: Callable[..., Awaitable[Any]]) -> None:
        is_login = (scope["type"] == "http" and scope.get("method") == "POST"
                    and scope.get("path", "").rstrip("/").endswith("/login"))
        if not is_login:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.throttle.wait_s(client)
        if wait > 0:
            body = f'{{"detail": "Too many failed logins; try again in {int(wait) + 1} s."}}'.encode()
            await send({"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/json"), (b"retry-after", str(int(wait) + 1).encode()),
                (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return

        async def watched(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 200:
                    self.throttle.succeeded(client)
                elif message["status"] in (400, 401):
                    self.throttle.failed(client)
            await send(message)

        await self.app(scope, receive, watched)


def throttled_app_kwargs(throttle: LoginThrottle | None = None) -> dict[str, Any]:
    """`launch(app_kwargs=...)` that puts the login throttle around Gradio's routes."""
    from starlette.middleware import Middleware

    return {"middleware": [Middleware(ThrottleLogins, throttle=throttle or LoginThrottle())]}
