"""Per-camera analysis of one frame: detect → track → classify (per track) → debounce, with timings.

Tracks are classified, not frames: a confirmed track is scored on its first frame and then every
``classifier.track_interval`` seconds of media time (``classify_every_frame`` scores every face of
every frame), and the debouncer smooths what it is given over media time.

Detection searches the whole frame every ``detector.scan_interval`` s of media time and, between,
only windows around the live tracks (the tracker's last boxes), when the detector can.

A :class:`CameraAnalyzer` holds the camera's tracker and debouncer (its only state) and borrows the
shared detector and classifier. It returns debouncer decisions, each with the face's box as a
fraction of the frame; turning them into events and handing them to the sinks is the channel's job
(:mod:`emostream.daemon.channel`).

A camera with an audio source tied to it also gets a :class:`~emostream.analysis.speaker.board.
SpeakerBoard` and the face-mesh landmarker: every track's mouth opening is measured at most
``mouth_rate`` times a second of media time and left on the board with its face scores, for the
voice analysis to attribute speech. Other cameras load no landmark model and pay nothing.
"""

from __future__ import annotations

import dataclasses
import time

from emostream.analysis.debounce import Debouncer, Decision
from emostream.analysis.face.classify import EmotionClassifier
from emostream.analysis.face.detect import Detector
from emostream.analysis.face.landmarks import FaceLandmarker
from emostream.analysis.face.track import Tracker
from emostream.analysis.face.yunet import smallest_face
from emostream.analysis.speaker.board import SpeakerBoard
from emostream.config import Config
from emostream.metrics import Metrics
from emostream.sinks.events import TYPES
from emostream.types import Face, Frame, Scores, TrackedFace


