"""What following tracks between whole-frame searches costs in faces: ``detector.scan_interval``.

Every frame of the six shared clips (as ``emostream bench`` plays them) goes through two camera
analyzers side by side: one searching the whole frame on every frame (``scan_interval: 0``, the
reference) and one per interval tried, which searches the whole frame every ``scan_interval`` s of
media time and only around its live tracks in between. Printed per interval: **recall** (reference
faces, ≥ the smallest face wanted, matched at IoU ≥ 0.5 by a face of the interval's run on the same
frame) and the mean IoU of the matched boxes, the faces only the interval's run found, confirmed
tracks in each, and the detector's mean
ms per frame (one core if run under ``taskset -c 1``)::

    taskset -c 1 .venv/bin/python -m export.measure_scan [--intervals 0.1 0.2 0.3 0.5] [--json out.json]

Rule for the default, written before the first measurement (2026-12-01): the longest interval tried
whose recall is ≥ 0.95 (the issue's bar for a faster detector) and whose runs confirm as many tracks
as the reference.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emostream.analysis.face.analyzer import CameraAnalyzer
from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.analysis.face.detect import Detector, build_detector
from emostream.analysis.geometry import iou
from emostream.config import Config
from emostream.metrics import Metrics
from emostream.runtime import shared_dir
from emostream.types import Frame
from export.measure_tracks import clip_frames


def _analyzer(interval: float, detector: Detector, classifier: FaceEmotionClassifier) -> CameraAnalyzer:
    cfg = Config()
    cfg = cfg.model_copy(update={"detector": cfg.detector.model_copy(update={"scan_interval": interval})})
    return CameraAnalyzer("clip", cfg, detector, classifier, Metrics())


def measure(clips: list[Path], intervals: list[float], fps: float = 0.0) -> dict[str, dict[str, float]]:
    detector, classifier = build_detector(), FaceEmotionClassifier()
    runs = [0.0, *intervals]
    stats: dict[float, dict[str, float]] = {
        i: {"found": 0, "matched": 0, "iou": 0.0, "extra": 0, "tracks": 0, "seconds": 0.0, "frames": 0}
        for i in runs
    }
    for clip in clips:
        frames = clip_frames(clip, fps)
        cams = {i: _analyzer(i, detector, classifier) for i in runs}
        for n, (ts, img) in enumerate(frames):
            frame = Frame("clip", n, ts, 0.0, img)
            for cam in cams.values():
                cam.process(frame)
            truth = cams[0.0].found
            for i, cam in cams.items():
                best = [max((iou(a.box, b.box) for b in cam.found), default=0.0) for a in truth]
                stats[i]["matched"] += sum(v >= 0.5 for v in best)
                stats[i]["iou"] += sum(v for v in best if v >= 0.5)
                stats[i]["found"] += len(cam.found)
                stats[i]["extra"] += sum(all(iou(a.box, b.box) < 0.5 for b in truth) for a in cam.found)
        for i, cam in cams.items():
            stats[i]["tracks"] += cam.tracker.confirmed
            reg = cam._metrics.registry
            stats[i]["seconds"] += reg.get_sample_value("emostream_stage_seconds_sum", {"stage": "detect"})
            stats[i]["frames"] += cam.frames
    truth_n = stats[0.0]["found"]
    return {
        f"{i:g}": {
            "recall": round(s["matched"] / max(truth_n, 1), 4),
            "matched_box_iou": round(s["iou"] / max(s["matched"], 1), 4),
            "faces": s["found"],
            "extra": s["extra"],
            "tracks": s["tracks"],
            "detect_ms_per_frame": round(1e3 * s["seconds"] / max(s["frames"], 1), 3),
        }
        for i, s in stats.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--intervals", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.5])
    ap.add_argument("--fps", type=float, default=0.0, help="frames analysed per second (0: every frame)")
    ap.add_argument("--clip", type=Path, nargs="+", help="clips (default: the six of shared/media)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    clips = args.clip
    if not clips:
        shared = shared_dir()
        if shared is None:
            raise SystemExit("needs the shared folder (EMOSTREAM_SHARED) or --clip")
        clips = sorted((shared / "media").glob("*.gif"))
    out = measure(clips, args.intervals, args.fps)
    for k, v in out.items():
        print(f"scan_interval {k:>4}", json.dumps(v))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
