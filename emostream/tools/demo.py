"""``emostream demo``: the daemon on its embedded defaults, printing each event as it is published.

Input, in order of preference: ``--source`` URIs; the webcam, when one opens; the real clips of the
shared data folder; else a short clip synthesised once from scikit-image's public-domain
``astronaut`` photograph (NASA), panned and zoomed so that the face moves.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from emostream.daemon.pipeline import Pipeline
from emostream.daemon.run import build_config, run
from emostream.runtime import shared_dir
from emostream.types import Event, Frame, TrackedFace

log = logging.getLogger("emostream.demo")


def _astronaut() -> np.ndarray:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the demo needs scikit-image for its synthesised clip: pip install scikit-image")
    png = Path(next(iter(spec.submodule_search_locations))) / "data" / "astronaut.png"
    img = cv2.imread(str(png), cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError(f"cannot read {png}")
    return img


def synth_clip(path: Path, seconds: float = 8.0, fps: int = 10) -> Path:
    """Write a 480×270 clip that pans and zooms over the astronaut photograph."""
    import av

    src = _astronaut()
    h, w = src.shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 480, 270, "yuv420p"
        stream.bit_rate = 2_000_000
        n = int(seconds * fps)
        for i in range(n):
            phase = i / max(1, n - 1)
            zoom = 1.0 + 0.5 * np.sin(np.pi * phase)
            cw, ch = int(w / zoom), int(w / zoom * 270 / 480)
            cx = int(w / 2 + 60 * np.sin(2 * np.pi * phase))
            x0 = int(np.clip(cx - cw // 2, 0, w - cw))
            y0 = int(np.clip(h * 0.05, 0, h - ch))
            crop = cv2.resize(src[y0 : y0 + ch, x0 : x0 + cw], (480, 270), interpolation=cv2.INTER_AREA)
            for packet in stream.encode(av.VideoFrame.from_ndarray(crop, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _webcam_available() -> bool:
    if not any(Path("/dev").glob("video*")):
        return False
    cap = cv2.VideoCapture(0)
    try:
        return bool(cap.isOpened() and cap.read()[0])
    finally:
        cap.release()


def demo_sources() -> tuple[list[str], bool]:
    """(URIs, whether they are files to loop at real-time pace)."""
    if _webcam_available():
        return ["0"], False
    shared = shared_dir()
    clips = sorted((shared / "media").glob("*.gif")) if shared else []
    if clips:
        return [str(c) for c in clips], True
    cache = Path.home() / ".cache" / "emostream" / "demo-astronaut.mp4"
    if not cache.is_file():
        log.info("no webcam and no shared clips: synthesising %s", cache)
        synth_clip(cache)
    return [str(cache)], True


def format_event(payload: dict) -> str:
    """One line per event: media time, camera, track, type and what changed."""
    t = payload["type"]
    who = f"{payload['camera'][:40]:<40} track {payload['track']:<3}"
    if t == "emotion.changed":
        prev = payload["previous"] or "-"
        detail = f"{prev} -> {payload['emotion']} ({payload['confidence']:.2f})"
    elif t.endswith(".lost") or t.endswith(".stopped"):
        top = max(payload["shares"].items(), key=lambda kv: kv[1])
        detail = f"after {payload['dwell']:.1f}s, mostly {top[0]} ({top[1]:.0%})"
    else:
        detail = ""
    return f"{payload['ts']:8.2f}s  {who} {t:<16} {detail}"


class EventPrinter:
    """A sink that prints each event as one line, as the daemon hands it to Redis."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._lock = threading.Lock()  # cameras' analysis threads print side by side

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None:
        with self._lock:
            for ev in events:
                print(format_event(ev.payload), file=self._out, flush=True)

    def close(self) -> None:
        pass


def run_demo(seconds: float = 0.0, sources: list[str] | None = None) -> int:
    uris, loop = (sources, False) if sources else demo_sources()
    cfg = build_config(None, uris, None, fps=5, loop=loop, realtime=loop)
    print("emostream demo on: " + ", ".join(c.id for c in cfg.cameras) + "  (Ctrl-C to stop)", flush=True)

    def started(pipe: Pipeline) -> None:
        print(f"events go to {pipe.redis_url} stream {cfg.redis.stream}", flush=True)

    summary = run(cfg, seconds=seconds, on_start=started, sinks=[EventPrinter()], handle_signals=True)
    print("demo summary: " + json.dumps(summary), flush=True)
    return 0
