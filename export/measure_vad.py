"""Precision and recall of the voice activity detectors on real speech vs silence, noise, music and hum.

The detectors: :class:`emostream.analysis.voice.silero.SileroVAD` (the default) and the older
:class:`emostream.analysis.voice.vad.VoiceActivityDetector` (``--vad pitch``).

Positives: 3 s windows of RAVDESS speech (every clip of the chosen actors, cut by
:func:`emostream.analysis.voice.features.clip_windows`), clean, with white noise at 10 dB SNR and
over music at 10 dB SNR (a shop's background music must not hide a customer). Negatives: the real
room silence around each RAVDESS utterance (:func:`room_silence`), digital silence, white, pink and
brown noise at -60, -40, -20 and -6 dBFS (50 windows each), and synthesised with numpy (seeded,
:func:`music`): chord progressions and melodies with harmonics, drum loops, the three mixed, and
mains hum (50/60 Hz with harmonics), at -35..-10 dBFS (40 windows each)::

    .venv/bin/python -m export.measure_vad --actors 1-20 [--vad silero|pitch] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import librosa
import numpy as np

from emostream.analysis.voice.features import SAMPLE_RATE, clip_windows, load_audio
from emostream.analysis.voice.silero import SileroVAD
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


_T = np.arange(N) / SAMPLE_RATE


def _note(f0: float, n: int, rng: np.random.Generator, harmonics: int = 6) -> np.ndarray:
    """One note: ``harmonics`` partials falling 1/k, 5 Hz vibrato, attack-decay envelope."""
    t = np.arange(n) / SAMPLE_RATE
    vib = 1 + 0.004 * np.sin(2 * np.pi * 5.0 * t + rng.uniform(0, 6.3))
    tone = sum(np.sin(2 * np.pi * f0 * k * np.cumsum(vib) / SAMPLE_RATE) / k for k in range(1, harmonics + 1))
    env = np.minimum(1.0, t / 0.02) * np.exp(-t * rng.uniform(1.0, 4.0))
    return tone * env


def music(kind: str, rng: np.random.Generator) -> np.ndarray:
    """3 s of synthetic ``chords`` / ``melody`` / ``drums`` / ``mix`` / ``hum`` (see the module doc)."""
    out = np.zeros(N)
    if kind in ("chords", "mix"):
        t = 0
        while t < N:
            n = int(rng.uniform(0.5, 1.0) * SAMPLE_RATE)
            root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
            third = 4 if rng.random() < 0.5 else 3
            for semis in (0, third, 7, 12):
                out[t : t + n] += _note(root * 2 ** (semis / 12), min(n, N - t), rng)
            t += n
    if kind in ("melody", "mix"):
        t = 0
        scale = (0, 2, 4, 7, 9, 12, 14, 16)
        while t < N:
            n = int(rng.uniform(0.15, 0.4) * SAMPLE_RATE)
            f0 = 220.0 * 2 ** (scale[rng.integers(0, len(scale))] / 12)
            out[t : t + n] += 1.5 * _note(f0, min(n, N - t), rng, harmonics=8)
            t += n
    if kind in ("drums", "mix"):
        beat = 60.0 / rng.uniform(90, 140)
        for i, start in enumerate(np.arange(0, 3.0, beat / 2)):
            s = int(start * SAMPLE_RATE)
            n = min(int(0.25 * SAMPLE_RATE), N - s)
            t = np.arange(n) / SAMPLE_RATE
            if i % 4 == 0:  # kick: a 150 -> 50 Hz sweep
                out[s : s + n] += (
                    2 * np.sin(2 * np.pi * (50 * t + 100 * (1 - np.exp(-t * 30)) / 30)) * np.exp(-t * 12)
                )
            elif i % 4 == 2:  # snare: noise burst and a 200 Hz body
                out[s : s + n] += (rng.standard_normal(n) + np.sin(2 * np.pi * 200 * t)) * np.exp(-t * 20)
            out[s : s + n] += 0.3 * np.diff(rng.standard_normal(n + 1)) * np.exp(-t * 60)  # hi-hat
    if kind == "hum":
        f = 50.0 if rng.random() < 0.5 else 60.0
        out = sum(np.sin(2 * np.pi * f * k * _T + rng.uniform(0, 6.3)) / k**0.7 for k in range(1, 8))
        out = out + 0.02 * rng.standard_normal(N)
    return out


def sets(root: Path, lo: int, hi: int, per_noise: int = 200) -> dict[str, tuple[bool, list[np.ndarray]]]:
    clips = [c for c in labelled_clips(root)[0] if c.speaker and lo <= int(c.speaker) <= hi]
    rng = np.random.default_rng(0)
    speech, noisy, room, over_music = [], [], [], []
    for c in clips:
        y = load_audio(c.path)
        for w in clip_windows(y):
            speech.append(w)
            noise = at_dbfs(
                rng.standard_normal(N), 10 * np.log10(np.mean(w.astype(np.float64) ** 2) + 1e-12) - 10
            )
            noisy.append(np.clip(w + noise, -1, 1))
            level = 10 * np.log10(np.mean(w.astype(np.float64) ** 2) + 1e-12)
            over_music.append(np.clip(w + at_dbfs(music("mix", rng), level - 10), -1, 1))
        if (r := room_silence(y)) is not None:
            room.append(r)
    out: dict[str, tuple[bool, list[np.ndarray]]] = {
        "speech": (True, speech),
        "speech+white@10dB": (True, noisy),
        "speech+music@10dB": (True, over_music),
        "room silence": (False, room),
        "digital silence": (False, [np.zeros(N, np.float32)] * 10),
    }
    for kind in ("white", "pink", "brown"):
        for dbfs in (-60, -40, -20, -6):
            out[f"{kind}@{dbfs}dBFS"] = (
                False,
                [at_dbfs(coloured(kind, rng), dbfs) for _ in range(per_noise // 4)],
            )
    for kind in ("chords", "melody", "drums", "mix", "hum"):
        out[kind] = (False, [at_dbfs(music(kind, rng), float(rng.uniform(-35, -10))) for _ in range(40)])
    return out


def measure(vad: VoiceActivityDetector | SileroVAD, data: dict[str, tuple[bool, list[np.ndarray]]]) -> dict:
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
    ap.add_argument("--vad", choices=["silero", "pitch"], default="silero")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    root = args.data or (shared_dir() or Path("../shared")) / "data" / "ravdess"
    lo, hi = (int(v) for v in args.actors.split("-"))
    res = measure(SileroVAD() if args.vad == "silero" else VoiceActivityDetector(), sets(root, lo, hi))
    if args.json:
        print(json.dumps(res))
        return
    for name, s in res["sets"].items():
        print(f"{name:<22} {s['detected']:>5}/{s['n']:<5} flagged as speech")
    print(
        f"precision {res['precision']}  recall {res['recall']}  FPR {res['false_positive_rate']}  "
        f"{res['ms_per_window']} ms/window"
    )


if __name__ == "__main__":
    main()
