"""Faces of several cameras through one classifier call: :class:`BatchingClassifier`.

Every camera has its own analysis thread, and each calls :meth:`BatchingClassifier.classify` with
the faces of one frame that are due. The crops are prepared in the caller's thread; then the first
caller to arrive while no batch is being gathered *leads*: it waits, at most ``max_wait`` seconds,
for the other active cameras (those that asked within the last ``ACTIVE`` seconds) to add their
crops, or until ``max_batch`` faces are pending, runs the model once on all of them and hands every
caller its own rows. A camera alone never waits: with one active caller the leader runs at once.

On a CPU the network's cost per face barely depends on the batch (it is compute-bound already at
one face), so what a batch saves there is the per-call overhead; on a GPU one call for many faces
is what makes the device pay off (README: Performance, GPUs).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.types import Face, Scores

__all__ = ["ACTIVE", "BatchingClassifier"]

ACTIVE = 1.0  # seconds since its last call for a camera to count as one worth waiting for


@dataclass
class _Request:
    crops: np.ndarray
    done: threading.Event = field(default_factory=threading.Event)
    probs: np.ndarray | None = None
    error: BaseException | None = None


class BatchingClassifier:
    """A :class:`FaceEmotionClassifier` shared by cameras, batching their faces (see the module doc).

    Counters for the bench: ``calls`` (classify calls with faces), ``runs`` (model calls) and
    ``faces``; ``faces / runs`` is the mean batch.
    """

    def __init__(self, inner: FaceEmotionClassifier, max_wait: float = 0.004, max_batch: int = 32) -> None:
        self.inner = inner
        self.labels = inner.labels
        self.max_wait = max_wait
        self.max_batch = max_batch
        self._cv = threading.Condition()
        self._pending: list[_Request] = []
        self._gathering = False
        self._last_call: dict[int, float] = {}  # caller thread → when it last asked
        self.calls = self.runs = self.faces = 0

    def classify(self, image: np.ndarray, faces: Sequence[Face]) -> list[Scores]:
        if not faces:
            return []
        req = _Request(self.inner.prepare(image, faces))
        now = time.monotonic()
        with self._cv:
            self._last_call[threading.get_ident()] = now
            self._pending.append(req)
            self.calls += 1
            lead = not self._gathering
            self._gathering = True
            self._cv.notify_all()  # a gathering leader counts the new arrival
        if lead:
            self._lead(now)
        req.done.wait()
        if req.error is not None:
            raise req.error
        assert req.probs is not None
        return [Scores(labels=self.labels, probs=tuple(float(p) for p in row)) for row in req.probs]

    def _lead(self, t0: float) -> None:
        deadline = t0 + self.max_wait
        with self._cv:
            while True:
                active = sum(1 for t in self._last_call.values() if t0 - t < ACTIVE)
                queued = sum(len(r.crops) for r in self._pending)
                left = deadline - time.monotonic()
                if len(self._pending) >= active or queued >= self.max_batch or left <= 0:
                    break
                self._cv.wait(left)
            taken, self._pending = self._pending, []
            self._gathering = False  # the next caller gathers the next batch while this one runs
        try:
            probs = self.inner.predict(np.concatenate([r.crops for r in taken]))
        except BaseException as exc:  # every caller of the batch gets the error, none hangs
            for r in taken:
                r.error = exc
                r.done.set()
            return
        with self._cv:
            self.runs += 1
            self.faces += len(probs)
        i = 0
        for r in taken:
            r.probs = probs[i : i + len(r.crops)]
            i += len(r.crops)
            r.done.set()
