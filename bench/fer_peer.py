"""Time the ``fer`` library on the same clips emostream is benchmarked on.

This is the peer side of ``bench/compare.sh``. It runs in its own virtual environment
(``.venv-fer``, see ``bench/requirements-fer.txt``), never in emostream's, because ``fer`` drags in
TensorFlow.

Every frame of every ``--source`` is decoded up front with OpenCV (``cv2.VideoCapture`` reads GIFs
too); decoding is NOT part of the timed figure. After one untimed warm-up call, each frame goes
through ``FER(mtcnn=False).detect_emotions(frame)`` (Haar cascade face detection plus fer's
emotion classifier) and the wall time of those calls is measured. TensorFlow, OpenMP and OpenCV are
all held to one thread, so pin the process to one core (``taskset -c 0``) for a fair figure.

The last line of stdout is one JSON object::

    {"peer": "fer", "version": "25.10.3", "frames": N, "faces": F, "seconds": S,
     "fps": N / S, "ms_per_frame": 1000 * S / N, "per_source": {NAME: {...}}, ...}

``frames`` counts timed ``detect_emotions`` calls (distinct frames times ``--repeat``) and ``faces``
sums the faces found by those same calls.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any, Protocol

# One thread everywhere, and quiet TensorFlow. These must be set before TensorFlow is imported.
_THREAD_ENV = {
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
os.environ.update(_THREAD_ENV)

import cv2  # noqa: E402  (must come after the thread settings above)
import numpy as np  # noqa: E402

cv2.setNumThreads(1)


class EmotionDetector(Protocol):
    """The one method of ``fer.fer.FER`` that is timed."""

    def detect_emotions(self, img: np.ndarray) -> list[dict[str, Any]]: ...


@dataclass
class Clip:
    """One source file, decoded."""

    name: str
    path: str
    frames: list[np.ndarray]
    faces: int = 0
    calls: int = 0
    seconds: float = 0.0
    faces_per_pass: list[int] = field(default_factory=list)


def decode(path: str) -> list[np.ndarray]:
    """Return every frame of ``path`` as a BGR ``uint8`` array (untimed)."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise SystemExit(f"fer_peer: cannot open {path}")
    frames: list[np.ndarray] = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(np.ascontiguousarray(frame))
    finally:
        cap.release()
    if not frames:
        raise SystemExit(f"fer_peer: no frames decoded from {path}")
    return frames


def clip_names(paths: list[str]) -> list[str]:
    """Key each source by its file name, or by its full path where file names clash."""
    names = [Path(p).name for p in paths]
    return [n if names.count(n) == 1 else p for n, p in zip(names, paths, strict=True)]


@contextlib.contextmanager
def quiet_stderr(enabled: bool = True) -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the duration (TensorFlow's C++ start-up chatter)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def load_fer() -> tuple[EmotionDetector, str]:
    """Import TensorFlow (one thread, quiet) and then ``fer``; return a Haar-cascade FER and its version."""
    import logging

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass

    # fer 25.10.3's package __init__ does not re-export FER, so import it from its module.
    from fer.fer import FER

    logging.getLogger("fer").setLevel(logging.WARNING)
    return FER(mtcnn=False), dist_version("fer")


def run(detector: EmotionDetector, clips: list[Clip], repeat: int) -> float:
    """Time ``detect_emotions`` over every frame of every clip, ``repeat`` times; return total seconds.

    The caller has already made one untimed warm-up call.
    """
    total = 0.0
    clock = time.perf_counter
    for _ in range(repeat):
        for clip in clips:
            found = 0
            start = clock()
            for frame in clip.frames:
                found += len(detector.detect_emotions(frame))
            elapsed = clock() - start
            total += elapsed
            clip.seconds += elapsed
            clip.calls += len(clip.frames)
            clip.faces += found
            clip.faces_per_pass.append(found)
    return total


def dist_version_or_none(name: str) -> str | None:
    """Installed version of distribution ``name``, or None."""
    try:
        return dist_version(name)
    except Exception:
        return None


def rate(frames: int, seconds: float) -> dict[str, float]:
    """fps and ms/frame for ``frames`` frames done in ``seconds``."""
    return {
        "fps": round(frames / seconds, 3) if seconds > 0 else 0.0,
        "ms_per_frame": round(1000.0 * seconds / frames, 3) if frames else 0.0,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: ``--source FILE ... [--repeat N] [--verbose]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", nargs="+", required=True, metavar="FILE", help="video files or GIFs")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="timed passes over all frames")
    parser.add_argument("--verbose", action="store_true", help="keep TensorFlow's start-up messages")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Decode, warm up, time, and print the JSON result as the last line of stdout."""
    args = parse_args(argv)
    names = clip_names(args.source)
    clips = [Clip(name, path, decode(path)) for name, path in zip(names, args.source, strict=True)]

    with quiet_stderr(not args.verbose):
        detector, fer_version = load_fer()
        detector.detect_emotions(clips[0].frames[0])  # warm-up, untimed
    cpu_start = time.process_time()
    seconds = run(detector, clips, args.repeat)
    cpu_seconds = time.process_time() - cpu_start

    frames = sum(c.calls for c in clips)
    result: dict[str, Any] = {
        "peer": "fer",
        "version": fer_version,
        "frames": frames,
        "distinct_frames": sum(len(c.frames) for c in clips),
        "repeat": args.repeat,
        "faces": sum(c.faces for c in clips),
        "seconds": round(seconds, 4),
        **rate(frames, seconds),
        "cpu_seconds": round(cpu_seconds, 4),
        "decode_timed": False,
        "detector": "FER(mtcnn=False).detect_emotions",
        "tensorflow": dist_version_or_none("tensorflow-cpu") or dist_version_or_none("tensorflow"),
        "opencv": cv2.__version__,
        "python": platform.python_version(),
        "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "threads": {"opencv": cv2.getNumThreads(), **{k: v for k, v in _THREAD_ENV.items() if "THREAD" in k}},
        "per_source": {
            c.name: {
                "path": c.path,
                "frames": c.calls,
                "faces": c.faces,
                "seconds": round(c.seconds, 4),
                **rate(c.calls, c.seconds),
                **({"faces_per_pass": c.faces_per_pass} if args.repeat > 1 else {}),
            }
            for c in clips
        },
    }
    sys.stdout.flush()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
