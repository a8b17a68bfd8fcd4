"""Every Prometheus metric the daemon exports, declared once in one table.

Metrics live in a per-daemon registry (not the global default) so that several pipelines can run in
one process, as the tests and ``emostream bench`` do. Labels carry camera and source *ids* only,
never URLs, so credentials cannot leak into a time series. The HTTP server that exposes them is
:class:`emostream.daemon.health.MetricsServer`.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from emostream import __version__

__all__ = ["STAGES", "Metrics"]

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STAGES = ("decode", "detect", "classify", "track", "publish")

# (attribute, type, exported name, help, labels). Histograms share the latency buckets.
_METRICS: tuple[tuple[str, type, str, str, tuple[str, ...]], ...] = (
    ("build_info", Gauge, "emostream_build_info", "Version of the running daemon.", ("version",)),
    ("frames_captured", Counter, "emostream_frames_captured", "Frames decoded from the source.", ("camera",)),
    (
        "frames_analysed",
        Counter,
        "emostream_frames_analysed",
        "Frames run through detection and classification.",
        ("camera",),
    ),
    (
        "frames_dropped",
        Counter,
        "emostream_frames_dropped",
        "Frames not analysed: reason=queue_full (live source outran analysis) or corrupt (undecodable).",
        ("camera", "reason"),
    ),
    ("queue_depth", Gauge, "emostream_queue_depth", "Frames waiting for analysis.", ("camera",)),
    (
        "stage_seconds",
        Histogram,
        "emostream_stage_seconds",
        "Time spent per frame in each stage.",
        ("stage",),
    ),
    (
        "frame_to_publish",
        Histogram,
        "emostream_frame_to_publish_seconds",
        "Wall time from capturing a frame to Redis acknowledging an event it caused.",
        ("camera",),
    ),
    ("faces", Counter, "emostream_faces", "Faces detected, summed over analysed frames.", ("camera",)),
    (
        "searches",
        Counter,
        "emostream_detector_searches",
        "Analysed frames by how the detector searched them: kind=whole (the whole frame) or near "
        "(only windows around the live tracks; detector.scan_interval).",
        ("camera", "kind"),
    ),
    (
        "faces_classified",
        Counter,
        "emostream_faces_classified",
        "Faces run through the emotion model (tracks are classified at a bounded rate).",
        ("camera",),
    ),
    ("tracks_active", Gauge, "emostream_tracks_active", "Faces currently tracked.", ("camera",)),
    (
        "events",
        Counter,
        "emostream_events",
        "Events produced, by type and emotion.",
        ("camera", "type", "emotion"),
    ),
    ("source_up", Gauge, "emostream_source_up", "1 while the source delivers frames.", ("camera",)),
    ("reconnects", Counter, "emostream_source_reconnects", "Attempts to reopen a lost source.", ("camera",)),
    ("source_errors", Counter, "emostream_source_errors", "Failures to open or read a source.", ("camera",)),
    ("published", Counter, "emostream_events_published", "Events acknowledged by Redis.", ()),
    ("publish_errors", Counter, "emostream_publish_errors", "Failed attempts to write events to Redis.", ()),
    ("publish_buffered", Gauge, "emostream_publish_buffered", "Events waiting for Redis (in memory).", ()),
    (
        "publish_dropped",
        Counter,
        "emostream_publish_dropped",
        "Events discarded because the publish buffer was full.",
        (),
    ),
    ("spool_events", Gauge, "emostream_spool_events", "Events waiting for Redis in the on-disk spool.", ()),
    (
        "spool_write_errors",
        Counter,
        "emostream_spool_write_errors",
        "Spool writes the disk refused (full, read-only); the events stayed in memory.",
        (),
    ),
    ("spool_corrupt", Counter, "emostream_spool_corrupt", "Damaged spool records skipped on replay.", ()),
    ("redis_up", Gauge, "emostream_redis_up", "1 while the last Redis write succeeded.", ()),
    ("mqtt_up", Gauge, "emostream_mqtt_up", "1 while the MQTT broker is connected.", ()),
    ("mqtt_published", Counter, "emostream_mqtt_published", "MQTT messages the broker acknowledged.", ()),
    ("mqtt_buffered", Gauge, "emostream_mqtt_buffered", "MQTT messages waiting for the broker.", ()),
    ("mqtt_dropped", Counter, "emostream_mqtt_dropped", "MQTT messages discarded: buffer full.", ()),
    (
        "audio_chunks_captured",
        Counter,
        "emostream_audio_chunks_captured",
        "0.1 s audio chunks read from the source.",
        ("source",),
    ),
    (
        "audio_chunks_dropped",
        Counter,
        "emostream_audio_chunks_dropped",
        "Audio chunks not analysed: reason=queue_full (live source outran analysis) or invalid.",
        ("source", "reason"),
    ),
    (
        "audio_windows",
        Counter,
        "emostream_audio_windows",
        "Audio windows analysed, by voice activity verdict: vad=speech, silence or invalid.",
        ("source", "vad"),
    ),
    (
        "audio_speech_ratio",
        Gauge,
        "emostream_audio_speech_ratio",
        "Share of voiced frames in the source's last analysed window (0..1).",
        ("source",),
    ),
    (
        "voice_classify_seconds",
        Histogram,
        "emostream_voice_classify_seconds",
        "Time to classify one speech window (features + model).",
        ("source",),
    ),
    (
        "voice_events",
        Counter,
        "emostream_voice_events",
        "Voice events produced, by type and emotion.",
        ("source", "type", "emotion"),
    ),
    (
        "audio_source_up",
        Gauge,
        "emostream_audio_source_up",
        "1 while the audio source delivers samples.",
        ("source",),
    ),
    (
        "audio_reconnects",
        Counter,
        "emostream_audio_reconnects",
        "Attempts to reopen a lost audio source.",
        ("source",),
    ),
    (
        "audio_source_errors",
        Counter,
        "emostream_audio_source_errors",
        "Failures to open or read an audio source.",
        ("source",),
    ),
)


class Metrics:
    """The daemon's metrics; one attribute per row of ``_METRICS``."""

    build_info: Gauge
    frames_captured: Counter
    frames_analysed: Counter
    frames_dropped: Counter
    queue_depth: Gauge
    stage_seconds: Histogram
    frame_to_publish: Histogram
    faces: Counter
    searches: Counter
    faces_classified: Counter
    tracks_active: Gauge
    events: Counter
    source_up: Gauge
    reconnects: Counter
    source_errors: Counter
    published: Counter
    publish_errors: Counter
    publish_buffered: Gauge
    publish_dropped: Counter
    spool_events: Gauge
    redis_up: Gauge
    spool_write_errors: Counter
    spool_corrupt: Counter
    mqtt_up: Gauge
    mqtt_published: Counter
    mqtt_buffered: Gauge
    mqtt_dropped: Counter
    audio_chunks_captured: Counter
    audio_chunks_dropped: Counter
    audio_windows: Counter
    audio_speech_ratio: Gauge
    voice_classify_seconds: Histogram
    voice_events: Counter
    audio_source_up: Gauge
    audio_reconnects: Counter
    audio_source_errors: Counter

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        for attr, kind, name, doc, labels in _METRICS:
            extra = {"buckets": _LATENCY_BUCKETS} if kind is Histogram else {}
            setattr(self, attr, kind(name, doc, labels, registry=self.registry, **extra))
        self.build_info.labels(__version__).set(1)

    def init_camera_series(self, cameras: Iterable[str]) -> None:
        """Start every per-camera series at zero so dashboards see the camera before its first frame."""
        for cam in cameras:
            self.frames_captured.labels(cam)
            self.frames_analysed.labels(cam)
            self.frames_dropped.labels(cam, "queue_full")
            self.frames_dropped.labels(cam, "corrupt")
            self.queue_depth.labels(cam).set(0)
            self.faces.labels(cam)
            self.searches.labels(cam, "whole")
            self.searches.labels(cam, "near")
            self.faces_classified.labels(cam)
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
