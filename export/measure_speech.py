"""Speed of the voice path on one core: features + model per 3 s window, and the VAD, in ms (median).

Pins itself to one CPU core and runs onnxruntime with one thread, on real RAVDESS windows::

    .venv/bin/python -m export.measure_speech [--model models/speech_cnn.onnx] [--runs 300]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emostream.analysis.voice.features import clip_windows, load_audio, logmel
from emostream.analysis.voice.silero import SileroVAD
from emostream.analysis.voice.speech import SpeechClassifier
from emostream.analysis.voice.vad import VoiceActivityDetector
from emostream.runtime import resolve_model, shared_dir


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)) * 1000, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model")
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    root = (shared_dir() or Path("../shared")) / "data" / "ravdess" / "Actor_20"
    windows = [clip_windows(load_audio(p))[0] for p in sorted(root.glob("*.flac"))[:8]]
    clf = SpeechClassifier(args.model, threads=1)
    vad, pitch = SileroVAD(), VoiceActivityDetector()
    feats = np.stack([logmel(windows[0])])[..., None]
    i = iter(range(10**9))
    result = {
        "classify_ms": median_ms(lambda: clf.classify(windows[next(i) % len(windows)]), args.runs),
        "features_ms": median_ms(lambda: logmel(windows[0]), args.runs),
        "model_ms": median_ms(lambda: clf.session.run(None, {clf.input_name: feats}), args.runs),
        "vad_ms": median_ms(lambda: vad(windows[0]), args.runs),  # the default (Silero)
        "pitch_vad_ms": median_ms(lambda: pitch(windows[0]), args.runs),
        "model_bytes": resolve_model(clf.path).stat().st_size,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
