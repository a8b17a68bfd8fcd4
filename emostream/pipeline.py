"""The wiring of the data path: sources → queues → analysis → publisher, with start, stop and join.

One capture thread and one analysis thread per camera and per audio source (:class:`VoiceChannel`,
whose events go through the same publisher); the detector, classifier and speech-model sessions are
shared (onnxruntime sessions are safe to run from several threads). Shutdown goes in data-flow
order: sources stop and close their queues, analysis drains what was queued and ends every track,
the publisher writes what is left, then the metrics server and the private Redis go.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

from . import shard
from .analyze import CameraAnalyzer
from .classify import FaceEmotionClassifier
from .config import CameraConfig, Config
from .detect import Detector, build_detector
from .events import build_event
from .localredis import LocalRedis
from .metrics import Metrics, MetricsServer
from .publish import Publisher
from .queues import BoundedQueue, Closed
from .runtime import state_dir
from .snapshot import write_snapshot
from .spool import Spool
from .types import Event, Face, Frame, TrackedFace
from .video import VideoSource, policy_for, redact

if TYPE_CHECKING:  # the voice path (librosa) is imported only when audio sources are configured
    from .voice import SpeechClassifier, VoiceChannel

log = logging.getLogger("emostream.pipeline")


@dataclass
class _Camera:
    source: VideoSource
    queue: BoundedQueue[Frame]
    analyzer: CameraAnalyzer
    thread: threading.Thread


class Pipeline:
    """A running daemon: :meth:`start`, then :meth:`wait` for files to end or :meth:`stop` it."""

    def __init__(
        self,
        cfg: Config,
        on_event: Callable[[Event], None] | None = None,
        models: tuple[Detector, FaceEmotionClassifier] | None = None,
        on_frame: Callable[[Frame, list[TrackedFace]], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.metrics = Metrics()
        self._on_event = on_event
        self._on_frame = on_frame  # called per analysed frame after its events (reports draw boxes)
        self._stop = threading.Event()
        self._started = 0.0
        self._idle = False
        self.local_redis: LocalRedis | None = None
        self.metrics_server: MetricsServer | None = None
        # OpenCV's own thread pool only competes with the per-camera threads for the same cores.
        cv2.setNumThreads(cfg.threads)
        if models is None:
            d = cfg.detector
            models = (
                build_detector(d.kind, d.model, d.score_threshold, threads=cfg.threads),
                FaceEmotionClassifier(cfg.classifier.model, threads=cfg.threads),
            )
        self.detector, self.classifier = models
        self.cameras: dict[str, _Camera] = {}
        self.publisher: Publisher | None = None
        self.voices: dict[str, VoiceChannel] = {}
        self.speech: SpeechClassifier | None = None  # loaded by start() only when audio is configured

    @property
    def redis_url(self) -> str:
        if self.cfg.redis.url:
            return self.cfg.redis.url
        if self.local_redis is None:
            raise RuntimeError("pipeline not started")
        return self.local_redis.url

    def start(self) -> None:
        snap = self.cfg.snapshots
        if snap.enabled:
            faces = "faces pixelated" if snap.blur else "FACES NOT BLURRED (snapshots.blur: false)"
            log.warning("debug snapshots on: writing frames of emotion changes to %s, %s", snap.dir, faces)
        enabled = [c for c in self.cfg.cameras if c.enabled]
        index, count = shard.resolve(self.cfg.shard)
        cams = shard.select(enabled, index, count)
        cam_ids = {c.id for c in cams}
        audio = [
            a
            for a in self.cfg.audio
            if a.enabled and (a.camera in cam_ids if a.camera else bool(shard.select([a], index, count)))
        ]
        if audio and self.speech is None:
            from .voice import SpeechClassifier

            self.speech = SpeechClassifier(self.cfg.voice.model, threads=self.cfg.threads)
        self._idle = count > 1 and not cams and not audio  # an empty shard waits for a signal
        if count > 1:
            log.info("shard %d of %d: %d of %d cameras", index, count, len(cams), len(enabled))
        if not self.cfg.redis.url:
            self.local_redis = LocalRedis().start()
            log.info("no redis.url configured: started a private Redis at %s", self.local_redis.url)
        self.publisher = Publisher(self.redis_url, self.cfg.redis, self.metrics, spool=self._open_spool(cams))
        self.publisher.start()
        self.metrics.init_camera_series(c.id for c in cams)
        if self.cfg.metrics.enabled:
            self.metrics_server = MetricsServer(
                self.metrics, self.cfg.metrics.host, self.cfg.metrics.port, self.ready
            )
            self.metrics_server.start()
            log.info("metrics on http://%s:%d/metrics", self.metrics_server.host, self.metrics_server.port)
        self._started = time.monotonic()
        for cam in cams:
            queue: BoundedQueue[Frame] = BoundedQueue(
                cam.queue_size,
                policy_for(cam),
                on_drop=lambda _f, c=cam.id: self.metrics.frames_dropped.labels(c, "queue_full").inc(),
            )
            source = VideoSource(cam, queue, self.metrics, self._stop)
            analyzer = CameraAnalyzer(cam.id, self.cfg, self.detector, self.classifier, self.metrics)
            thread = threading.Thread(
                target=self._analyse, args=(cam.id,), name=f"analyse-{cam.id}", daemon=True
            )
            self.cameras[cam.id] = _Camera(source, queue, analyzer, thread)
            log.info(
                "camera %s: %s source %s at %s fps", cam.id, source.kind, redact(cam.url), cam.fps or "every"
            )
        self.metrics.init_audio_series(a.id for a in audio)
        for a in audio:
            from .voice import VoiceChannel  # here, not above: importing librosa takes ~1.5 s

            assert self.speech is not None
            self.voices[a.id] = VoiceChannel(a, self.cfg, self.speech, self.metrics, self._stop, self._emit)
            log.info(
                "audio %s: %s %s → camera %s",
                a.id,
                self.voices[a.id].source.kind,
                redact(a.url),
                a.camera or a.id,
            )
        for c in self.cameras.values():
            c.thread.start()
            c.source.start()
        for v in self.voices.values():
            v.start()

    def _open_spool(self, cams: list[CameraConfig]) -> Spool | None:
        """The on-disk spool for the configured Redis; none for a private Redis, which dies with us."""
        rc = self.cfg.redis
        if not rc.url or not rc.spool:
            return None
        if rc.spool_dir:
            directory = Path(rc.spool_dir)
        else:
            key = "\n".join([redact(rc.url), rc.stream, *sorted(c.id for c in cams)])
            directory = state_dir() / f"spool-{hashlib.sha1(key.encode()).hexdigest()[:12]}"
        spool = Spool(directory, max_bytes=int(rc.spool_max_mb * (1 << 20)))
        log.info("event spool at %s", directory)
        return spool

    def _emit(self, events: list[Event]) -> None:
        assert self.publisher is not None
        for ev in events:
            self.publisher.submit(ev)
            if self._on_event is not None:
                self._on_event(ev)

    def _analyse(self, cam_id: str) -> None:
        cam = self.cameras[cam_id]
        depth = self.metrics.queue_depth.labels(cam_id)
        last_ts, last_wall = 0.0, time.time()
        while True:
            try:
                frame = cam.queue.get(timeout=0.5)
            except Closed:
                break
            if frame is None:
                continue
            depth.set(len(cam.queue))
            last_ts, last_wall = frame.ts, frame.wall
            try:
                decisions = cam.analyzer.process(frame)
            except Exception:  # a bad frame must not take the camera down
                log.exception("camera %s: analysis failed on frame %d; skipped", cam_id, frame.seq)
                self.metrics.frames_dropped.labels(cam_id, "corrupt").inc()
                continue
            events = [build_event(cam_id, "face", d, frame.wall) for d in decisions]
            self._emit(events)
            if self.cfg.snapshots.enabled:
                self._snapshot(cam_id, frame, events, [t.face for t in cam.analyzer.tracked])
            if self._on_frame is not None:
                self._on_frame(frame, cam.analyzer.tracked)
        self._emit([build_event(cam_id, "face", d, last_wall) for d in cam.analyzer.finish(last_ts)])

    def _snapshot(self, cam_id: str, frame: Frame, events: list[Event], faces: list[Face]) -> None:
        snap = self.cfg.snapshots
        for ev in events:
            if ev.type == "emotion.changed":
                try:
                    write_snapshot(Path(snap.dir), cam_id, ev.payload["id"], frame.image, faces, snap.blur)
                except OSError as exc:
                    log.warning("camera %s: %s", cam_id, exc)

    def ready(self) -> tuple[bool, dict[str, object]]:
        pub = self.publisher
        # Ask Redis when nothing was written yet: a camera that sees no face must not keep a pod unready.
        redis_ok = pub is not None and (pub.connected or pub.ping())
        sources = {cid: c.source.thread.is_alive() for cid, c in self.cameras.items()}
        sources.update({f"audio:{aid}": v.source.thread.is_alive() for aid, v in self.voices.items()})
        return redis_ok, {"redis": redis_ok, "sources": sources}

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every analysis thread ended (all sources finished) or ``timeout``; True if ended."""
        if self._idle and timeout is not None:  # a daemon polling with a timeout idles; wait() returns
            self._stop.wait(timeout)
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in [c.thread for c in self.cameras.values()] + [v.thread for v in self.voices.values()]:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
            if thread.is_alive():
                return False
        return True

    def stop(self, timeout: float = 5.0) -> dict[str, object]:
        """Stop in data-flow order and return the run's summary."""
        self._stop.set()
        for c in [*self.cameras.values(), *self.voices.values()]:
            c.source.thread.join(timeout)
            c.queue.close()
        for c in [*self.cameras.values(), *self.voices.values()]:
            c.thread.join(timeout)
        if self.publisher is not None:
            self.publisher.stop(timeout)
        if self.metrics_server is not None:
            self.metrics_server.stop()
        if self.local_redis is not None:
            self.local_redis.cleanup()
        return self.summary()

    def summary(self) -> dict[str, object]:
        pub = self.publisher
        totals = {"captured": 0.0, "analysed": 0.0, "dropped": 0.0, "faces": 0.0}
        for _cid, c in self.cameras.items():
            totals["captured"] += c.source.captured
            totals["analysed"] += c.analyzer.frames
            totals["dropped"] += c.queue.dropped
            totals["faces"] += c.analyzer.faces
        return {
            "cameras": len(self.cameras),
            "frames_captured": int(totals["captured"]),
            "frames_analysed": int(totals["analysed"]),
            "frames_dropped": int(totals["dropped"]),
            "faces": int(totals["faces"]),
            "events": sum(c.analyzer.events for c in self.cameras.values()),
            "audio_sources": len(self.voices),
            "audio_windows": sum(v.analyzer.windows for v in self.voices.values()),
            "speech_windows": sum(v.analyzer.speech_windows for v in self.voices.values()),
            "voice_events": sum(v.analyzer.events for v in self.voices.values()),
            "published": pub.published if pub else 0,
            "pending": pub.pending if pub else 0,
            "publish_dropped": pub.dropped if pub else 0,
            "seconds": round(time.monotonic() - self._started, 3) if self._started else 0.0,
        }
