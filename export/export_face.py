"""Export the best checkpoint of ``export/train_face.py`` to ONNX with tf2onnx (the default face model).

Run with the export venv after training::

    .venv-export/bin/python -m export.export_face --run checkpoints/face_cnn [checkpoints/face_s2 ...]

Several ``--run`` folders make one ensemble graph that averages the members' probabilities (each
member: the best checkpoint of its own, independently seeded run).

Writes ``models/emostream_face_ferplus.onnx`` (dynamic batch, opset 13, float32) with the metadata that
:class:`emostream.analysis.face.classify.FaceEmotionClassifier` reads (``labels``, ``norm_scale``,
``norm_offset``, ``crop_margin``, ``train_hparams``: one entry per member), and
``models/emostream_face_ferplus.weights.h5`` (the Keras weights it came from, for the parity test).
``crop_margin`` is the margin that turns a BlazeFace box into FER2013's framing, measured on training
images (see the model card). Checks ONNX against the Keras model reloaded from that weights file on real
PublicTest faces.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from export.face_data import LABELS, NORM_OFFSET, NORM_SCALE, SIZE, load_split, model_input
from export.train_face import DEFAULTS, ROOT, build_model

NAME = "emostream_face_ferplus"
CROP_MARGIN = 0.05  # BlazeFace box → FER2013 framing, median over training images (model card)


def _with_flip(model: Any) -> Any:
    """``model`` that also scores the mirrored face (as a batch of 2N) and averages the two."""
    import tf_keras as k

    inp = k.Input((SIZE, SIZE, 1), name="input")
    both = k.layers.Lambda(lambda t: tf.concat([t, tf.reverse(t, axis=[2])], axis=0), name="with_flip")(inp)
    probs = model(both)
    out = k.layers.Lambda(
        lambda p: (p[: tf.shape(p)[0] // 2] + p[tf.shape(p)[0] // 2 :]) * 0.5, name="predictions"
    )(probs)
    return k.Model(inp, out, name=f"{model.name}_flip_tta")


def build_ensemble(widths: Sequence[int], member_weights: Sequence[Path] | None = None) -> Any:
    """One float32 inference model (dropout off) that averages the probabilities of ``len(widths)`` CNNs.

    With ``member_weights`` each member gets the best checkpoint of its own training run; without,
    the caller loads the whole ensemble's weights (``models/emostream_face_ferplus.weights.h5``).
    A single width is the plain CNN, not wrapped.
    """
    import tf_keras as k

    members = []
    for i, width in enumerate(widths):
        member = build_model(width, 0.0, bf16=False)
        if member_weights is not None:
            member.load_weights(str(member_weights[i]))
        if len(widths) > 1:
            member._name = f"member{i}"  # nested models need unique names
        members.append(member)
    if len(members) == 1:
        return members[0]
    inp = k.Input((SIZE, SIZE, 1), name="input")
    out = k.layers.Average(name="predictions")([m(inp) for m in members])
    return k.Model(inp, out, name=f"{NAME}_ensemble{len(members)}")


def load_trained(weights: Path, widths: int | Sequence[int], flip_tta: bool = False) -> Any:
    """The exported model rebuilt from its Keras weights file (one width: the plain CNN)."""
    widths = [widths] if isinstance(widths, int) else list(widths)
    model = build_ensemble(widths)
    model.load_weights(str(weights))
    return _with_flip(model) if flip_tta else model


def to_onnx(
    model: Any, hps: Sequence[dict], margin: float, flip_tta: bool, epoch: str = "best PublicTest"
) -> onnx.ModelProto:
    """tf2onnx conversion with the metadata the classifier reads; ``hps``: each member's training hparams."""
    spec = (tf.TensorSpec((None, SIZE, SIZE, 1), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=13)
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = "emostream export/export_face.py"
    what = "CNN" if len(hps) == 1 else f"ensemble of {len(hps)} CNNs (mean probability)"
    crowd = all(hp.get("crowd") for hp in hps)
    labels = "FER+ crowd votes on FER2013 train" if crowd else "FER2013 train"
    proto.doc_string = f"emostream face-emotion {what} trained on {labels} (python -m export.train_face)"
    keep = (*DEFAULTS, "teacher", "steps_per_epoch")  # a distilled member names its teachers
    meta = {
        "labels": ",".join(LABELS),
        "input_layout": "NHWC gray",
        "norm_scale": str(NORM_SCALE),
        "norm_offset": str(NORM_OFFSET),
        "crop_margin": str(margin),
        "flip_tta": "1" if flip_tta else "0",
        "source": f"python -m export.train_face on {labels} (Kaggle folder layout), {epoch} epoch",
        "train_hparams": json.dumps([{k: hp[k] for k in keep if k in hp} for hp in hps]),
        "licence": "weights: MIT (emostream); trained on FER2013, a research data set (see the model card)",
    }
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(proto)
    return proto


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--run",
        type=Path,
        nargs="+",
        default=[ROOT / "checkpoints" / "face_fp_w64_s15"],
        help="train_face.py --out; several: an ensemble that averages their probabilities",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "models" / f"{NAME}.onnx")
    ap.add_argument("--margin", type=float, default=CROP_MARGIN)
    ap.add_argument("--flip-tta", action="store_true", help="average with the mirrored face in the graph")
    ap.add_argument("--data", type=Path, help="FER2013 root (default: shared/data/fer2013) for the check")
    ap.add_argument(
        "--weights",
        choices=["best", "last"],
        default="best",
        help="each run's best-validation epoch (best.weights.h5) or its last one (last.weights.h5)",
    )
    args = ap.parse_args()
    hps = [json.loads((run / "hparams.json").read_text()) for run in args.run]
    widths = [hp["width"] for hp in hps]
    plain = build_ensemble(widths, [run / f"{args.weights}.weights.h5" for run in args.run])
    model = _with_flip(plain) if args.flip_tta else plain
    epoch = "best PublicTest" if args.weights == "best" else "last"
    proto = to_onnx(model, hps, args.margin, args.flip_tta, epoch)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(args.out))
    keras_copy = args.out.with_suffix(".weights.h5")
    plain.save_weights(str(keras_copy))  # the model's weights only, without the optimizer's

    import onnxruntime as ort

    data = args.data or Path(hps[0]["data"])
    x, _ = load_split(data, "test", limit=10)
    batch = model_input(x)
    sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": batch})[0]
    want = load_trained(keras_copy, widths, args.flip_tta).predict(batch, verbose=0)
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes, {model.count_params()} params), {keras_copy}; "
        f"max |Keras (reloaded) - ONNX| on {len(batch)} PublicTest faces = {np.abs(want - got).max():.2e}"
    )


if __name__ == "__main__":
    main()
