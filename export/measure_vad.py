"""Precision and recall of the voice activity detector on real speech vs silence and noise.

The detector: :class:`emostream.analysis.voice.vad.VoiceActivityDetector`.

Positives: 3 s windows of RAVDESS speech (every clip of the chosen actors, cut by
:func:`emostream.analysis.voice.features.clip_windows`), clean and with white noise at 10 dB SNR.
Negatives: the
real room silence around each RAVDESS utterance (:func:`room_silence`), digital silence,
and white, pink and brown noise at -60, -40, -20 and -6 dBFS (200 windows each, seeded)::

    .venv/bin/python -m export.measure_vad --actors 17-20 [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import librosa
import numpy as np

from emostream.analysis.voice.features import SAMPLE_RATE, clip_windows, load_audio
from emostream.analysis.voice.vad import VoiceActivityDetector
from emostream.runtime import shared_dir
from emostream.tools.evaluate.corpus import labelled_clips

N = 3 * SAMPLE_RATE


def coloured(kind: str, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal(N)
    if kind == "white":
        return x
    spec = np.fft.rfft(x)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / (np.sqrt(f) if kind == "pink" else f), N)


def at_dbfs(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x / np.sqrt(np.mean(x**2)) * 10 ** (dbfs / 20)).astype(np.float32)


def room_silence(y: np.ndarray) -> np.ndarray | None:
    """The recording's own silence before its utterance (what trimming at 35 dB below the peak cuts,
    less 0.1 s next to the speech), else after it, tiled to 3 s; None if both are under 0.1 s."""
    _, (start, end) = librosa.effects.trim(y, top_db=35.0, frame_length=512, hop_length=128)
    margin = SAMPLE_RATE // 10
    for part in (y[: max(start - margin, 0)], y[end + margin :]):
        if len(part) >= SAMPLE_RATE // 10:
            return np.resize(part, N)
    return None


def sets(root: Path, lo: int, hi: int, per_noise: int = 200) -> dict[str, tuple[bool, list[np.ndarray]]]:
    clips = [c for c in labelled_clips(root)[0] if c.speaker and lo <= int(c.speaker) <= hi]
    rng = np.random.default_rng(0)
    speech, noisy, room = [], [], []
    for c in clips:
        y = load_audio(c.path)
        for w in clip_windows(y):
            speech.append(w)
            noise = at_dbfs(
                rng.standard_normal(N), 10 * np.log10(np.mean(w.astype(np.float64) ** 2) + 1e-12) - 10
            )
            noisy.append(np.clip(w + noise, -1, 1))
        if (r := room_silence(y)) is not None:
            room.append(r)
    out: dict[str, tuple[bool, list[np.ndarray]]] = {
        "speech": (True, speech),
        "speech+white@10dB": (True, noisy),
        "room silence": (False, room),
        "digital silence": (False, [np.zeros(N, np.float32)] * 10),
    }
    for kind in ("white", "pink", "brown"):
        for dbfs in (-60, -40, -20, -6):
            out[f"{kind}@{dbfs}dBFS"] = (
                False,
                [at_dbfs(coloured(kind, rng), dbfs) for _ in range(per_noise // 4)],
            )
    return out


def measure(vad: VoiceActivityDetector, data: dict[str, tuple[bool, list[np.ndarray]]]) -> dict:
    tp = fp = fn = tn = 0
    per_set = {}
    t0 = time.perf_counter()
    n = 0
    for name, (positive, windows) in data.items():
        hits = sum(vad(w).speech for w in windows)
        n += len(windows)
        per_set[name] = {"n": len(windows), "detected": hits}
        if positive:
            tp, fn = tp + hits, fn + len(windows) - hits
        else:
            fp, tn = fp + hits, tn + len(windows) - hits
    ms = (time.perf_counter() - t0) / n * 1000
    return {
        "precision": round(tp / max(tp + fp, 1), 4),
        "recall": round(tp / max(tp + fn, 1), 4),
        "false_positive_rate": round(fp / max(fp + tn, 1), 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "ms_per_window": round(ms, 3),
        "sets": per_set,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path)
    ap.add_argument("--actors", default="17-20")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = args.data or (shared_dir() or Path("../shared")) / "data" / "ravdess"
    lo, hi = (int(v) for v in args.actors.split("-"))
    res = measure(VoiceActivityDetector(), sets(root, lo, hi))
    if args.json:
        print(json.dumps(res))
        return
    for name, s in res["sets"].items():
        print(f"{name:<22} {s['detected']:>4}/{s['n']:<4} flagged as speech")
    print(
        f"precision {res['precision']}  recall {res['recall']}  FPR {res['false_positive_rate']}  "
        f"{res['ms_per_window']} ms/window"
    )


if __name__ == "__main__":
    main()
