"""Clean, room, per-SNR and per-class figures of a finished speech cross-validation run.

Each fold's final weights score that fold's held-out actors clean and in the rooms of
``emostream eval speech --room 0`` (the same rooms, babble pool and windows as
:func:`export.speech_data.room_features`), with each recording's SNR kept for the buckets::

    .venv/bin/python -m export.speech_cv_report --run checkpoints/speech_room_w128 [--json out.json]

With several ``--run`` (runs of the same folds, e.g. the same recipe with other ``--seed``) each fold
is scored by their ensemble: the members' clip probabilities averaged, as the exported ensemble does.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np

from emostream.tools.evaluate.room import pool_indices, room_version, snr_bucket
from emostream.tools.evaluate.speech import SpeechReport
from emostream.types import SPEECH_EMOTIONS
from export.speech_data import clip_features, load_waves, ravdess
from export.train_speech import ROOM_SEED, build_model


def _vote(models: list, feats: np.ndarray) -> int:
    """The class of a clip: its windows' probabilities averaged, then the members' averages."""
    return int(np.argmax(np.mean([m(feats, training=False).numpy().mean(axis=0) for m in models], axis=0)))


def fold_reports(runs: list[Path]) -> dict[str, SpeechReport]:
    hps = [json.loads((r / "hparams.json").read_text()) for r in runs]
    hp, run = hps[0], runs[0]
    for other in hps[1:]:  # an ensemble's members must have held out the same actors
        if any(other[k] != hp[k] for k in ("actors", "folds", "data", "n_clips")):
            raise SystemExit(f"runs differ in their folds: {hp} / {other}")
    lo, hi = (int(v) for v in hp["actors"].split("-"))
    clips = [c for c in ravdess(Path(hp["data"])) if lo <= int(c.speaker) <= hi]
    waves = load_waves(clips, run / "waves.npz")
    actors = np.array([int(c.speaker) for c in clips])
    reps: dict[str, SpeechReport] = {
        "clean": SpeechReport(SPEECH_EMOTIONS),
        "room": SpeechReport(SPEECH_EMOTIONS),
    }
    for f in range(hp["folds"]):
        models = []
        for r, h in zip(runs, hps, strict=True):
            models.append(build_model(h["width"], 0.0, frames=None, norm=h.get("norm", False)))
            models[-1].load_weights(str(r / f"fold{f}" / "final.weights.h5"))
        idx = np.flatnonzero((actors - lo) % hp["folds"] == f)
        sub = [clips[int(i)] for i in idx]
        pool = [
            (sub[j].path.name, sub[j].speaker, waves[int(idx[j])][0])
            for j in pool_indices(len(sub), ROOM_SEED)
        ]
        for c, i in zip(sub, idx, strict=True):
            wet, room = room_version(waves[int(i)][0], c.path.name, c.speaker, pool, ROOM_SEED)
            clean = _vote(models, clip_features(waves[int(i)][0]))
            wet_vote = _vote(models, clip_features(wet))
            for name, pred in (("clean", clean), ("room", wet_vote), (snr_bucket(room.snr_db), wet_vote)):
                rep = reps.setdefault(name, SpeechReport(SPEECH_EMOTIONS))
                rep.truth.append(c.label)
                rep.pred.append(pred)
    return reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, action="append", required=True, help="repeat for an ensemble")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    reps = fold_reports(args.run)
    out = {
        k: {"n": r.n, "accuracy": round(r.accuracy, 4), "macro_f1": round(r.macro_f1, 4), "f1": r.f1()}
        for k, r in reps.items()
    }
    for k, v in out.items():
        f1 = " ".join(f"{lb[:5]} {x:.2f}" for lb, x in v["f1"].items())
        print(f"{k:<10} n {v['n']:>5}  accuracy {v['accuracy']:.4f}  macro-F1 {v['macro_f1']:.4f}  F1: {f1}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {k: {**v, "confusion": reps[k].confusion().tolist()} for k, v in out.items()}, indent=1
            )
        )


if __name__ == "__main__":
    main()
