"""Optional HTTP Basic authentication for the dashboard (a pure ASGI middleware).

Off unless credentials are given (``--auth-file`` or ``$EMOSTREAM_DASHBOARD_AUTH``, ``user:password``),
because the dashboard binds to loopback by default. Browsers ask once and then send the credentials
with every same-origin request, the page's ``EventSource`` included, so the page needs no change.
``/healthz`` stays open for liveness probes. Basic auth sends the password in clear: put TLS in front
(a reverse proxy) when the page is reached over a network you do not trust.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ENV = "EMOSTREAM_DASHBOARD_AUTH"


def load_credentials(path: Path | None) -> tuple[str, str] | None:
    """``(user, password)`` from ``path`` (first line) or ``$EMOSTREAM_DASHBOARD_AUTH``; None: no auth.

    Raises ValueError with a one-line reason (never the secret itself) when they are malformed.
    """
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"--auth-file {path}: {exc.strerror or exc}") from None
        text, where = (lines[0] if lines else ""), f"--auth-file {path}"
    elif os.environ.get(ENV):
        text, where = os.environ[ENV], f"${ENV}"
    else:
        return None
    user, sep, password = text.strip().partition(":")
    if not sep or not user or not password:
        raise ValueError(f"{where}: expected one line 'user:password' with neither part empty")
    return user, password


class BasicAuth:
    """Answers 401 to any HTTP request without the right ``Authorization: Basic`` header."""

    def __init__(self, app: ASGIApp, user: str, password: str, open_paths: tuple[str, ...] = ("/healthz",)):
        self.app = app
        self._user, self._password = user.encode(), password.encode()
        self._open = open_paths

    def _allowed(self, scope: Scope) -> bool:
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, sep, password = base64.b64decode(token.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # both compared in full, in constant time, so timing tells nothing about which part is wrong
        ok_user = hmac.compare_digest(user, self._user)
        ok_password = hmac.compare_digest(password, self._password)
        return bool(sep) and ok_user and ok_password

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Non-HTTP scopes are lifespan and WebSocket; the app has no WebSocket route, so its router
        # closes any such connection without reaching a handler.
        if scope["type"] != "http" or scope["path"] in self._open or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        headers = {"WWW-Authenticate": 'Basic realm="emostream", charset="UTF-8"'}
        await PlainTextResponse("authentication required\n", 401, headers=headers)(scope, receive, send)
