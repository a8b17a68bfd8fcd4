"""Tracking and debouncing: pure logic on synthetic sequences, then the measured figure on real clips."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from emostream.analysis.debounce import Debouncer
from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.analysis.face.detect import build_detector
from emostream.analysis.face.track import Tracker
from emostream.analysis.geometry import iou
from emostream.types import FACE_EMOTIONS, Face

LABELS = ("a", "b", "c")


def _obs(x: float, y: float, w: float = 40.0) -> Face:
    return Face((x, y, x + w, y + w), 0.9)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


def test_tracker_keeps_ids_and_expires_after_gap() -> None:
    tr = Tracker(iou_threshold=0.3, max_gap=1.0, confirm_hits=1)
    out, lost = tr.update(0.0, [_obs(10, 10), _obs(200, 10)])
    assert [t for t, _ in out] == [1, 2] and lost == []
    # Both move a little, and come in the other order: ids follow the boxes, not the order.
    out, _ = tr.update(0.2, [_obs(205, 12), _obs(14, 11)])
    assert [t for t, _ in out] == [2, 1]
    # A fast move with no overlap but within one face width still continues the track.
    out, _ = tr.update(0.4, [_obs(240, 12)])
    assert [t for t, _ in out] == [2]
    # Track 1 unseen since 0.2: lost once the gap exceeds 1.0 s of media time.
    _, lost = tr.update(1.1, [_obs(242, 12)])
    assert lost == []
    _, lost = tr.update(1.3, [_obs(244, 12)])
    assert lost == [1]
    out, _ = tr.update(1.4, [_obs(10, 10)])
    assert [t for t, _ in out] == [3]
    assert tr.flush() == [2, 3] and tr.active == 0


def test_tracker_confirms_n_hits_in_m_frames_and_drops_blips_unseen() -> None:
    tr = Tracker(iou_threshold=0.3, max_gap=1.0, confirm_hits=2, confirm_frames=3)
    out, _ = tr.update(0.0, [_obs(10, 10), _obs(300, 10)])  # a real face and a one-frame blip
    assert out == [] and tr.active == 0  # nothing is a track yet
    out, _ = tr.update(0.2, [_obs(12, 10)])
    assert [t for t, _ in out] == [1] and tr.active == 1  # two hits: confirmed, numbered 1
    out, lost = tr.update(0.4, [_obs(14, 10)])
    assert [t for t, _ in out] == [1] and lost == [] and tr.dropped == 1  # the blip missed its window
    # A face seen on frames 1 and 3 of its first three still confirms (a one-frame miss is tolerated).
    tr.update(0.6, [_obs(14, 10), _obs(300, 100)])
    tr.update(0.8, [_obs(14, 10)])
    out, _ = tr.update(1.0, [_obs(14, 10), _obs(302, 100)])
    assert [t for t, _ in out] == [1, 2]
    # Lost tentative tracks are never reported lost; ids of confirmed ones are.
    _, lost = tr.update(3.0, [_obs(500, 200)])
    assert lost == [1, 2] and tr.flush() == []


def _feed(d: Debouncer, seq: list[tuple[float, tuple[float, ...]]]) -> list:
    out = []
    for ts, p in seq:
        out.extend(d.update(7, ts, p))
    return out


def test_debounce_needs_dwell_and_hysteresis() -> None:
    d = Debouncer(LABELS, half_life=0.2, enter=0.5, margin=0.1, min_dwell=0.5)
    seq = [(i * 0.1, (0.9, 0.05, 0.05)) for i in range(10)]
    ev = _feed(d, seq)
    assert [e.kind for e in ev] == ["appeared", "changed"]
    assert ev[1].emotion == "a" and ev[1].previous is None and abs(ev[1].ts - 0.5) < 1e-9
    # A single-frame blip of "b" changes nothing.
    ev = _feed(d, [(1.0, (0.0, 1.0, 0.0)), (1.1, (0.9, 0.05, 0.05)), (1.2, (0.9, 0.05, 0.05))])
    assert ev == []
    # A near tie never flips (margin), however long it lasts.
    ev = _feed(d, [(1.3 + i * 0.1, (0.47, 0.53, 0.0)) for i in range(30)])
    assert ev == []
    # A clear, lasting change is emitted once, after min_dwell.
    ev = _feed(d, [(4.3 + i * 0.1, (0.05, 0.9, 0.05)) for i in range(20)])
    assert [(e.kind, e.emotion, e.previous) for e in ev] == [("changed", "b", "a")]
    lost = d.end(7)
    assert lost is not None and lost.kind == "lost" and lost.emotion == "b"
    assert lost.dwell == pytest.approx(6.2)
    assert sum(lost.shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert lost.shares["a"] > lost.shares["c"] == 0.0


def test_debounce_is_deterministic_and_ignores_bad_input() -> None:
    rng = np.random.default_rng(0)
    seq = [(i / 12.5, tuple(rng.dirichlet(np.ones(3) * 0.3))) for i in range(300)]
    runs = [_feed(Debouncer(LABELS, half_life=0.3, min_dwell=0.4), seq) for _ in range(2)]
    assert runs[0] == runs[1]
    d = Debouncer(LABELS)
    assert d.update(1, 0.0, (np.nan, 0.5, 0.5)) == []
    assert d.update(1, 0.0, (0.5, 0.5)) == []
    assert [e.kind for e in d.update(1, 1.0, (0.2, 0.3, 0.5))] == ["appeared"]
    assert d.update(1, 0.5, (1.0, 0.0, 0.0)) == []  # time going backwards is ignored


@pytest.mark.shared
def test_change_events_far_fewer_than_frame_level_flips(media: list[Path]) -> None:
    """On the real clips, debounced changes are a small fraction of raw per-frame top-class flips."""
    detector = build_detector()
    clf = FaceEmotionClassifier()
    flips = changes = first = 0
    for clip in media:
        tracker, deb = Tracker(), Debouncer(FACE_EMOTIONS)
        last_top: dict[int, str] = {}
        with av.open(str(clip)) as c:
            for f in c.decode(video=0):
                img = f.to_ndarray(format="bgr24")
                faces = detector.detect(img)
                tracked, _ = tracker.update(float(f.time), faces)
                scores = clf.classify(img, [face for _, face in tracked])
                for (track, _face), sc in zip(tracked, scores, strict=True):
                    top = sc.top
                    flips += track in last_top and last_top[track] != top
                    last_top[track] = top
                    for e in deb.update(track, float(f.time), sc.probs):
                        changes += e.kind == "changed" and e.previous is not None
                        first += e.kind == "changed" and e.previous is None
    print(f"frame-level top-class flips={flips}; debounced: first emotions={first}, changes={changes}")
    assert flips >= 20, "the clips should show raw classifier jitter"
    assert first >= 1, "debouncing must still report emotions, not suppress everything"
    # A track's first emotion is news, not jitter: it is the changes after it that must be few.
    # (FER+ default, 2026-12-01: 49 flips, 12 first emotions, 0 changes.)
    assert changes * 5 <= flips and first <= len(media) * 4
