"""``emostream dashboard``: a live web page of the events stream (Starlette + Server-Sent Events).

Needs the ``dashboard`` extra (``pip install 'emostream[dashboard]'``: Starlette and uvicorn). The page
shows per camera the people tracked now with their emotion and confidence, a rolling timeline of
emotion shares, the last events and the daemon's health (read from its metrics endpoint). It shows
no face image: the daemon writes none.
"""

from __future__ import annotations

import logging

from emostream.keys import STREAM

log = logging.getLogger("emostream.dashboard")


def serve(
    redis_url: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    metrics_urls: list[str] | None = None,
    stream: str = STREAM,
    window: float = 300.0,
    bucket: float = 5.0,
    auth: tuple[str, str] | None = None,
) -> None:
    """Serve the dashboard until interrupted (uvicorn handles SIGINT/SIGTERM); ``auth``: see ``auth.py``."""
    import uvicorn

    from emostream.tools.dashboard.app import create_app

    app = create_app(redis_url, stream, metrics_urls, window=window, bucket=bucket, auth=auth)
    hub = app.state.hub

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            hub.closing = True  # lets the open event streams end, so shutdown need not cut them
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    if auth is None and host not in ("127.0.0.1", "::1", "localhost"):
        log.warning("dashboard on %s without authentication: anyone who reaches the port sees the events "
                    "(give --auth-file or $EMOSTREAM_DASHBOARD_AUTH)", host)  # fmt: skip
    log.info(
        "dashboard on http://%s:%d/ (events from %s%s)", host, port, stream, ", basic auth" if auth else ""
    )
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=3
    )
    _Server(config).run()


__all__ = ["serve"]
