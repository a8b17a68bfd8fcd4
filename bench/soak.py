"""Soak benchmark: looping cameras for a long time, reporting memory, threads and file descriptors.

Not a test: it prints figures. It runs the daemon in-process on N looping copies of a clip (at its
real-time pace, like live cameras), publishing to a private Redis, samples RSS, thread and fd counts
once a minute, and prints one JSON object last with the growth between the first sample (after a
warm-up) and the end.

    .venv/bin/python bench/soak.py --minutes 20 --cameras 4 [--source CLIP]
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

from emostream.daemon.pipeline import Pipeline
from emostream.daemon.run import build_config
from emostream.runtime import shared_dir


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _sample(pipe: Pipeline, t0: float) -> dict[str, float]:
    return {
        "minute": round((time.monotonic() - t0) / 60.0, 2),
        "rss_mib": round(_rss_mib(), 1),
        "threads": threading.active_count(),
        "fds": len(os.listdir("/proc/self/fd")),
        "published": pipe.publisher.published if pipe.publisher else 0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--cameras", type=int, default=4)
    ap.add_argument("--warmup", type=float, default=1.0, help="minutes before the first sample")
    ap.add_argument("--source", action="append", default=[])
    args = ap.parse_args()
    clips = args.source
    if not clips:
        shared = shared_dir()
        clips = [str(p) for p in sorted((shared / "media").glob("*.gif"))] if shared else []
    if not clips:
        raise SystemExit("soak: no clip (pass --source or provide ../shared/media)")
    sources = [clips[i % len(clips)] for i in range(args.cameras)]
    cfg = build_config(None, sources, None, fps=5, loop=True, realtime=True)
    cfg = cfg.model_copy(update={"metrics": cfg.metrics.model_copy(update={"enabled": False})})
    pipe = Pipeline(cfg)
    pipe.start()
    t0 = time.monotonic()
    time.sleep(args.warmup * 60)
    samples = [_sample(pipe, t0)]
    print(json.dumps(samples[-1]), flush=True)
    end = t0 + args.minutes * 60
    while time.monotonic() < end:
        time.sleep(min(60.0, max(0.0, end - time.monotonic())))
        samples.append(_sample(pipe, t0))
        print(json.dumps(samples[-1]), flush=True)
    summary = pipe.stop()
    first, last = samples[0], samples[-1]
    print(
        json.dumps(
            {
                "minutes": args.minutes,
                "cameras": args.cameras,
                "rss_start_mib": first["rss_mib"],
                "rss_end_mib": last["rss_mib"],
                "rss_growth_pct": round(100.0 * (last["rss_mib"] - first["rss_mib"]) / first["rss_mib"], 2),
                "rss_max_mib": max(s["rss_mib"] for s in samples),
                "threads_start": first["threads"],
                "threads_end": last["threads"],
                "fds_start": first["fds"],
                "fds_end": last["fds"],
                "frames_analysed": summary["frames_analysed"],
                "published": summary["published"],
            }
        )
    )


if __name__ == "__main__":
    main()
