"""Track id stability on the shared clips: how often one face comes back under a new id.

The clips have no identity ground truth (and the daemon computes no identity), so this counts the
symptom a user sees: a **fragmentation** is a track that ends and a new one that begins within
``--window`` seconds of media time where the old one was last seen (box IoU ≥ 0.3 or centres
within one face width), each ended track counted once. Also counted: **duplicates**, two tracks
alive on the same frame with boxes overlapping at IoU ≥ 0.5. Run with the main venv::

    .venv/bin/python -m export.measure_tracks [--fps 5] [--json out.json]

YuNet (the default detector, default ``min_face``) and the tracker with the config's defaults, and
``tracker.max_gap`` at 0.5 and 3 s beside the default 1.5 s; every frame (``--fps 0``) or the
daemon's sampling at ``--fps``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import av
import numpy as np

from emostream.analysis.face.track import Tracker
from emostream.analysis.face.yunet import YuNetDetector, smallest_face
from emostream.analysis.geometry import iou
from emostream.config import Config
from emostream.runtime import shared_dir
from emostream.sources.video import bgr_pixels


def clip_frames(path: Path, fps: float) -> list[tuple[float, np.ndarray]]:
    """(media time, BGR frame) of the frames the daemon would analyse at ``fps`` (0: every one)."""
    out: list[tuple[float, np.ndarray]] = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            ts = float(f.time or 0.0)
            if fps <= 0 or not out or int(ts * fps + 1e-6) > int(out[-1][0] * fps + 1e-6):
                out.append((ts, bgr_pixels(f)))  # as the daemon converts them
    return out


def _near(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    if iou(a, b) >= 0.3:
        return True
    width = max(a[2] - a[0], b[2] - b[0])
    ca, cb = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2), ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    return float(np.hypot(ca[0] - cb[0], ca[1] - cb[1])) <= width


def track_figures(frames: list, detector: YuNetDetector, max_gap: float, window: float) -> dict[str, int]:
    t = Config().tracker
    tracker = Tracker(t.iou_threshold, max_gap, t.confirm_hits, t.confirm_frames)
    first: dict[int, tuple[float, tuple[float, ...]]] = {}
    last: dict[int, tuple[float, tuple[float, ...]]] = {}
    duplicates = 0
    for ts, img in frames:
        small = smallest_face(None, img.shape[0])
        seen, _lost = tracker.update(ts, [f for f in detector.detect(img) if f.width >= small])
        for tid, face in seen:
            first.setdefault(tid, (ts, face.box))
            last[tid] = (ts, face.box)
        boxes = [face.box for _, face in seen]
        duplicates += sum(iou(a, b) >= 0.5 for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    ended = sorted(last, key=lambda k: last[k][0])
    used: set[int] = set()
    fragments = 0
    for a in ended:
        end_ts, end_box = last[a]
        for b, (start_ts, start_box) in sorted(first.items(), key=lambda kv: kv[1][0]):
            if b != a and b not in used and 0 < start_ts - end_ts <= window and _near(end_box, start_box):
                used.add(b)
                fragments += 1
                break
    return {"tracks": len(first), "fragmentations": fragments, "duplicate_pairs": duplicates}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fps", type=float, default=5.0, help="frames analysed per second (0: every frame)")
    ap.add_argument("--window", type=float, default=2.0, help="seconds between an end and a new start")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    shared = shared_dir()
    if shared is None:
        raise SystemExit("needs the shared folder (EMOSTREAM_SHARED)")
    detector = YuNetDetector()
    rows: dict[str, dict[str, dict[str, int]]] = {}
    for gif in sorted((shared / "media").glob("*.gif")):
        frames = clip_frames(gif, args.fps)
        rows[gif.stem] = {
            f"max_gap {g}": track_figures(frames, detector, g, args.window) for g in (0.5, 1.5, 3.0)
        }
    totals = {
        g: {k: sum(r[g][k] for r in rows.values()) for k in ("tracks", "fragmentations", "duplicate_pairs")}
        for g in next(iter(rows.values()))
    }
    for name, r in rows.items():
        print(f"{name:<45}", "  ".join(f"{g}: {v}" for g, v in r.items()))
    print("total", json.dumps(totals))
    if args.json:
        args.json.write_text(
            json.dumps({"fps": args.fps, "window": args.window, "clips": rows, "total": totals})
        )


if __name__ == "__main__":
    main()
