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
from emostream.tools.evaluate.room import pool_indices, room_version
from export.speech_room import channel_augment, room_augment, speed

PITCH_STEPS = (-2.0, 2.0)
WINDOW = int(WINDOW_SECONDS * SAMPLE_RATE)


def ravdess(root: Path) -> list[Clip]:
    clips, _ = labelled_clips(root)
    clips = [c for c in clips if c.speaker.isdigit()]
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


def augment(
    y: np.ndarray, rng: np.random.Generator, others: list[np.ndarray] | None = None, room: bool = False
) -> np.ndarray:
    """One random 3 s training window of the (trimmed) clip ``y``. Without ``room``: shift, gain, white or
    pink noise (the first model's recipe). With ``room``: speed perturbation (½), then the room (0.6:
    reverberation + babble of ``others`` + pink noise, :func:`export.speech_room.room_augment`, on the
    whole clip as ``eval speech --room`` does) or plain noise (0.2), a band limit or codec (0.45), shift,
    gain and clipping."""
    if room:
        if rng.random() < 0.5:
            y = speed(y, float(rng.uniform(0.9, 1.1)))
        r = rng.random()
        if r < 0.6:
            y = room_augment(y, others or [], rng)
        elif r < 0.8:
            y = _noisy(y, rng)
        y = channel_augment(y, rng)
    elif rng.random() < 0.5:
        y = _noisy(y, rng)
    slack = abs(len(y) - WINDOW)
    w = fit_length(y, WINDOW, int(rng.integers(0, slack + 1))).astype(np.float64)
    w *= 10 ** (rng.uniform(-12.0, 6.0) / 20)
    return np.clip(w, -1.0, 1.0).astype(np.float32)


def _noisy(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(len(y)) if rng.random() < 0.5 else _pink(len(y), rng)
    p_sig = np.mean(y.astype(np.float64) ** 2) + 1e-12
    snr = rng.uniform(5.0, 30.0)
    noise *= np.sqrt(p_sig / (np.mean(noise**2) * 10 ** (snr / 10)))
    return (y + noise).astype(np.float32)


def babble_groups(speakers: np.ndarray, groups: np.ndarray) -> list[np.ndarray]:
    """Per clip, the clips whose voices may be its babble: the same fold group, another speaker. A
    clip's group is held out with it, so babble never carries a voice of a fold's held-out actors
    into that fold's training."""
    return [np.flatnonzero((groups == g) & (speakers != s)) for s, g in zip(speakers, groups, strict=True)]


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
    waves: list[list[np.ndarray]],
    versions: int,
    cache: Path,
    seed: int = 0,
    babble: list[np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Features computed once: ``versions`` augmented 3 s windows per clip (``aug``: clips × versions ×
    mels × frames, float16) and every clip's evaluation windows (``val``, with ``val_start`` offsets).
    With ``babble`` (per clip, the indices of clips it may hear: :func:`babble_groups`) the windows are
    room-augmented."""
    recipe = "room-v1" if babble is not None else "noise-v1"
    if cache.is_file():
        z = np.load(cache)
        if z["aug"].shape[:2] == (len(waves), versions) and str(z.get("recipe", "noise-v1")) == recipe:
            return dict(z)
    t0 = time.monotonic()
    rng = np.random.default_rng(seed)
    aug, val, starts = [], [], [0]
    for i, vs in enumerate(waves):
        picks = [0 if rng.random() < 0.5 else int(rng.integers(1, len(vs))) for _ in range(versions)]
        rows = []
        for v in picks:
            others = None
            if babble is not None and len(babble[i]):
                others = [
                    waves[int(j)][0]
                    for j in rng.choice(babble[i], size=min(6, len(babble[i])), replace=False)
                ]
            rows.append(logmel(augment(vs[v], rng, others, room=babble is not None)))
        aug.append(np.stack(rows).astype(np.float16))
        feats = clip_features(vs[0])[..., 0].astype(np.float16)
        val.append(feats)
        starts.append(starts[-1] + len(feats))
        if (i + 1) % 200 == 0:
            print(f"features {i + 1}/{len(waves)} clips in {time.monotonic() - t0:.0f}s", flush=True)
    bank = {
        "aug": np.stack(aug),
        "val": np.concatenate(val),
        "val_start": np.array(starts),
        "recipe": np.array(recipe),
    }
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **bank)
    tmp.replace(cache)
    return bank


def room_features(
    clips: list[Clip], waves: list[list[np.ndarray]], idx: np.ndarray, seed: int
) -> list[np.ndarray]:
    """Evaluation windows of the clips ``idx`` in the rooms ``eval speech --room seed`` plays them in when
    given a folder of exactly those clips (same babble pool, same per-file rooms)."""
    sub = [clips[int(i)] for i in idx]
    pool = [(sub[j].path.name, sub[j].speaker, waves[int(idx[j])][0]) for j in pool_indices(len(sub), seed)]
    out = []
    for c, i in zip(sub, idx, strict=True):
        wet, _ = room_version(waves[int(i)][0], c.path.name, c.speaker, pool, seed)
        out.append(clip_features(wet)[..., 0].astype(np.float16))
    return out


def train_batch(bank: dict[str, np.ndarray], idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(len(idx), mels, frames, 1) float32: one random precomputed version per clip, SpecAugment-masked."""
    versions = rng.integers(0, bank["aug"].shape[1], len(idx))
    return np.stack(
        [spec_mask(bank["aug"][i, v].astype(np.float32), rng) for i, v in zip(idx, versions, strict=True)]
    )[..., None]


def clip_features(y: np.ndarray) -> np.ndarray:
    """(windows, mels, frames, 1) features of one untouched clip, cut as evaluation and the CLI cut it."""
    return np.stack([logmel(w) for w in clip_windows(y)])[..., None]
