"""Export the speech model trained by ``export/train_speech.py --final`` to ONNX with tf2onnx.

Writes ``models/speech_cnn.onnx`` (input ``input``: N × 64 mels × T frames × 1, batch and length
dynamic; output ``predictions``: N × 8 probabilities; opset 13, float32) with ONNX metadata
``labels``, ``features`` (:data:`emostream.analysis.voice.features.FEATURE_SPEC`), ``sample_rate``,
``window``, ``source`` and ``licence``, and ``models/speech_cnn.weights.h5`` (the Keras weights, for
the parity test), then checks ONNX against Keras on random inputs and prints the largest difference::

    .venv/bin/python -m export.export_speech [--weights checkpoints/speech/final/final.weights.h5]

Several ``--weights`` (runs of one recipe with other seeds) export their ensemble: one graph whose
output is the members' probabilities averaged (metadata ``members``), as ``speech_cv_report`` scores it.
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

from emostream.analysis.voice.features import FEATURE_SPEC, N_MELS, SAMPLE_RATE, WINDOW_SECONDS, n_frames
from emostream.types import SPEECH_EMOTIONS
from export.train_speech import HP, build_model

ROOT = Path(__file__).resolve().parent.parent
LICENCE = (
    "Trained on RAVDESS (Livingstone & Russo 2018, CC BY-NC-SA 4.0): non-commercial use only, "
    "share-alike, attribution required, until retrained on licensed data."
)


def run_arch(weights: Path) -> tuple[int, bool]:
    """(width, per-utterance norm) of the weights: the run's ``hparams.json``, else the defaults."""
    path = weights.parent.parent / "hparams.json"
    hp = {**HP, **json.loads(path.read_text())} if path.is_file() else HP
    return int(hp["width"]), bool(hp.get("norm", False))


def ensemble(members: list):
    """One network averaging the members' probabilities (each member renamed: names must be unique)."""
    import tf_keras as k

    inp = k.Input((N_MELS, None, 1), name="input")
    for i, m in enumerate(members):
        m._name = f"member{i}"
    return k.Model(inp, k.layers.Average(name="predictions")([m(inp) for m in members]), name="ensemble")


def load_keras(weights: Path, width: int | None = None, norm: bool | None = None, members: int = 1):
    """The any-length network with trained weights; ``members`` > 1: the ensemble ``export`` saved."""
    w, n = run_arch(weights)
    nets = [
        build_model(width or w, 0.0, frames=None, norm=n if norm is None else norm) for _ in range(members)
    ]
    model = nets[0] if members == 1 else ensemble(nets)
    model.load_weights(str(weights))
    return model


def export(weights: list[Path], out: Path) -> float:
    import onnx
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    archs = {run_arch(w) for w in weights}
    if len(archs) != 1:
        raise SystemExit(f"an ensemble's members must share width and norm: {archs}")
    ((width, norm),) = archs
    nets = [load_keras(w, width, norm) for w in weights]
    model = nets[0] if len(nets) == 1 else ensemble(nets)
    spec = (tf.TensorSpec((None, N_MELS, None, 1), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=13)
    meta = {
        "labels": ",".join(SPEECH_EMOTIONS),
        "features": FEATURE_SPEC,
        "sample_rate": str(SAMPLE_RATE),
        "window": str(WINDOW_SECONDS),
        "width": str(width),
        "norm": "utterance" if norm else "none",
        "members": str(len(nets)),
        "source": "emostream export/train_speech.py --final (RAVDESS speech, actors 1-20)",
        "licence": LICENCE,
    }
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))
    model.save_weights(str(out.with_suffix(".weights.h5")))  # the network's weights only, no optimizer
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for frames in (n_frames(), n_frames(2.0), n_frames(5.0)):
        x = rng.uniform(-1, 1, (4, N_MELS, frames, 1)).astype(np.float32)
        ref = model(x, training=False).numpy()
        got = sess.run(None, {"input": x})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ROOT / "checkpoints" / "speech" / "final" / "final.weights.h5"
    ap.add_argument(
        "--weights", type=Path, action="append", help=f"repeat for an ensemble (default {default})"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "speech_cnn.onnx")
    args = ap.parse_args()
    worst = export(args.weights or [default], args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); max |ONNX - Keras| = {worst:.2e}")


if __name__ == "__main__":
    main()
