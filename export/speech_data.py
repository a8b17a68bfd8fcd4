"""RAVDESS for the speech model: clip listing, a waveform cache with pitch-shifted copies, augmentation.

Every clip is read once (any rate, WAV or FLAC → 16 kHz mono), trimmed of leading/trailing silence by
:func:`emostream.analysis.voice.features.trim` and stored with two pitch-shifted copies (±2 semitones,
librosa) in ``<out>/waves.npz``. Each epoch then draws, per clip: one of the three versions (original with
probability 1/2), a random 3 s placement (time shift: a random cut of a longer clip, a random offset in
the window for a shorter one), a random gain (-12..+6 dB; samples clipped to [-1, 1]) and, with
probability 1/2, white or pink noise at 5..30 dB SNR; features come from
:func:`emostream.analysis.voice.features.logmel`, the daemon's own function. To keep training cheap on a
shared CPU, ``versions`` such augmented windows per clip are computed once (:func:`build_bank`, cached in
``<out>/bank.npz``); each epoch picks one of them per clip and adds SpecAugment-style masks (one band of ≤
8 mels, one of ≤ 30 frames).
"""

from __future__ import annotations

import time
from pathlib import Path

import librosa
import numpy as np

from emostream.analysis.voice.features import (
    SAMPLE_RATE,
    WINDOW_SECONDS,
    clip_windows,
    fit_length,
    load_audio,
    logmel,
    trim,
)
from emostream.tools.evaluate.corpus import Clip, labelled_clips

PITCH_STEPS = (-2.0, 2.0)
WINDOW = int(WINDOW_SECONDS * SAMPLE_RATE)


def ravdess(root: Path) -> list[Clip]:
    clips, _ = labelled_clips(root)
    clips = [c for c in clips if c.speaker]
    if not clips:
        raise SystemExit(f"no RAVDESS clips (Actor_XX/03-01-EE-…) under {root}")
    return clips


def load_waves(clips: list[Clip], cache: Path) -> list[list[np.ndarray]]:
    """Per clip [original, pitch -2, pitch +2] trimmed 16 kHz waveforms, cached in ``cache``."""
    names = [str(c.path) for c in clips]
    if cache.is_file():
        z = np.load(cache, allow_pickle=True)
        if list(z["names"]) == names:
            return list(z["waves"])
    t0 = time.monotonic()
    waves: list[list[np.ndarray]] = []
    for i, c in enumerate(clips):
        y = trim(load_audio(c.path))
        versions = [y] + [
            librosa.effects.pitch_shift(y, sr=SAMPLE_RATE, n_steps=s, res_type="soxr_hq").astype(np.float32)
            for s in PITCH_STEPS
        ]
        waves.append(versions)
        if (i + 1) % 200 == 0:
            print(f"cached {i + 1}/{len(clips)} clips in {time.monotonic() - t0:.0f}s", flush=True)
    arr = np.empty(len(waves), dtype=object)
    arr[:] = waves
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, names=np.array(names), waves=arr)
    tmp.replace(cache)
    return waves


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def augment(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random 3 s training window of the (trimmed) clip ``y``: shift, gain, noise."""
    slack = abs(len(y) - WINDOW)
    w = fit_length(y, WINDOW, int(rng.integers(0, slack + 1))).astype(np.float64)
    if rng.random() < 0.5:
        noise = rng.standard_normal(WINDOW) if rng.random() < 0.5 else _pink(WINDOW, rng)
        p_sig = np.mean(y.astype(np.float64) ** 2) + 1e-12
        snr = rng.uniform(5.0, 30.0)
        noise *= np.sqrt(p_sig / (np.mean(noise**2) * 10 ** (snr / 10)))
        w = w + noise
    w *= 10 ** (rng.uniform(-12.0, 6.0) / 20)
    return np.clip(w, -1.0, 1.0).astype(np.float32)


def spec_mask(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = x.copy()
    low = float(x.min())
    f = int(rng.integers(0, 9))
    f0 = int(rng.integers(0, x.shape[0] - f + 1))
    x[f0 : f0 + f, :] = low
    t = int(rng.integers(0, 31))
    t0 = int(rng.integers(0, x.shape[1] - t + 1))
    x[:, t0 : t0 + t] = low
    return x


def build_bank(
    waves: list[list[np.ndarray]], versions: int, cache: Path, seed: int = 0
) -> dict[str, np.ndarray]:
    """Features computed once: ``versions`` augmented 3 s windows per clip (``aug``: clips × versions ×
    mels × frames, float16) and every clip's evaluation windows (``val``, with ``val_start`` offsets)."""
    if cache.is_file():
        z = np.load(cache)
        if z["aug"].shape[:2] == (len(waves), versions):
            return dict(z)
    t0 = time.monotonic()
    rng = np.random.default_rng(seed)
    aug, val, starts = [], [], [0]
    for i, vs in enumerate(waves):
        picks = [0 if rng.random() < 0.5 else int(rng.integers(1, len(vs))) for _ in range(versions)]
        aug.append(np.stack([logmel(augment(vs[v], rng)) for v in picks]).astype(np.float16))
        feats = clip_features(vs[0])[..., 0].astype(np.float16)
        val.append(feats)
        starts.append(starts[-1] + len(feats))
        if (i + 1) % 200 == 0:
            print(f"features {i + 1}/{len(waves)} clips in {time.monotonic() - t0:.0f}s", flush=True)
    bank = {"aug": np.stack(aug), "val": np.concatenate(val), "val_start": np.array(starts)}
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **bank)
    tmp.replace(cache)
    return bank


def train_batch(bank: dict[str, np.ndarray], idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(len(idx), mels, frames, 1) float32: one random precomputed version per clip, SpecAugment-masked."""
    versions = rng.integers(0, bank["aug"].shape[1], len(idx))
    return np.stack(
        [spec_mask(bank["aug"][i, v].astype(np.float32), rng) for i, v in zip(idx, versions, strict=True)]
    )[..., None]


def clip_features(y: np.ndarray) -> np.ndarray:
    """(windows, mels, frames, 1) features of one untouched clip, cut as evaluation and the CLI cut it."""
    return np.stack([logmel(w) for w in clip_windows(y)])[..., None]
