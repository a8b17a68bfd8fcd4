"""The daemon's HTTP endpoint: ``/metrics`` for Prometheus, ``/healthz`` and ``/readyz`` for probes."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from emostream.config import MetricsConfig
from emostream.metrics import Metrics

log = logging.getLogger("emostream.pipeline")

__all__ = ["MetricsServer"]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request, so a slow scraper cannot block the health probes."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class MetricsServer:
    """Serves ``/metrics``, ``/healthz`` (the process is alive) and ``/readyz`` (able to do its job)."""

    def __init__(
        self, metrics: Metrics, host: str, port: int, ready: Callable[[], tuple[bool, dict[str, object]]]
    ) -> None:
        prom = make_wsgi_app(metrics.registry)

        def app(environ: dict, start_response: Callable) -> list[bytes]:
            path = environ.get("PATH_INFO", "/")
            if path == "/healthz":
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ok\n"]
            if path == "/readyz":
                ok, detail = ready()
                start_response(
                    "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "application/json")]
                )
                return [json.dumps({"ready": ok, **detail}).encode() + b"\n"]
            return prom(environ, start_response)

        self._server: WSGIServer = make_server(
            host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_port
        self.host = host
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(
    metrics: Metrics, mc: MetricsConfig, ready: Callable[[], tuple[bool, dict[str, object]]]
) -> MetricsServer:
    """Start the metrics and health server, saying where, and warning when it listens beyond loopback."""
    server = MetricsServer(metrics, mc.host, mc.port, ready)
    server.start()
    log.info("metrics on http://%s:%d/metrics", server.host, server.port)
    if mc.host not in ("127.0.0.1", "::1", "localhost"):
        log.warning(
            "metrics and health on %s:%d without authentication: keep the port off untrusted "
            "networks (it shows camera ids and counts, never URLs or images)",
            mc.host,
            server.port,
        )
    return server
