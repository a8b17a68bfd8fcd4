"""Speaker attribution and fused emotion, measured on clips built from the shared material.

Run with the project venv (no TensorFlow needed), pinned to one core for the cost figures::

    taskset -c 0 .venv/bin/python -m export.measure_speaker [--json out.json]

* **Calibration** (sets ``speaker.min_sync``): nine off-screen clips, GIF pairs with speech of RAVDESS
  actors 2–4 and 8–13; per segment the best non-speaker's synchrony (its 50th / 90th / 95th
  percentiles), and the share of their segments the shipped rule gives to nobody. These clips are
  not scored below.
* **Attribution**: the AV clip beside itself delayed by 2 s (speaker left, speaker right; 5 sentences
  each) and three other off-screen clips (GIF pairs (1, 3), (0, 5), (2, 4), actors 5, 6, 7): the share
  of voiced windows and of segments attributed right (off screen: to nobody).
* **Fused emotion**: the one labelled audio-visual clip (``media/av``, RAVDESS actor 1, *disgust*),
  looped with pauses: the share of time each modality's stable emotion is the label.
* **Cost**: the landmark model and board per analysed frame with two faces, and a camera without
  audio (no landmark model loaded).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from emostream.analysis.speaker.fusion import SPEECH_TO_COMMON
from emostream.analysis.voice.features import load_audio
from emostream.runtime import shared_dir
from emostream.tools.evaluate.speakers import (
    ClipResult,
    attribute_clip,
    attribution_accuracy,
    looped,
    off_screen,
    side_by_side,
)

CALIBRATION = [
    ((0, 1), 2),
    ((2, 3), 3),
    ((4, 5), 4),
    ((0, 2), 8),
    ((1, 4), 9),
    ((3, 5), 10),
    ((0, 4), 11),
    ((1, 5), 12),
    ((2, 5), 13),
]
EVALUATION = [((1, 3), 5), ((0, 5), 6), ((2, 4), 7)]


def speech(shared: Path, actor: int, n: int = 6) -> np.ndarray:
    """``n`` of the actor's recordings, each followed by 2 s of silence (one segment each)."""
    clips = sorted((shared / "data" / "ravdess" / f"Actor_{actor:02d}").glob("*.*"))[:n]
    parts: list[np.ndarray] = []
    for c in clips:
        parts += [load_audio(c), np.zeros(32_000, np.float32)]
    return np.concatenate(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    shared = shared_dir()
    if shared is None:
        raise SystemExit("needs the shared folder (EMOSTREAM_SHARED)")
    gifs = sorted((shared / "media").glob("*.gif"))
    av_clip = next((shared / "media" / "av").glob("*.mp4"))
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        best: list[float] = []
        nobody = 0
        for (a, b), actor in CALIBRATION:
            res = attribute_clip(off_screen([gifs[a], gifs[b]], speech(shared, actor), d / f"cal{a}{b}.mp4"))
            best += [max(att.scores.values(), default=0.0) for att in res.segments.values() if att]
            nobody += round(attribution_accuracy(res, None)[1] * len(res.segments))
        out["calibration"] = {
            "segments": len(best),
            "nobody": nobody,
            "p50": round(float(np.percentile(best, 50)), 3),
            "p90": round(float(np.percentile(best, 90)), 3),
            "p95": round(float(np.percentile(best, 95)), 3),
        }
        print("calibration (best non-speaker synchrony per segment):", out["calibration"])
        rows = {}
        for side in ("left", "right"):
            res = attribute_clip(side_by_side(av_clip, d / f"sbs_{side}.mp4", speaker=side))
            w, s, nw, ns = attribution_accuracy(res, side)
            rows[f"speaker {side}"] = {"windows": nw, "window_acc": w, "segments": ns, "segment_acc": s}
            rows[f"speaker {side}"]["landmark_ms_per_frame"] = round(res.landmark_ms, 2)
            rows[f"speaker {side}"]["camera_ms_per_frame_median"] = round(float(np.median(res.camera_ms)), 2)
        for (a, b), actor in EVALUATION:
            res = attribute_clip(off_screen([gifs[a], gifs[b]], speech(shared, actor), d / f"off{a}{b}.mp4"))
            w, s, nw, ns = attribution_accuracy(res, None)
            rows[f"off screen {a}{b}"] = {"windows": nw, "window_acc": w, "segments": ns, "segment_acc": s}
        for name, r in rows.items():
            print(f"{name:<16} windows {r['windows']:>3} right {r['window_acc']:.3f}   "
                  f"segments {r['segments']:>2} right {r['segment_acc']:.3f}")  # fmt: skip
        out["attribution"] = rows
        res = attribute_clip(looped(av_clip, d / "av_alone.mp4"))
        out["fused"] = fused_figures(res, "disgust")
        print("label disgust, share of stable time per modality:", out["fused"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


def fused_figures(res: ClipResult, label: str) -> dict[str, dict[str, float]]:
    """Per modality, the share of each emotion over the final decisions of its tracks or segments
    (the ``shares`` of face.lost / voice.stopped / person.stopped, averaged), and the label's share.
    RAVDESS's labels map as the fused events map them (calm → neutral, fearful → fear, …)."""
    by: dict[str, list[dict[str, float]]] = {"face": [], "voice": [], "fused": []}
    for d in res.face:
        if d.kind == "lost" and d.shares:
            by["face"].append(d.shares)
    for d in res.voice:
        if d.kind == "lost" and d.shares:
            shares = d.shares if d.modality == "fused" else _common(d.shares)
            by["fused" if d.modality == "fused" else "voice"].append(shares)
    out = {}
    for mod, shares in by.items():
        if shares:
            keys = sorted({k for s in shares for k in s})
            mean = {k: round(float(np.mean([s.get(k, 0.0) for s in shares])), 3) for k in keys}
            out[mod] = {"label_share": mean.get(label, 0.0), "n": len(shares), **mean}
    return out


def _common(shares: dict[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in shares.items():
        out[SPEECH_TO_COMMON[k]] = out.get(SPEECH_TO_COMMON[k], 0.0) + v
    return out


if __name__ == "__main__":
    main()
