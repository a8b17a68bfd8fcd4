"""Every Prometheus metric the daemon exports, declared once, and the /metrics, /healthz, /readyz server.

Metrics live in a per-daemon registry (not the global default) so that several pipelines can run in
one process, as the tests and ``emostream bench`` do. Labels carry camera *ids* only, never URLs,
so credentials cannot leak into a time series.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from . import __version__

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STAGES = ("decode", "detect", "classify", "track", "publish")


class Metrics:
    """The daemon's metrics; attribute names match the exported names without the ``emostream_`` prefix."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.build_info = Gauge(
            "emostream_build_info", "Version of the running daemon.", ["version"], registry=r
        )
        self.build_info.labels(__version__).set(1)
        self.frames_captured = Counter(
            "emostream_frames_captured", "Frames decoded from the source.", ["camera"], registry=r
        )
        self.frames_analysed = Counter(
            "emostream_frames_analysed",
            "Frames run through detection and classification.",
            ["camera"],
            registry=r,
        )
        self.frames_dropped = Counter(
            "emostream_frames_dropped",
            "Frames not analysed: reason=queue_full (live source outran analysis) or corrupt (undecodable).",
            ["camera", "reason"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "emostream_queue_depth", "Frames waiting for analysis.", ["camera"], registry=r
        )
        self.stage_seconds = Histogram(
            "emostream_stage_seconds",
            "Time spent per frame in each stage.",
            ["stage"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.frame_to_publish = Histogram(
            "emostream_frame_to_publish_seconds",
            "Wall time from capturing a frame to Redis acknowledging an event it caused.",
            ["camera"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.faces = Counter(
            "emostream_faces", "Faces detected, summed over analysed frames.", ["camera"], registry=r
        )
        self.tracks_active = Gauge(
            "emostream_tracks_active", "Faces currently tracked.", ["camera"], registry=r
        )
        self.events = Counter(
            "emostream_events",
            "Events produced, by type and emotion.",
            ["camera", "type", "emotion"],
            registry=r,
        )
        self.source_up = Gauge(
            "emostream_source_up", "1 while the source delivers frames.", ["camera"], registry=r
        )
        self.reconnects = Counter(
            "emostream_source_reconnects", "Attempts to reopen a lost source.", ["camera"], registry=r
        )
        self.source_errors = Counter(
            "emostream_source_errors", "Failures to open or read a source.", ["camera"], registry=r
        )
        self.published = Counter("emostream_events_published", "Events acknowledged by Redis.", registry=r)
        self.publish_errors = Counter(
            "emostream_publish_errors", "Failed attempts to write events to Redis.", registry=r
        )
        self.publish_buffered = Gauge(
            "emostream_publish_buffered", "Events waiting for Redis (in memory).", registry=r
        )
        self.publish_dropped = Counter(
            "emostream_publish_dropped", "Events discarded because the publish buffer was full.", registry=r
        )
        self.spool_events = Gauge(
            "emostream_spool_events", "Events waiting for Redis in the on-disk spool.", registry=r
        )
        self.redis_up = Gauge("emostream_redis_up", "1 while the last Redis write succeeded.", registry=r)
        # Audio path (labelled by audio source id).
        self.audio_chunks_captured = Counter(
            "emostream_audio_chunks_captured",
            "0.1 s audio chunks read from the source.",
            ["source"],
            registry=r,
        )
        self.audio_chunks_dropped = Counter(
            "emostream_audio_chunks_dropped",
            "Audio chunks not analysed: reason=queue_full (live source outran analysis) or invalid.",
            ["source", "reason"],
            registry=r,
        )
        self.audio_windows = Counter(
            "emostream_audio_windows",
            "Audio windows analysed, by voice activity verdict: vad=speech, silence or invalid.",
            ["source", "vad"],
            registry=r,
        )
        self.audio_speech_ratio = Gauge(
            "emostream_audio_speech_ratio",
            "Share of voiced frames in the source's last analysed window (0..1).",
            ["source"],
            registry=r,
        )
        self.voice_classify_seconds = Histogram(
            "emostream_voice_classify_seconds",
            "Time to classify one speech window (features + model).",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.voice_events = Counter(
            "emostream_voice_events",
            "Voice events produced, by type and emotion.",
            ["source", "type", "emotion"],
            registry=r,
        )
        self.audio_source_up = Gauge(
            "emostream_audio_source_up", "1 while the audio source delivers samples.", ["source"], registry=r
        )
        self.audio_reconnects = Counter(
            "emostream_audio_reconnects", "Attempts to reopen a lost audio source.", ["source"], registry=r
        )
        self.audio_source_errors = Counter(
            "emostream_audio_source_errors",
            "Failures to open or read an audio source.",
            ["source"],
            registry=r,
        )

    def init_camera_series(self, cameras: Iterable[str]) -> None:
        """Start every per-camera series at zero so dashboards see the camera before its first frame."""
        for cam in cameras:
            self.frames_captured.labels(cam)
            self.frames_analysed.labels(cam)
            self.frames_dropped.labels(cam, "queue_full")
            self.frames_dropped.labels(cam, "corrupt")
            self.queue_depth.labels(cam).set(0)
            self.faces.labels(cam)
            self.tracks_active.labels(cam).set(0)
            self.source_up.labels(cam).set(0)
            self.reconnects.labels(cam)
            self.source_errors.labels(cam)

    def init_audio_series(self, sources: Iterable[str]) -> None:
        """Start every per-audio-source series at zero."""
        for src in sources:
            self.audio_chunks_captured.labels(src)
            self.audio_chunks_dropped.labels(src, "queue_full")
            self.audio_chunks_dropped.labels(src, "invalid")
            for vad in ("speech", "silence", "invalid"):
                self.audio_windows.labels(src, vad)
            self.audio_speech_ratio.labels(src).set(0)
            self.audio_source_up.labels(src).set(0)
            self.audio_reconnects.labels(src)
            self.audio_source_errors.labels(src)


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
