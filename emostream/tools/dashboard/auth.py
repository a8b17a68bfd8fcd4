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
import collections
import hmac
import logging
import math
import os
import time
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("emostream.dashboard")
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
    """Answers 401 to any HTTP request without the right ``Authorization: Basic`` header, and 429 to a
    client address with ``max_failures`` wrong attempts in the last ``window`` seconds (right ones too,
    until the window has passed: a password cannot be guessed at network speed)."""

    def __init__(
        self,
        app: ASGIApp,
        user: str,
        password: str,
        open_paths: tuple[str, ...] = ("/healthz",),
        max_failures: int = 10,
        window: float = 60.0,
    ):
        self.app = app
        self._user, self._password = user.encode(), password.encode()
        self._open = open_paths
        self._max, self._window = max_failures, window
        self._failures: dict[str, collections.deque[float]] = {}

    def _throttled(self, client: str, now: float) -> float:
        """Seconds ``client`` must still wait (0: it may try)."""
        times = self._failures.get(client)
        while times and now - times[0] > self._window:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
            return 0.0
        return self._window - (now - times[0]) if len(times) >= self._max else 0.0

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
        if scope["type"] != "http" or scope["path"] in self._open:
            await self.app(scope, receive, send)
            return
        client, now = (scope.get("client") or ("?", 0))[0], time.monotonic()
        wait = self._throttled(client, now)
        if wait > 0:
            retry = {"Retry-After": str(math.ceil(wait))}
            await PlainTextResponse("too many failed logins\n", 429, headers=retry)(scope, receive, send)
            return
        if self._allowed(scope):
            await self.app(scope, receive, send)
            return
        if dict(scope.get("headers") or []).get(b"authorization"):  # a wrong try, not a first visit
            times = self._failures.setdefault(client, collections.deque())
            times.append(now)
            if len(times) == self._max:
                log.warning(
                    "dashboard: %d failed logins from %s; refusing it for %g s",
                    self._max,
                    client,
                    self._window,
                )
        headers = {"WWW-Authenticate": 'Basic realm="emostream", charset="UTF-8"'}
        await PlainTextResponse("authentication required\n", 401, headers=headers)(scope, receive, send)


# Sent with every response: the page loads only its own script and style, may not be framed, and
# the browser must not guess content types.
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, with_headers)
