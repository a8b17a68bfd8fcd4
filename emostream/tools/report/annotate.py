"""The report's optional annotated video: each analysed frame with its tracked faces boxed and labelled.

Frames come from the pipeline's ``on_frame`` hook (after that frame's events), so boxes and track
numbers are exactly the pipeline's. The label is the track's stable emotion so far (from the events),
else the frame's top raw score in brackets. Written with PyAV as H.264 (MPEG-4 Part 2 if the
encoder is missing), timed by media time, so a sampled analysis rate still plays at true speed.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from emostream.types import Frame, TrackedFace

_MS = Fraction(1, 1000)


def _bgr(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.lstrip("#")
    return (int(h[4:6], 16), int(h[2:4], 16), int(h[0:2], 16))


class AnnotatedVideo:
    """Call :meth:`write` per analysed frame (in media-time order), then :meth:`close`."""

    def __init__(self, path: Path, colors: dict[str, str]) -> None:
        self.path = path
        self.colors = colors
        self.frames = 0
        self._container: Any = None
        self._stream: Any = None
        self._last_pts = -1

    def _open(self, width: int, height: int) -> None:
        self._container = av.open(str(self.path), "w")
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = self._container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = _MS
        if codec == "libx264":
            stream.options = {"crf": "23", "preset": "veryfast"}
        self._stream = stream

    def write(self, frame: Frame, tracked: list[TrackedFace], emotions: dict[int, str | None]) -> None:
        h, w = frame.image.shape[:2]
        w2, h2 = w - w % 2, h - h % 2  # yuv420p needs even sizes
        if self._container is None:
            self._open(w2, h2)
        img = np.ascontiguousarray(frame.image[:h2, :w2]).copy()
        scale = max(0.4, min(1.0, w2 / 960))
        for tf in tracked:
            stable = emotions.get(tf.track)
            label = f"#{tf.track} {stable}" if stable else f"#{tf.track} ({tf.scores.top})"
            col = _bgr(self.colors.get(stable or "", "#ffffff"))
            x1, y1, x2, y2 = (round(v) for v in tf.face.box)
            cv2.rectangle(img, (x1, y1), (x2, y2), col, 2)
            (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
            top = max(0, y1 - th - base - 4)
            cv2.rectangle(img, (x1, top), (x1 + tw + 6, top + th + base + 4), col, -1)
            cv2.putText(
                img, label, (x1 + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA
            )
        pts = max(round(frame.ts * 1000), self._last_pts + 1)
        self._last_pts = pts
        vf = av.VideoFrame.from_ndarray(img, format="bgr24")
        vf.pts = pts
        vf.time_base = _MS  # the muxer may change the stream's own time base once it has started
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> Path | None:
        if self._container is None or self._stream is None:
            return None
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        return self.path
