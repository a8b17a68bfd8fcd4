"""The daemon's wiring: a channel per camera and per audio source, the sinks, start, stop and join.

One capture thread and one analysis thread per camera and per audio source
(:class:`~emostream.daemon.channel.Channel`); the detector, classifier and speech-model sessions are
shared (onnxruntime sessions are safe to run from several threads). Every channel's events go to
the same sinks: the Redis publisher, snapshots when enabled, and any the caller adds (a report, a
test's list). Shutdown goes in data-flow order: sources stop and close their queues, analysis
drains what was queued and ends every track, the sinks write what is left, then the metrics server
and the private Redis go.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from emostream.analysis.face.analyzer import CameraAnalyzer
from emostream.analysis.face.batch import BatchingClassifier
from emostream.analysis.face.classify import EmotionClassifier, FaceEmotionClassifier
from emostream.analysis.face.detect import Detector, build_detector
from emostream.analysis.speaker.board import SpeakerBoard
from emostream.config import AudioSourceConfig, CameraConfig, Config
from emostream.daemon import shard
from emostream.daemon.channel import Channel
from emostream.daemon.health import MetricsServer, serve_metrics
from emostream.daemon.localredis import LocalRedis
from emostream.errors import ConfigError
from emostream.metrics import Metrics
from emostream.redact import redact
from emostream.sinks import Sink
from emostream.sinks.redis import Publisher
from emostream.sinks.snapshot import SnapshotSink
from emostream.sinks.spool import open_spool
from emostream.sources import SourceFactory, offline, open_source, queue_policy
from emostream.sources.queues import BoundedQueue

if TYPE_CHECKING:  # the voice path (librosa) is imported only when audio sources are configured
    from emostream.analysis.face.landmarks import FaceLandmarker
    from emostream.analysis.voice.analyzer import VoiceAnalyzer
    from emostream.analysis.voice.speech import SpeechClassifier

__all__ = ["Pipeline"]

log = logging.getLogger("emostream.pipeline")


class Pipeline:
    """A running daemon: :meth:`start`, then :meth:`wait` for files to end or :meth:`stop` it.

    ``models`` shares already loaded (detector, classifier) between pipelines; ``sinks`` receive every
    event besides Redis; ``sources`` builds each camera's or audio source's reader (the real ones by
    default, :mod:`emostream.testing` has finite in-memory ones).
    """

    def __init__(
        self,
        cfg: Config,
        models: tuple[Detector, FaceEmotionClassifier] | None = None,
        sinks: Sequence[Sink] = (),
        sources: SourceFactory = open_source,
    ) -> None:
        self.cfg = cfg
        self.metrics = Metrics()
        self._extra_sinks = list(sinks)
        self._open_source = sources
        self._stop = threading.Event()
        self._started = 0.0
        self._idle = False
        self.local_redis: LocalRedis | None = None
        self.metrics_server: MetricsServer | None = None
        # OpenCV's own thread pool only competes with the per-camera threads for the same cores.
        cv2.setNumThreads(cfg.threads)
        if models is None:
            d = cfg.detector
            pv = cfg.runtime.providers
            models = (
                build_detector(
                    d.kind, d.model, d.score_threshold, threads=cfg.threads, min_face=d.min_face, providers=pv
                ),
                FaceEmotionClassifier(cfg.classifier.model, threads=cfg.threads, providers=pv),
            )
        self.detector, self.classifier = models
        self.batcher: BatchingClassifier | None = None  # several cameras: their faces batched (start)
        self.cameras: dict[str, Channel[CameraAnalyzer]] = {}
        self.voices: dict[str, Channel[VoiceAnalyzer]] = {}
        self.publisher: Publisher | None = None
        self.sinks: list[Sink] = []
        self.speech: SpeechClassifier | None = None  # loaded by start() only when audio is configured
        self.boards: dict[str, SpeakerBoard] = {}  # cameras whose audio is attributed to their tracks
        self.landmarker: FaceLandmarker | None = None

    @property
    def redis_url(self) -> str:
        if self.cfg.redis.url:
            return self.cfg.redis.url
        if self.local_redis is None:
            raise RuntimeError("pipeline not started")
        return self.local_redis.url

    def _selected(self) -> tuple[list[CameraConfig], list[AudioSourceConfig]]:
        """This shard's cameras, and the audio sources that belong to them (or hash to this shard)."""
        enabled = [c for c in self.cfg.cameras if c.enabled]
        index, count = shard.resolve(self.cfg.shard)
        cams = shard.select(enabled, index, count)
        ids = {c.id for c in cams}
        audio = [
            a
            for a in self.cfg.audio
            if a.enabled and (a.camera in ids if a.camera else bool(shard.select([a], index, count)))
        ]
        self._idle = count > 1 and not cams and not audio  # an empty shard waits for a signal
        if count > 1:
            log.info("shard %d of %d: %d of %d cameras", index, count, len(cams), len(enabled))
        return cams, audio

    def start(self) -> None:
        cams, audio = self._selected()
        if audio and self.speech is None:
            from emostream.analysis.voice.speech import SpeechClassifier  # librosa: ~1.5 s to import

            self.speech = SpeechClassifier(
                self.cfg.voice.model, threads=self.cfg.threads, providers=self.cfg.runtime.providers
            )
        if not self.cfg.redis.url:
            self.local_redis = LocalRedis().start()
            log.info("no redis.url configured: started a private Redis at %s", self.local_redis.url)
        self.publisher = Publisher(
            self.redis_url, self.cfg.redis, self.metrics, spool=open_spool(self.cfg.redis, cams)
        )
        self.publisher.start()
        snap = self.cfg.snapshots
        self.sinks = [self.publisher, *([SnapshotSink(Path(snap.dir), snap.blur)] if snap.enabled else [])]
        if self.cfg.mqtt.url:
            try:
                from emostream.sinks.mqtt import MqttSink  # paho only where MQTT is configured
            except ImportError:
                raise ConfigError("mqtt.url: needs paho-mqtt: pip install 'emostream[mqtt]'") from None

            ids = [c.id for c in cams] + [a.camera or a.id for a in audio]
            mqtt_sink = MqttSink(self.cfg.mqtt, ids, self.metrics)
            mqtt_sink.start()
            log.info("events also to MQTT %s under %s/", mqtt_sink.url, self.cfg.mqtt.topic_prefix)
            self.sinks.append(mqtt_sink)
        self.sinks += self._extra_sinks
        self.metrics.init_camera_series(c.id for c in cams)
        self.metrics.init_audio_series(a.id for a in audio)
        if self.cfg.metrics.enabled:
            self.metrics_server = serve_metrics(self.metrics, self.cfg.metrics, self.ready)
        self._started = time.monotonic()
        self._speaker_boards(cams, audio)
        c = self.cfg.classifier
        if len(cams) > 1 and c.batch_wait_ms > 0:
            self.batcher = BatchingClassifier(self.classifier, c.batch_wait_ms / 1000, c.max_batch)
        for cam in cams:
            self.cameras[cam.id] = self._camera(cam)
        for a in audio:
            self.voices[a.id] = self._voice(a)
        # What exists now (modules, models, configuration) lives as long as the daemon: out of the
        # collector's generations, a full collection no longer walks its ~150,000 objects (120 ms
        # holding the GIL on one core, a pause every camera and microphone waited through).
        gc.freeze()
        for channel in [*self.cameras.values(), *self.voices.values()]:
            channel.start()

    def _speaker_boards(self, cams: list[CameraConfig], audio: list[AudioSourceConfig]) -> None:
        """A board (and the one landmark model) only for cameras an audio source is tied to."""
        self.boards: dict[str, SpeakerBoard] = {}
        if not self.cfg.speaker.enabled:
            return
        named = {a.camera for a in audio}
        tied = {c.id: c for c in cams if c.id in named}
        if tied:
            from emostream.analysis.face.landmarks import FaceLandmarker

            self.landmarker = FaceLandmarker(threads=self.cfg.threads, providers=self.cfg.runtime.providers)
            self.boards = {cid: SpeakerBoard(cid, follow_voice=offline(c)) for cid, c in sorted(tied.items())}

    def _queue(self, spec: CameraConfig | AudioSourceConfig, dropped: Any) -> BoundedQueue[Any]:
        return BoundedQueue(spec.queue_size, queue_policy(spec), on_drop=lambda _item: dropped.inc())

    def _camera(self, cam: CameraConfig) -> Channel[CameraAnalyzer]:
        m = self.metrics
        queue = self._queue(cam, m.frames_dropped.labels(cam.id, "queue_full"))
        board = self.boards.get(cam.id)
        rate = self.cfg.speaker.mouth_rate
        if board is not None:
            # lip movement needs ~10 evenly spaced samples a second: a camera whose speech is attributed
            # is analysed at least that often, and decodes every frame (skipping B-frames left uneven
            # gaps that cost 3 of 4 segments on the side-by-side clip)
            update: dict[str, object] = {"skip_nonref": False} if cam.skip_nonref is None else {}
            if 0 < cam.fps < rate:
                log.info("camera %s: analysed at %g fps (speaker.mouth_rate) for its audio", cam.id, rate)
                update["fps"] = rate
            cam = cam.model_copy(update=update)
        source = self._open_source(cam, queue, m, self._stop)
        lm = self.landmarker if board is not None else None
        classifier: EmotionClassifier = self.batcher or self.classifier
        analyzer = CameraAnalyzer(cam.id, self.cfg, self.detector, classifier, m, board, lm)
        log.info(
            "camera %s: %s source %s at %s fps", cam.id, source.kind, redact(cam.url), cam.fps or "every"
        )
        return Channel(
            f"camera {cam.id}",
            source,
            queue,
            analyzer,
            self.sinks,
            on_error=m.frames_dropped.labels(cam.id, "corrupt").inc,
            on_item=m.queue_depth.labels(cam.id).set,
        )

    def _voice(self, src: AudioSourceConfig) -> Channel[VoiceAnalyzer]:
        from emostream.analysis.speaker.link import SpeakerLink
        from emostream.analysis.voice.analyzer import VoiceAnalyzer
        from emostream.analysis.voice.features import SAMPLE_RATE

        assert self.speech is not None
        m = self.metrics
        queue = self._queue(src, m.audio_chunks_dropped.labels(src.id, "queue_full"))
        source = self._open_source(src, queue, m, self._stop)
        board = self.boards.get(src.camera or "")
        link = SpeakerLink(board, self.cfg, SAMPLE_RATE) if board is not None else None
        analyzer = VoiceAnalyzer(src, self.cfg, self.speech, m, link=link)
        log.info("audio %s: %s %s → camera %s", src.id, source.kind, redact(src.url), src.camera or src.id)
        return Channel(f"audio {src.id}", source, queue, analyzer, self.sinks)

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
        for channel in [*self.cameras.values(), *self.voices.values()]:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            channel.thread.join(left)
            if channel.thread.is_alive():
                return False
        return True

    def stop(self, timeout: float = 5.0) -> dict[str, object]:
        """Stop in data-flow order and return the run's summary."""
        self._stop.set()
        channels = [*self.cameras.values(), *self.voices.values()]
        for c in channels:
            c.source.thread.join(timeout)
            c.queue.close()
        for c in channels:
            c.thread.join(timeout)
        if self.publisher is not None:
            self.publisher.stop(timeout)
        for sink in self.sinks:
            if sink is not self.publisher:
                sink.close()
        if self.metrics_server is not None:
            self.metrics_server.stop()
        if self.local_redis is not None:
            self.local_redis.cleanup()
        return self.summary()

    def summary(self) -> dict[str, object]:
        pub = self.publisher
        cams = list(self.cameras.values())
        voices = [v.analyzer for v in self.voices.values()]
        return {
            "cameras": len(cams),
            "frames_captured": sum(c.source.captured for c in cams),
            "frames_analysed": sum(c.analyzer.frames for c in cams),
            "frames_dropped": sum(c.queue.dropped for c in cams),
            "faces": sum(c.analyzer.faces for c in cams),
            "events": sum(c.analyzer.events for c in cams),
            "audio_sources": len(voices),
            "audio_windows": sum(v.windows for v in voices),
            "speech_windows": sum(v.speech_windows for v in voices),
            "voice_events": sum(v.events for v in voices),
            "published": pub.published if pub else 0,
            "pending": pub.pending if pub else 0,
            "publish_dropped": pub.dropped if pub else 0,
            "seconds": round(time.monotonic() - self._started, 3) if self._started else 0.0,
        }
