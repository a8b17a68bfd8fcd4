"""Optional debug snapshots: the frame of an ``emotion.changed`` event, with every face blurred.

Off by default: the daemon writes no image anywhere unless ``snapshots.enabled`` is set. Even then
faces are pixelated beyond recognition (``blur: false`` must be chosen explicitly, and is logged),
so a snapshot shows the scene and the boxes, not who was in it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from emostream.types import Event, Face, Frame, TrackedFace

__all__ = ["SnapshotSink", "anonymise", "write_snapshot"]

log = logging.getLogger("emostream.snapshot")


def anonymise(image: np.ndarray, faces: Sequence[Face], blocks: int = 6) -> np.ndarray:
    """A copy of ``image`` with each face box (widened by 20 %) pixelated to ``blocks``×``blocks`` cells."""
    out = image.copy()
    h, w = out.shape[:2]
    for f in faces:
        x1, y1, x2, y2 = f.box
        mx, my = 0.2 * (x2 - x1), 0.2 * (y2 - y1)
        a, b = max(0, int(x1 - mx)), max(0, int(y1 - my))
        c, d = min(w, int(np.ceil(x2 + mx))), min(h, int(np.ceil(y2 + my)))
        if c - a < 2 or d - b < 2:
            continue
        small = cv2.resize(out[b:d, a:c], (blocks, blocks), interpolation=cv2.INTER_AREA)
        out[b:d, a:c] = cv2.resize(small, (c - a, d - b), interpolation=cv2.INTER_NEAREST)
    return out


def write_snapshot(
    directory: Path, camera: str, event_id: str, image: np.ndarray, faces: Sequence[Face], blur: bool = True
) -> Path:
    """Save ``<camera>-<event id>.jpg`` with face boxes drawn, faces pixelated unless ``blur`` is False."""
    img = anonymise(image, faces) if blur else image.copy()
    for f in faces:
        x1, y1, x2, y2 = (round(v) for v in f.box)
        cv2.rectangle(img, (x1, y1), (x2, y2), (0, 200, 255), 1)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{camera}-{event_id}.jpg"
    if not cv2.imwrite(str(path), img):
        raise OSError(f"cannot write snapshot {path}")
    return path


class SnapshotSink:
    """Writes a snapshot for every ``emotion.changed`` event of a frame (``snapshots.enabled``)."""

    def __init__(self, directory: Path, blur: bool = True) -> None:
        self.directory = directory
        self.blur = blur
        if blur:
            log.warning(
                "debug snapshots on: writing frames of emotion changes to %s, faces pixelated", directory
            )
        else:
            log.warning(
                "debug snapshots on: writing frames of emotion changes to %s, "
                "FACES NOT BLURRED (snapshots.blur: false)",
                directory,
            )

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None:
        if frame is None:
            return
        boxes = [t.face for t in faces]
        for ev in events:
            if ev.type != "emotion.changed":
                continue
            try:
                write_snapshot(self.directory, ev.camera, ev.payload["id"], frame.image, boxes, self.blur)
            except OSError as exc:  # a full disk must not stop the camera
                log.warning("camera %s: %s", ev.camera, exc)

    def close(self) -> None:
        pass
