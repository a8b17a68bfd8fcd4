"""Cameras' faces through one model call (emostream.analysis.face.batch), with the shipped face model.

Batched rows are the rows each camera would have got alone; cameras calling together share one
model call; a camera alone does not wait for anybody; a failing model call reaches every caller of
its batch; the daemon batches only when it runs several cameras.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from face_media import astronaut_frames

from emostream.analysis.face.batch import BatchingClassifier
from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.config import parse
from emostream.daemon.pipeline import Pipeline
from emostream.testing import ListSink, finite_sources, frames_of
from emostream.types import Face

FACES = [Face((60.0, 40.0, 160.0, 150.0), 0.9), Face((200.0, 30.0, 260.0, 100.0), 0.8)]


@pytest.fixture(scope="module")
def inner() -> FaceEmotionClassifier:
    return FaceEmotionClassifier()


def _images(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(n)]


def _together(batcher: BatchingClassifier, images: list[np.ndarray], faces: list[list[Face]]) -> list:
    """Every image classified from its own thread, all released at once."""
    out: list = [None] * len(images)
    gate = threading.Barrier(len(images))

    def call(i: int) -> None:
        gate.wait()
        out[i] = batcher.classify(images[i], faces[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_cameras_calling_together_share_one_run_with_their_own_rows(inner: FaceEmotionClassifier) -> None:
    images = _images(4)
    faces = [FACES, FACES[:1], FACES, FACES[1:]]
    alone = [inner.classify(img, f) for img, f in zip(images, faces, strict=True)]
    batcher = BatchingClassifier(inner, max_wait=5.0)
    for img, f in zip(images, faces, strict=True):  # each camera asks once: four active cameras
        batcher.classify(img, f)
    runs = batcher.runs
    together = _together(batcher, images, faces)
    assert batcher.runs == runs + 1  # the four calls went through one model call
    assert batcher.faces == 2 * sum(len(f) for f in faces)
    for mine, ref in zip(together, alone, strict=True):
        assert len(mine) == len(ref)
        for a, b in zip(mine, ref, strict=True):
            assert a.labels == b.labels
            np.testing.assert_allclose(a.probs, b.probs, atol=1e-5)


def test_a_camera_alone_does_not_wait(inner: FaceEmotionClassifier) -> None:
    batcher = BatchingClassifier(inner, max_wait=30.0)  # waiting would be obvious
    t0 = time.monotonic()
    for img in _images(3):
        assert len(batcher.classify(img, FACES)) == 2
    assert time.monotonic() - t0 < 10.0
    assert batcher.runs == batcher.calls == 3
    assert batcher.classify(_images(1)[0], []) == [] and batcher.calls == 3  # no faces, no call


def test_a_failing_run_reaches_every_caller(inner: FaceEmotionClassifier, monkeypatch) -> None:
    batcher = BatchingClassifier(inner, max_wait=5.0)
    images = _images(3)
    for img in images:
        batcher.classify(img, FACES)

    def broken(batch: np.ndarray) -> np.ndarray:
        raise RuntimeError("model call failed")

    monkeypatch.setattr(inner, "predict", broken)
    errors: list[BaseException] = []
    gate = threading.Barrier(3)

    def call(img: np.ndarray) -> None:
        gate.wait()
        try:
            batcher.classify(img, FACES)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(img,)) for img in images]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    assert len(errors) == 3 and all(str(e) == "model call failed" for e in errors)


def test_the_daemon_batches_only_several_cameras() -> None:
    frames = astronaut_frames(10)
    for ids, wait, batched in ((["a"], 4.0, False), (["a", "b"], 4.0, True), (["a", "b"], 0.0, False)):
        cfg = parse(
            {
                "cameras": [{"id": i, "url": f"{i}.mp4", "fps": 0} for i in ids],
                "classifier": {"batch_wait_ms": wait, "classify_every_frame": True},
                "metrics": {"enabled": False},
            },
            env={},
        )
        sink = ListSink()
        sources = finite_sources({i: frames_of(i, frames, fps=10) for i in ids})
        pipe = Pipeline(cfg, sinks=[sink], sources=sources)
        pipe.start()
        assert pipe.wait(60)
        pipe.stop()
        assert (pipe.batcher is not None) == batched
        classified = sum(c.analyzer.classified for c in pipe.cameras.values())
        assert classified == 9 * len(ids)  # strict: every confirmed frame of every camera
        if pipe.batcher is not None:
            assert pipe.batcher.faces == classified and pipe.batcher.runs <= pipe.batcher.calls
        assert {e.camera for e in sink.events} == set(ids)
