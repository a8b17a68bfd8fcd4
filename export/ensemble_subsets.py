"""How accuracy grows with ensemble size: every subset of the given training runs, on FER2013 PublicTest.

Run with the export venv::

    .venv-export/bin/python -m export.ensemble_subsets --run checkpoints/face_cnn checkpoints/face_s2_e50 ...

Each run's best checkpoint scores the 3,589 PublicTest images once (Keras, float32); an ensemble is
the mean of its members' probabilities, as ``export/export_face.py`` builds it. Prints, per size,
the number of subsets and the mean, min and max accuracy, then one JSON object. ``--always`` runs
join every subset and are not counted in its size (a new network with k members of the old recipe,
over every choice of the k). This is an analysis of a recipe, not a way to pick members: choosing
the best subset by these figures would tune the model to PublicTest.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np

from export.face_data import load_split, model_input
from export.train_face import run_probs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, nargs="+", required=True, help="train_face.py --out folders")
    ap.add_argument("--always", type=Path, nargs="*", default=[], help="runs in every subset")
    ap.add_argument("--flip", action="store_true", help="each member also scores the mirrored face")
    ap.add_argument("--data", type=Path, help="FER2013 root (default: the first run's training data)")
    args = ap.parse_args()
    every = [*args.always, *args.run]
    data = args.data or Path(json.loads((every[0] / "hparams.json").read_text())["data"])
    images, y = load_split(data, "test")
    x = model_input(images)
    scored = []
    for run in every:
        scored.append(run_probs(run, x, args.flip))
        print(f"{run.name}: {float((scored[-1].argmax(1) == y).mean()):.4f} alone", flush=True)
    fixed = sum(scored[: len(args.always)], np.zeros_like(scored[0]))
    probs = scored[len(args.always) :]
    table = []
    for size in range(0 if args.always else 1, len(probs) + 1):
        accs = [
            float(((fixed + sum(probs[i] for i in subset)).argmax(1) == y).mean())
            for subset in itertools.combinations(range(len(probs)), size)
        ]
        stats = {"mean": np.mean(accs), "min": min(accs), "max": max(accs)}
        rounded = {k: round(float(v), 4) for k, v in stats.items()}
        table.append({"members": size, "subsets": len(accs), **rounded})
        print(" ".join(f"{k} {v}" for k, v in table[-1].items()), flush=True)
    runs = {"always": [r.name for r in args.always], "runs": [r.name for r in args.run]}
    print(json.dumps({"n": len(y), "flip": args.flip, **runs, "sizes": table}))


if __name__ == "__main__":
    main()
