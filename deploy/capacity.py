"""Measure what one core of this machine can run: the daemon, pinned to one core, on N looping cameras.

Each camera plays a clip at its own pace (as a live camera delivers frames) and is analysed at
``--fps``; the daemon's CPU time over a steady window, divided by the cameras, gives the share of a
core one camera costs, hence cameras per core. Decoding every frame of the stream is included (a
live H.264 stream must be decoded whole even when only 5 frames a second are analysed)::

    python deploy/capacity.py --clip a-1280x720.mp4 --clip b-1280x720.mp4 --cameras 3 --fps 5

Prints one JSON object. Uses a private Redis (not pinned) and ``taskset`` (util-linux).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from emostream.daemon.localredis import LocalRedis, free_port


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


def _rss_mib(pid: int) -> float:
    line = next(ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _counter(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def measure(
    clips: list[str], cameras: int, fps: float, seconds: float, core: int, scan: float | None = None
) -> dict[str, object]:
    port = free_port()
    with LocalRedis() as redis_server, tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "capacity.yaml"
        lines = [
            f"  - {{id: cam{i}, url: '{clips[i % len(clips)]}', fps: {fps}, realtime: true, loop: true}}"
            for i in range(cameras)
        ]
        cfg.write_text(
            "cameras:\n" + "\n".join(lines) + f"\nredis: {{url: '{redis_server.url}'}}\n"
            f"metrics: {{port: {port}}}\nlog_level: WARNING\n"
            + (f"detector: {{scan_interval: {scan}}}\n" if scan is not None else "")
        )
        env = {**os.environ, "EMOSTREAM_STATE_DIR": tmp}
        cmd = ["taskset", "-c", str(core), sys.executable, "-m", "emostream", "run", str(cfg)]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            deadline = time.monotonic() + 120
            while True:  # warm: models loaded and every camera analysing
                try:
                    text = urllib.request.urlopen(url, timeout=2).read().decode()
                    if _counter(text, "emostream_frames_analysed_total") >= 3 * cameras:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the daemon did not start analysing")
                time.sleep(0.5)
            time.sleep(2.0)
            before = urllib.request.urlopen(url, timeout=2).read().decode()
            cpu0, t0 = _cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            after = urllib.request.urlopen(url, timeout=2).read().decode()
            cpu1, t1 = _cpu_seconds(proc.pid), time.monotonic()
            rss = _rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
    wall = t1 - t0
    rate = {
        k: (_counter(after, f"emostream_frames_{k}_total") - _counter(before, f"emostream_frames_{k}_total"))
        / wall
        / cameras
        for k in ("captured", "analysed", "dropped")
    }
    share = (cpu1 - cpu0) / wall / cameras
    return {
        "clips": [Path(c).name for c in clips],
        "cameras": cameras,
        "fps": fps,
        "seconds": round(wall, 1),
        "core_busy": round((cpu1 - cpu0) / wall, 3),
        "core_share_per_camera": round(share, 4),
        "cameras_per_core": round(1.0 / share, 1) if share > 0 else None,
        "per_camera_fps": {k: round(v, 2) for k, v in rate.items()},
        "rss_mib": round(rss),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", action="append", required=True, help="video file (repeat for several)")
    ap.add_argument("--cameras", type=int, default=3)
    ap.add_argument("--fps", type=float, default=5.0, help="frames analysed per second per camera")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of the measured window")
    ap.add_argument("--core", type=int, default=0, help="CPU the daemon is pinned to")
    ap.add_argument("--scan-interval", type=float, help="detector.scan_interval (default: the daemon's)")
    args = ap.parse_args()
    print(json.dumps(measure(args.clip, args.cameras, args.fps, args.seconds, args.core, args.scan_interval)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
