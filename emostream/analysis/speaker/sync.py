"""How well a mouth follows a voice: correlation of mouth movement and speech loudness.

Both signals are put on one grid of ``GRID_HZ`` over media time: the voice as its loudness (RMS in
40 ms frames, in dB, floored 40 dB below the loudest frame, so pauses count as quiet rather than as
minus infinity), the mouth as its **movement**: the opening (inner-lip gap over mouth width)
interpolated between the sampled frames, differentiated and smoothed over 0.2 s. Movement rather
than opening, because a resting mouth's opening differs from person to person and a mouth left
half open after a sentence is still silent: a talking mouth moves while there is sound and is
still while there is none. The score is Pearson's correlation of the two, the best over small shifts
of the mouth against the voice (±``MAX_LAG`` s: lips move slightly before the sound they shape, and a
camera's and a microphone's clocks may differ by a frame or two).

Correlation, not movement alone: two people can both move their lips, but only the speaker's mouth
moves with the syllables this microphone hears. But correlation is blind to size: a still mouth
whose landmarks jitter can, by chance, twitch just as the voice starts. So the movement's variance
in the correlation's denominator is floored at ``MOTION_FLOOR``: a mouth moving much less than that
scores near 0 however well it "follows".
"""

from __future__ import annotations

import numpy as np

__all__ = ["GRID_HZ", "MAX_LAG", "loudness", "movement", "synchrony"]

GRID_HZ = 25.0
MAX_LAG = 0.2
FRAME = 0.04
FLOOR_DB = 40.0
MOTION_FLOOR = 0.1  # movement sd (mouth widths per second) below which a mouth counts as still
SMOOTH = 5  # grid steps (0.2 s) of movement averaged
MIN_COVER = 0.6  # share of the window a track's mouth samples must span to be scored at all


def loudness(samples: np.ndarray, sr: int, t_end: float) -> tuple[np.ndarray, np.ndarray]:
    """(grid times, loudness in dB) of ``samples`` ending at media time ``t_end``."""
    hop = round(sr / GRID_HZ)
    n = len(samples) // hop
    if n == 0:
        return np.zeros(0), np.zeros(0)
    win = round(FRAME * sr)
    pad = np.pad(samples.astype(np.float64), (win // 2, win // 2))
    starts = np.arange(n) * hop
    rms = np.array([np.sqrt(np.mean(pad[s : s + win] ** 2)) for s in starts]) + 1e-10
    db = 20 * np.log10(rms)
    db = np.maximum(db, db.max() - FLOOR_DB)
    t0 = t_end - len(samples) / sr
    return t0 + (starts + hop / 2) / sr, db


def _pearson(mouth: np.ndarray, voice: np.ndarray) -> float:
    """Pearson's r with the movement's variance floored at MOTION_FLOOR² (see the module doc)."""
    a, b = mouth - mouth.mean(), voice - voice.mean()
    var_a = float((a * a).mean()) + MOTION_FLOOR**2
    den = float(np.sqrt(var_a * (b * b).mean()))
    return float((a * b).mean() / den) if den > 1e-12 else 0.0


def movement(grid_t: np.ndarray, mouth_t: np.ndarray, mouth: np.ndarray) -> np.ndarray:
    """The mouth's speed of opening or closing (mouth widths per second) on ``grid_t``, smoothed."""
    m = np.interp(grid_t, mouth_t, mouth)
    speed = np.abs(np.gradient(m)) * GRID_HZ if len(m) > 1 else np.zeros_like(m)
    pad = np.pad(speed, (SMOOTH // 2, SMOOTH // 2), mode="edge")
    return np.convolve(pad, np.ones(SMOOTH) / SMOOTH, mode="valid")


def synchrony(grid_t: np.ndarray, voice: np.ndarray, mouth_t: np.ndarray, mouth: np.ndarray) -> float | None:
    """The best correlation of ``mouth`` (sampled at ``mouth_t``) with ``voice`` (on ``grid_t``) over
    shifts of ±MAX_LAG; None when the mouth was seen for less than MIN_COVER of the window."""
    if len(grid_t) < 4 or len(mouth_t) < 3:
        return None
    span = grid_t[-1] - grid_t[0]
    if mouth_t[-1] - mouth_t[0] < MIN_COVER * span:
        return None
    best = -1.0
    steps = round(MAX_LAG * GRID_HZ)
    for k in range(-steps, steps + 1):
        shifted = grid_t + k / GRID_HZ  # the mouth k grid steps later than the voice
        inside = (shifted >= mouth_t[0]) & (shifted <= mouth_t[-1])
        if inside.sum() < max(4, MIN_COVER * len(grid_t)):
            continue
        best = max(best, _pearson(movement(shifted[inside], mouth_t, mouth), voice[inside]))
    return best if best > -1.0 else None
