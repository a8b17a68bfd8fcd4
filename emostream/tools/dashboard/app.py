"""The dashboard's web app (Starlette): one Redis reader, one health poller, Server-Sent Events to pages.

A single background task follows the event stream with XREAD (from the last entry it saw, so a
reconnect misses nothing that is still in the stream; after a fresh start it first replays the last
``window`` seconds) and folds events into :class:`DashboardState`. Another polls each daemon's
metrics endpoint. Every change bumps a version; each connected page gets a full JSON snapshot per
version (at most one per change, at least one a second while the timeline moves). Redis going away
is shown on the page and retried with capped backoff; the browser's EventSource reconnects to us by
itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import redis
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from emostream.keys import STREAM
from emostream.redact import redact
from emostream.retry import backoff_delay
from emostream.tools.dashboard.auth import BasicAuth, SecurityHeaders
from emostream.tools.dashboard.health import HealthProbe
from emostream.tools.dashboard.state import DashboardState

log = logging.getLogger("emostream.dashboard")
_STATIC = {"app.js": "text/javascript", "style.css": "text/css", "index.html": "text/html"}


class Hub:
    """Shared state of the app: what the reader and poller found, and a change signal for the pages."""

    def __init__(
        self, redis_url: str, stream: str, metrics_urls: list[str], window: float, bucket: float
    ) -> None:
        self.redis_url = redis_url
        self.stream = stream
        self.state = DashboardState(window=window, bucket=bucket)
        self.probes = [HealthProbe(u) for u in metrics_urls]
        self.redis: dict[str, Any] = {"up": False, "error": "connecting", "url": redact(redis_url)}
        self.cursor: str | None = None
        self.version = 0
        self.closing = False  # set on shutdown: event streams end
        self._changed = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        daemons = [p.last for p in self.probes]
        return {**self.state.snapshot(now), "now": now, "redis": self.redis, "daemons": daemons}

    def _apply(self, entries: list[tuple[str, dict[str, str]]]) -> None:
        now = time.time()
        for entry_id, fields in entries:
            self.cursor = entry_id
            try:
                event = json.loads(fields.get("event", ""))
            except ValueError:
                continue
            if isinstance(event, dict):
                self.state.apply(event, now)
        if entries:
            self.bump()

    async def _resume_point(self, client: aioredis.Redis) -> str:
        """Where to read from: our cursor if the stream still reaches it, else the last ``window`` seconds."""
        newest = await client.xrevrange(self.stream, count=1)
        if self.cursor is not None and (not newest or _id_key(newest[0][0]) >= _id_key(self.cursor)):
            return self.cursor
        start = int((time.time() - self.state.window) * 1000)
        backlog = await client.xrange(self.stream, min=f"{start}-0", count=10_000)
        self._apply(backlog)
        return backlog[-1][0] if backlog else (newest[0][0] if newest else "0-0")

    async def read_events(self) -> None:
        """Follow the stream forever; on any Redis error say so and retry (0.5 s doubling to 5 s)."""
        failures = 0
        while True:
            client = aioredis.from_url(
                self.redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5
            )
            try:
                cursor = await self._resume_point(client)
                self.redis, failures = {"up": True, "error": None, "url": redact(self.redis_url)}, 0
                self.bump()
                while True:
                    reply = await client.xread({self.stream: cursor}, count=500, block=1000)
                    for _name, entries in reply or []:
                        self._apply(entries)
                        cursor = self.cursor or cursor
            except (redis.RedisError, OSError) as exc:
                if self.redis["up"] or self.redis["error"] == "connecting":
                    log.warning("redis %s: %s; retrying", redact(self.redis_url), exc)
                self.redis = {"up": False, "error": redact(str(exc))[:200], "url": redact(self.redis_url)}
                self.bump()
                failures += 1
                await asyncio.sleep(backoff_delay(failures, 0.5, 5.0))
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def poll_health(self, every: float = 1.0) -> None:
        while True:
            checked = time.time()
            for probe in self.probes:
                result = await asyncio.to_thread(probe.poll)
                for cam, values in result.get("cameras", {}).items():
                    self.state.camera(cam)  # cameras the daemon runs show before their first event
                    if values.get("restarted"):  # its old tracks will never get their face.lost
                        self.state.reconcile(cam, 0, checked)
                    elif "tracks" in values:
                        self.state.reconcile(cam, int(values["tracks"]), checked)
            self.bump()
            await asyncio.sleep(every)

    async def tick(self, every: float = 1.0) -> None:
        while True:
            await asyncio.sleep(every)
            self.state.advance(time.time())
            self.bump()


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def create_app(
    redis_url: str,
    stream: str = STREAM,
    metrics_urls: list[str] | None = None,
    window: float = 300.0,
    bucket: float = 5.0,
    auth: tuple[str, str] | None = None,
) -> Starlette:
    """The ASGI app; its background tasks run for the app's lifespan. ``auth``: (user, password) for
    HTTP Basic authentication on every path but ``/healthz``; None: open (the loopback default)."""
    hub = Hub(redis_url, stream, metrics_urls or [], window, bucket)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(c) for c in (hub.read_events(), hub.poll_health(), hub.tick())]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def page(request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in _STATIC:
            return Response("not found\n", 404, media_type="text/plain")
        body = resources.files(__package__).joinpath("static", name).read_bytes()
        return Response(body, media_type=_STATIC[name], headers={"Cache-Control": "no-cache"})

    async def state(_request: Request) -> JSONResponse:
        return JSONResponse(hub.snapshot())

    async def events(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            seen = -1
            while not hub.closing and not await request.is_disconnected():
                if hub.version != seen:
                    seen = hub.version
                    yield f"event: state\ndata: {json.dumps(hub.snapshot(), separators=(',', ':'))}\n\n"
                await hub.changed(1.0)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def healthz(_request: Request) -> Response:
        return Response("ok\n", media_type="text/plain")

    routes = [
        Route("/", page),
        Route("/static/{name}", page),
        Route("/api/state", state),
        Route("/api/events", events),
        Route("/healthz", healthz),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if auth:
        middleware.append(Middleware(BasicAuth, user=auth[0], password=auth[1]))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.hub = hub
    return app
