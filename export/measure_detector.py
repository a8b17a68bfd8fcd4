"""Recall / precision of a detector against YuNet on every frame of the shared clips, and its speed.

Run with the main venv, pinned to one core for the timing::

    taskset -c 0 .venv/bin/python -m export.measure_detector                       # shipped blazeface
    taskset -c 0 .venv/bin/python -m export.measure_detector --model blazeface_short.onnx --no-tiles

YuNet (``shared/models/yunet/yunet_s_dynamic.onnx``, score ≥ ``--ref-threshold``, default 0.6:
OpenCV FaceDetectorYN's usual 0.9 misses most faces under ~20 px) is the reference. Recall = reference
faces matched by a detection at IoU ≥ 0.5 (one-to-one, greedy by IoU); precision = detections matched
to a reference face.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from emostream.analysis.face.detect import BlazeFaceDetector, Detector, YuNetDetector
from emostream.runtime import shared_dir


def clip_frames(shared: Path) -> dict[str, list[np.ndarray]]:
    """Every frame of every shared GIF, as BGR uint8."""
    out = {}
    for gif in sorted((shared / "media").glob("*.gif")):
        ok, frames = cv2.imreadmulti(str(gif))
        if ok:
            out[gif.stem] = [f if f.ndim == 3 else cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in frames]
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def match(ref: np.ndarray, det: np.ndarray, thr: float = 0.5) -> int:
    """Number of one-to-one matches at IoU ≥ ``thr``, greedy by IoU."""
    if len(ref) == 0 or len(det) == 0:
        return 0
    m = iou_matrix(ref, det)
    n = 0
    while True:
        i, j = np.unravel_index(int(np.argmax(m)), m.shape)
        if m[i, j] < thr:
            return n
        n += 1
        m[i, :] = -1
        m[:, j] = -1


def evaluate(
    det: Detector, ref: Detector, clips: dict[str, list[np.ndarray]]
) -> dict[str, tuple[int, int, int]]:
    """Per clip: (reference faces, detections, matches)."""
    out = {}
    for name, frames in clips.items():
        n_ref = n_det = n_match = 0
        for f in frames:
            r = np.array([x.box for x in ref.detect(f)]).reshape(-1, 4)
            d = np.array([x.box for x in det.detect(f)]).reshape(-1, 4)
            n_ref, n_det, n_match = n_ref + len(r), n_det + len(d), n_match + match(r, d)
        out[name] = (n_ref, n_det, n_match)
    return out


def time_ms(det: Detector, frames: list[np.ndarray], repeats: int) -> float:
    """Median milliseconds of one ``detect`` call over ``repeats`` passes of ``frames``."""
    det.detect(frames[0])
    times = []
    for _ in range(repeats):
        for f in frames:
            t = time.perf_counter()
            det.detect(f)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", default="blazeface", choices=["blazeface", "yunet"])
    ap.add_argument("--model", default=None)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument(
        "--no-tiles", action="store_true", help="blazeface: letterbox the whole frame instead of tiling"
    )
    ap.add_argument(
        "--tile-overlap", type=float, default=0.2, help="blazeface: least overlap of neighbour tiles"
    )
    ap.add_argument("--ref-threshold", type=float, default=0.6)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    shared = shared_dir()
    if shared is None:
        raise SystemExit("no shared folder (set EMOSTREAM_SHARED)")
    clips = clip_frames(shared)
    ref = YuNetDetector(score_threshold=args.ref_threshold)
    det: Detector
    if args.kind == "blazeface":
        det = BlazeFaceDetector(
            args.model, args.threshold, tiles=not args.no_tiles, tile_overlap=args.tile_overlap
        )
    else:
        det = YuNetDetector(args.model, args.threshold)
    res = evaluate(det, ref, clips)
    print(f"{'clip':45s} {'ref':>5s} {'det':>5s} {'match':>5s} {'recall':>7s} {'prec':>6s}")
    for name, (r, d, m) in res.items():
        print(f"{name:45s} {r:5d} {d:5d} {m:5d} {m / max(r, 1):7.3f} {m / max(d, 1):6.3f}")
    r, d, m = (sum(v[i] for v in res.values()) for i in range(3))
    print(f"{'ALL':45s} {r:5d} {d:5d} {m:5d} {m / max(r, 1):7.3f} {m / max(d, 1):6.3f}")
    frames = [f for fs in clips.values() for f in fs]
    cv2.setNumThreads(1)  # one core: OpenCV's own thread pool would only add switching
    if isinstance(det, BlazeFaceDetector):
        x = np.zeros((1, det.size, det.size, 3), np.float32)
        runs = []
        for _ in range(300):
            t = time.perf_counter()
            det.session.run(None, {det.input_name: x})
            runs.append((time.perf_counter() - t) * 1000)
        print(f"median ms per session.run (batch 1, {det.size}x{det.size}): {statistics.median(runs):.2f}")
    print(
        f"median ms per 480x270 frame: {time_ms(det, frames, args.repeats):.2f} "
        f"(reference yunet: {time_ms(ref, frames[::4], 1):.2f})"
    )


if __name__ == "__main__":
    main()
