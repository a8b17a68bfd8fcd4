"""Per-camera analysis of one frame: detect → classify → track → debounce, with stage timings.

A :class:`CameraAnalyzer` holds the camera's tracker and debouncer (its only state) and borrows the
shared detector and classifier. It returns debouncer decisions; turning them into events and
handing them to the sinks is the channel's job (:mod:`emostream.daemon.channel`).
"""

from __future__ import annotations

import time

from emostream.analysis.debounce import Debouncer, Decision
from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.analysis.face.detect import Detector
from emostream.analysis.face.track import Tracker
from emostream.config import Config
from emostream.metrics import Metrics
from emostream.sinks.events import TYPES
from emostream.types import Frame, Observation, TrackedFace


class CameraAnalyzer:
    """Runs the analysis stages for one camera's frames, in media-time order."""

    def __init__(
        self,
        camera: str,
        cfg: Config,
        detector: Detector,
        classifier: FaceEmotionClassifier,
        metrics: Metrics,
    ) -> None:
        self.camera = camera
        self.modality = "face"
        self.detector = detector
        self.classifier = classifier
        self.min_face = cfg.detector.min_face
        self.tracker = Tracker(cfg.tracker.iou_threshold, cfg.tracker.max_gap)
        d = cfg.debounce
        self.debouncer = Debouncer(classifier.labels, d.half_life, d.enter, d.margin, d.min_dwell)
        self.frames = 0
        self.faces = 0
        self.events = 0
        self.tracked: list[TrackedFace] = []  # the last frame's tracked faces (boxes for reports)
        m = metrics
        self._t_detect = m.stage_seconds.labels("detect")
        self._t_classify = m.stage_seconds.labels("classify")
        self._t_track = m.stage_seconds.labels("track")
        self._analysed = m.frames_analysed.labels(camera)
        self._faces = m.faces.labels(camera)
        self._active = m.tracks_active.labels(camera)
        self._metrics = m

    def process(self, frame: Frame) -> list[Decision]:
        t0 = time.perf_counter()
        faces = [f for f in self.detector.detect(frame.image) if f.width >= self.min_face]
        t1 = time.perf_counter()
        scores = self.classifier.classify(frame.image, faces)
        t2 = time.perf_counter()
        tracked, lost = self.tracker.update(
            frame.ts, [Observation(f, s) for f, s in zip(faces, scores, strict=True)]
        )
        self.tracked = tracked
        decisions: list[Decision] = []
        for tf in tracked:
            decisions.extend(self.debouncer.update(tf.track, frame.ts, tf.scores.probs))
        for tid in lost:
            d = self.debouncer.end(tid, frame.ts)
            if d is not None:
                decisions.append(d)
        t3 = time.perf_counter()
        self._t_detect.observe(t1 - t0)
        self._t_classify.observe(t2 - t1)
        self._t_track.observe(t3 - t2)
        self.frames += 1
        self.faces += len(faces)
        self._analysed.inc()
        self._faces.inc(len(faces))
        self._active.set(self.tracker.active)
        self._count(decisions)
        return decisions

    def finish(self, ts: float) -> list[Decision]:
        """The source ended: every open track is lost now."""
        decisions = [d for tid in self.tracker.flush() if (d := self.debouncer.end(tid, ts)) is not None]
        self._active.set(0)
        self._count(decisions)
        return decisions

    def _count(self, decisions: list[Decision]) -> None:
        for d in decisions:
            self._metrics.events.labels(self.camera, TYPES["face"][d.kind], d.emotion or "none").inc()
        self.events += len(decisions)