class CameraAnalyzer:
    """Runs the analysis stages for one camera's frames, in media-time order."""

    def __init__(
        self,
        camera: str,
        cfg: Config,
        detector: Detector,
        classifier: EmotionClassifier,
        metrics: Metrics,
        board: SpeakerBoard | None = None,
        landmarker: FaceLandmarker | None = None,
    ) -> None:
        self.camera = camera
        self.modality = "face"
        self.detector = detector
        self.classifier = classifier
        self.min_face = cfg.detector.min_face
        # Between two searches of the whole frame, a detector that can look near known faces follows
        # the live tracks there: windows around them cost about half the whole frame's search.
        # Cameras whose speech is attributed use them too: the windows' slightly different boxes move
        # the mouth crops and raised chance synchrony on the calibration clips, so speaker.min_sync
        # is calibrated with the windows on (export/measure_speaker.py).
        near = cfg.detector.scan_interval > 0
        self._near = getattr(detector, "detect_near", None) if near else None
        self.scan_interval = cfg.detector.scan_interval
        self._scanned = -float("inf")  # media time of the last search of the whole frame
        self._missed = False  # a face of the last frame was not found near its box
        self.scans = 0
        t = cfg.tracker
        self.tracker = Tracker(t.iou_threshold, t.max_gap, t.confirm_hits, t.confirm_frames)
        c = cfg.classifier
        self.every_frame = c.classify_every_frame
        self.interval = c.track_interval
        d = cfg.debounce
        self.debouncer = Debouncer(classifier.labels, d.half_life, d.enter, d.margin, d.min_dwell)
        self._last: dict[int, tuple[float, Scores]] = {}  # per track: when it was classified, and what
        self._boxes: dict[int, tuple[float, float, float, float]] = {}  # per track: last box, normalised
        self.board, self.landmarker = board, landmarker
        self._mouth_step = 1.0 / cfg.speaker.mouth_rate
        self._mouth_min = cfg.speaker.min_face
        self._mouth_last: dict[int, float] = {}
        self.frames = 0
        self.faces = 0
        self.classified = 0
        self.events = 0
        self.tracked: list[TrackedFace] = []  # the last frame's tracked faces (boxes for reports)
        self.found: list[Face] = []  # the last frame's detections (≥ the smallest face wanted)
        m = metrics
        self._t_detect = m.stage_seconds.labels("detect")
        self._t_classify = m.stage_seconds.labels("classify")
        self._t_track = m.stage_seconds.labels("track")
        self._t_mouth = m.stage_seconds.labels("landmarks")
        self._analysed = m.frames_analysed.labels(camera)
        self._faces = m.faces.labels(camera)
        self._whole, self._near_searches = (
            m.searches.labels(camera, "whole"),
            m.searches.labels(camera, "near"),
        )
        self._classified = m.faces_classified.labels(camera)
        self._active = m.tracks_active.labels(camera)
        self._metrics = m

    def _due(self, track: int, ts: float) -> bool:
        """Classify a track on its first confirmed frame, then every ``interval`` s of media time."""
        last = self._last.get(track)
        return self.every_frame or last is None or ts - last[0] >= self.interval - 1e-6

    def process(self, frame: Frame) -> list[Decision]:
        t0 = time.perf_counter()
        smallest = smallest_face(self.min_face, frame.image.shape[0])
        faces = self.found = [f for f in self._detect(frame) if f.width >= smallest]
        t1 = time.perf_counter()
        seen, lost = self.tracker.update(frame.ts, faces)
        t2 = time.perf_counter()
        due = [(tid, face) for tid, face in seen if self._due(tid, frame.ts)]
        scores = self.classifier.classify(frame.image, [face for _, face in due])
        decisions: list[Decision] = []
        # Only fresh probabilities reach the debouncer: its smoothing is by media time, so a track
        # scored 2.5 times a second is smoothed as it would be every frame, at a fraction of the cost.
        for (tid, _face), sc in zip(due, scores, strict=True):
            self._last[tid] = (frame.ts, sc)
            decisions.extend(self.debouncer.update(tid, frame.ts, sc.probs))
        t3 = time.perf_counter()
        h, w = frame.image.shape[:2]
        for tid, face in seen:
            x1, y1, x2, y2 = face.box
            self._boxes[tid] = tuple(  # type: ignore[assignment]
                round(min(max(v, 0.0), 1.0), 4) for v in (x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)
            )
        if self.board is not None:
            self._mouths(frame, seen, due, scores)
        self.tracked = [TrackedFace(tid, face, self._last[tid][1]) for tid, face in seen]
        for tid in lost:
            self._last.pop(tid, None)
            self._mouth_last.pop(tid, None)
            d = self.debouncer.end(tid, frame.ts)
            if d is not None:
                decisions.append(d)
        decisions = [self._with_box(d) for d in decisions]
        for tid in lost:
            self._boxes.pop(tid, None)
        t4 = time.perf_counter()
        self._t_detect.observe(t1 - t0)
        self._t_classify.observe(t3 - t2)
        self._t_track.observe((t2 - t1) + (t4 - t3))
        self.frames += 1
        self.faces += len(faces)
        self.classified += len(due)
        self._analysed.inc()
        self._faces.inc(len(faces))
        self._classified.inc(len(due))
        self._active.set(self.tracker.active)
        self._count(decisions)
        return decisions

    def _detect(self, frame: Frame) -> list[Face]:
        """The whole frame every ``scan_interval`` s of media time (and whenever time goes back: a
        looped file), else only around the live tracks (nothing to do when there are none)."""
        ts = frame.ts
        due = not self._scanned <= ts < self._scanned + self.scan_interval - 1e-6
        if self._near is None or due or self._missed:
            self._scanned, self._missed = ts, False
            self.scans += 1
            self._whole.inc()
            return self.detector.detect(frame.image)
        self._near_searches.inc()
        boxes = self.tracker.boxes()
        faces = self._near(frame.image, boxes) if boxes else []
        # A face seen on the last frame and not found near its box now has left its window (or the
        # picture): the next frame is searched whole instead of up to scan_interval later, by when a
        # walking face is too far from its track to continue it and would come back as a new one.
        self._missed = len(faces) < self.tracker.seen_last()
        return faces

    def box_of(self, track: int) -> tuple[float, float, float, float] | None:
        """The track's last box as [x, y, w, h] fractions of the frame (None once it is lost)."""
        return self._boxes.get(track)

    def _with_box(self, d: Decision) -> Decision:
        box = self._boxes.get(d.key)
        return dataclasses.replace(d, extra={"box": list(box)}) if box is not None else d

    def _mouths(self, frame: Frame, seen: list, due: list, scores: list[Scores]) -> None:
        """Mouth openings (at most ``mouth_rate`` per second per track) and face scores to the board."""
        assert self.board is not None and self.landmarker is not None
        t0 = time.perf_counter()
        for tid, face in seen:
            if face.width < self._mouth_min:
                continue  # too small to read lips: never a speaker candidate (and no mesh to pay for)
            if frame.ts - self._mouth_last.get(tid, -1e9) < self._mouth_step - 1e-6:
                continue
            self._mouth_last[tid] = frame.ts
            opening, presence = self.landmarker.mouth(frame.image, face.box)
            if presence >= 0.5:  # the mesh on a non-face (a false detection) says nothing
                self.board.add_mouth(tid, frame.ts, opening)
        for (tid, _face), sc in zip(due, scores, strict=True):
            self.board.add_face(tid, frame.ts, sc.probs, self._boxes[tid])
        self.board.advance(frame.ts)
        self._t_mouth.observe(time.perf_counter() - t0)

    def finish(self, ts: float) -> list[Decision]:
        """The source ended: every open track is lost now."""
        decisions = [d for tid in self.tracker.flush() if (d := self.debouncer.end(tid, ts)) is not None]
        decisions = [self._with_box(d) for d in decisions]
        self._boxes.clear()
        if self.board is not None:
            self.board.close()
        self._last.clear()
        self._active.set(0)
        self._count(decisions)
        return decisions

    def _count(self, decisions: list[Decision]) -> None:
        for d in decisions:
            self._metrics.events.labels(self.camera, TYPES["face"][d.kind], d.emotion or "none").inc()
        self.events += len(decisions)
