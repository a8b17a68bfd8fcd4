"""Latency of a live camera: a 15 fps H.264 RTSP stream through the daemon, pinned to one core.

A shared clip is encoded with ffmpeg as a camera would send it (H.264 at 15 fps, a key frame every
2 s, no B-frames) and served in a loop at its own pace by a real RTSP server on loopback
(rtsp-server-perl fed by ffmpeg, both on the other cores). The daemon, in this process and pinned
to ``--core``, reads it over RTP/UDP and publishes to a private Redis. After ``--warmup`` seconds
it measures, over ``--seconds``:

The clip is followed by ``--gap`` s of black, so that every loop loses its tracks and finds them
again: events to time (a scene that does not change publishes next to nothing).

* **frame to publish**: for every event, from the moment its frame was read off the stream to
  Redis acknowledging it (the ``emostream_frame_to_publish_seconds`` histogram's samples);
* **frame to sinks**: for every analysed frame, from read to its events being handed to the sinks
  (also frames without events: many more samples than events);

and prints one JSON object: p50 / p99 / max of both, counts, frames analysed and dropped::

    .venv/bin/python bench/live_latency.py [--clip CLIP] [--fps 15] [--seconds 60] [--core 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emostream.config import parse
from emostream.daemon.pipeline import Pipeline
from emostream.runtime import shared_dir
from emostream.tools.rtsp_server import RtspServer
from emostream.types import Event, Frame, TrackedFace


class LatencySink:
    """Every analysed frame's read-to-sink latency, from the analysis threads."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.recording = False
        self._lock = threading.Lock()

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None:
        if frame is not None and self.recording:
            with self._lock:
                self.seconds.append(time.time() - frame.wall)

    def close(self) -> None:
        pass


def _h264(src: Path, out: Path, fps: float, gap: float) -> Path:
    """``src`` as a camera sends it, with ``gap`` s of black after it: every loop then loses its
    tracks and finds them again (events to time; a still scene publishes next to nothing)."""
    vf = f"fps={fps},tpad=stop_mode=add:stop_duration={gap}:color=black"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), "-vf", vf,
         "-c:v", "libx264", "-preset", "veryfast", "-g", str(round(2 * fps)), "-bf", "0",
         "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    return out


def _figures(seconds: list[float]) -> dict[str, float | int]:
    ms = np.array(seconds or [0.0]) * 1000
    return {
        "n": len(seconds),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "top_ms": [round(float(x), 1) for x in np.sort(ms)[-5:]],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, help="default: the shared classroom clip")
    ap.add_argument("--stream-fps", type=float, default=15.0)
    ap.add_argument("--fps", type=float, default=0.0, help="frames analysed per second (0: every frame)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=2.0, help="seconds of black after each loop of the clip")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--core", type=int, default=0)
    args = ap.parse_args()
    clip = args.clip
    if clip is None:
        shared = shared_dir()
        if shared is None:
            raise SystemExit("no --clip and no shared folder (EMOSTREAM_SHARED)")
        clip = shared / "media" / "classroom.gif"
    with tempfile.TemporaryDirectory() as tmp:
        server = RtspServer(
            _h264(clip, Path(tmp) / "camera.mp4", args.stream_fps, args.gap), copy=True
        ).start()
        try:
            os.sched_setaffinity(0, {args.core})  # the daemon only; the server was started before
            cam = {"id": "live", "url": server.url, "fps": args.fps}
            cfg = parse({"cameras": [cam], "metrics": {"enabled": False}}, env={})
            sink = LatencySink()
            pipe = Pipeline(cfg, sinks=[sink])
            pipe.start()
            assert pipe.publisher is not None
            time.sleep(args.warmup)
            pipe.publisher.latencies, sink.recording = [], True
            c0, t0 = time.process_time(), time.monotonic()
            before = pipe.summary()
            time.sleep(args.seconds)
            events, frames = list(pipe.publisher.latencies), list(sink.seconds)
            cpu, wall = time.process_time() - c0, time.monotonic() - t0
            after = pipe.stop()
        finally:
            server.stop()
    out = {
        "clip": clip.name,
        "stream_fps": args.stream_fps,
        "analysed_fps": round((int(after["frames_analysed"]) - int(before["frames_analysed"])) / wall, 2),
        "frames_dropped": int(after["frames_dropped"]) - int(before["frames_dropped"]),
        "faces": int(after["faces"]) - int(before["faces"]),
        "events": int(after["events"]) - int(before["events"]),
        "cpu_share_of_core": round(cpu / wall, 3),
        "frame_to_publish": _figures(events),
        "frame_to_sinks": _figures(frames),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
