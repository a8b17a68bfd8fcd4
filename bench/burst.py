"""Burst benchmark: 8 cameras looping as fast as analysis goes, Redis SIGKILLed for 10 s under AOF.

Not a test: it prints figures. The daemon runs as a subprocess against a real redis-server started
with ``--appendonly yes --appendfsync always``; after a warm-up Redis is killed (SIGKILL), restarted
10 s later from its AOF file, and the daemon is stopped a few seconds after. Printed: events
published (the daemon's own count), XLEN of the stream, distinct ids, and the spool left over.

    .venv/bin/python bench/burst.py [--cameras 8] [--down 10]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from emostream.daemon.localredis import LocalRedis
from emostream.runtime import shared_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--down", type=float, default=10.0)
    args = ap.parse_args()
    shared = shared_dir()
    if shared is None:
        raise SystemExit("needs the shared clips (EMOSTREAM_SHARED)")
    clips = sorted((shared / "media").glob("*.gif"))
    with tempfile.TemporaryDirectory() as tmp:
        server = LocalRedis(extra_args=("--appendonly", "yes", "--appendfsync", "always")).start()
        cams = "".join(
            f"  - {{id: cam{i}, url: '{clips[i % len(clips)]}', fps: 5, loop: true}}\n"
            for i in range(args.cameras)
        )
        cfg = Path(tmp) / "c.yaml"
        cfg.write_text(
            f"cameras:\n{cams}redis: {{url: '{server.url}', spool_dir: '{Path(tmp) / 'spool'}'}}\n"
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "emostream", "run", str(cfg)], stderr=subprocess.PIPE, text=True
        )
        time.sleep(8)
        server.kill()
        killed = time.monotonic()
        time.sleep(args.down)
        server.start()
        down = time.monotonic() - killed
        time.sleep(6)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        line = next(ln for ln in err.splitlines() if "stopped: " in ln)
        summary = {k: float(v) for k, v in (kv.split("=") for kv in line.split("stopped: ")[1].split())}
        client = redis.Redis.from_url(server.url, decode_responses=True)
        ids = [json.loads(f["event"])["id"] for _, f in client.xrange("emostream:events")]
        client.close()
        server.stop()
        server.cleanup()
    out = {
        "cameras": args.cameras,
        "redis_down_s": round(down, 1),
        "published": int(summary["published"]),
        "xlen": len(ids),
        "distinct_ids": len(set(ids)),
        "pending": int(summary["pending"]),
        "publish_dropped": int(summary["publish_dropped"]),
        "frames_analysed": int(summary["frames_analysed"]),
        "seconds": summary["seconds"],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
