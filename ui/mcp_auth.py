"""The bearer token of `whybox mcp --http`: where it comes from and the check on every request.

The token is read from WHYBOX_MCP_TOKEN or a file, never from argv (argv is visible to every user
of the machine in `ps`), and the HTTP server refuses to start without one: an MCP server runs the
model on request, so an open port would let any local process use it.
"""
from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Any, Awaitable, Callable

from tools.errors import InputError

TOKEN_ENV = "WHYBOX_MCP_TOKEN"
ASGIApp = Callable[[dict[str, Any], Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


def read_token(token_file: str | None) -> str:
    """The token from --token-file if given, else from WHYBOX_MCP_TOKEN; a missing one is an error."""
    if token_file:
        try:
            token = Path(token_file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(f"Cannot read the token file {token_file}: {exc.strerror}.") from None
        if not token:
            raise InputError(f"The token file {token_file} is empty.")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise InputError(f"--http needs a bearer token: set {TOKEN_ENV} or pass --token-file FILE.",
                         "The token is never read from the command line.")
    return token


def require_bearer(app: ASGIApp, token: str) -> ASGIApp:
    """`app` behind a check of `Authorization: Bearer <token>` on every HTTP request (401 otherwise);
    lifespan events pass through, so the SDK's session manager starts and stops as usual."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope: dict[str, Any], receive: Callable[..., Awaitable[Any]],
                      send: Callable[..., Awaitable[Any]]) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                body = b'{"error": "unauthorized: send Authorization: Bearer <token>"}'
                await send({"type": "http.response.start", "status": 401, "headers": [
                    (b"content-type", b"application/json"), (b"www-authenticate", b"Bearer"),
                    (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded
