"""Export the best checkpoint of ``export/train_face.py`` to ONNX with tf2onnx (the default face model).

Run with the export venv after training::

    .venv-export/bin/python export/export_face.py --run checkpoints/face_cnn

Writes ``models/emostream_face_cnn.onnx`` (dynamic batch, opset 13, float32) with the metadata that
:class:`emostream.classify.FaceEmotionClassifier` reads (``labels``, ``norm_scale``, ``norm_offset``,
``crop_margin``), and ``models/emostream_face_cnn.weights.h5`` (the Keras weights it came from, for
the parity test). ``crop_margin`` is the margin that turns a BlazeFace box into FER2013's framing,
measured on training images (see the model card). Checks ONNX against Keras on real PublicTest faces.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from face_data import LABELS, NORM_OFFSET, NORM_SCALE, SIZE, load_split
from train_face import DEFAULTS, ROOT, build_model

NAME = "emostream_face_cnn"
CROP_MARGIN = 0.05  # BlazeFace box → FER2013 framing, median over training images (model card)


def load_trained(weights: Path, width: int, flip_tta: bool = False) -> Any:
    """The float32 inference model (dropout off) with the trained weights.

    ``flip_tta``: the graph also scores the mirrored face (as a batch of 2N) and averages the two.
    """
    import tf_keras as k

    model = build_model(width, 0.0, bf16=False)
    model.load_weights(str(weights))
    if not flip_tta:
        return model
    inp = k.Input((SIZE, SIZE, 1), name="input")
    both = k.layers.Lambda(lambda t: tf.concat([t, tf.reverse(t, axis=[2])], axis=0), name="with_flip")(inp)
    probs = model(both)
    out = k.layers.Lambda(
        lambda p: (p[: tf.shape(p)[0] // 2] + p[tf.shape(p)[0] // 2 :]) * 0.5, name="predictions"
    )(probs)
    return k.Model(inp, out, name="emostream_face_cnn_flip_tta")


def to_onnx(model: Any, hp: dict, margin: float, flip_tta: bool) -> onnx.ModelProto:
    spec = (tf.TensorSpec((None, SIZE, SIZE, 1), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=13)
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = "emostream export/export_face.py"
    proto.doc_string = "emostream face-emotion CNN trained on FER2013 train (export/train_face.py)"
    meta = {
        "labels": ",".join(LABELS),
        "input_layout": "NHWC gray",
        "norm_scale": str(NORM_SCALE),
        "norm_offset": str(NORM_OFFSET),
        "crop_margin": str(margin),
        "flip_tta": "1" if flip_tta else "0",
        "source": "export/train_face.py on FER2013 train (Kaggle folder layout), best PublicTest epoch",
        "train_hparams": json.dumps({k: hp[k] for k in (*DEFAULTS, "steps_per_epoch") if k in hp}),
        "licence": "weights: MIT (emostream); trained on FER2013, a research data set (see the model card)",
    }
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(proto)
    return proto


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=ROOT / "checkpoints" / "face_cnn", help="train_face.py --out")
    ap.add_argument("--weights", type=Path, help="default: RUN/best.weights.h5")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / f"{NAME}.onnx")
    ap.add_argument("--margin", type=float, default=CROP_MARGIN)
    ap.add_argument("--flip-tta", action="store_true", help="average with the mirrored face in the graph")
    ap.add_argument("--data", type=Path, help="FER2013 root (default: shared/data/fer2013) for the check")
    args = ap.parse_args()
    hp = json.loads((args.run / "hparams.json").read_text())
    weights = args.weights or args.run / "best.weights.h5"
    model = load_trained(weights, hp["width"], args.flip_tta)
    proto = to_onnx(model, hp, args.margin, args.flip_tta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(args.out))
    keras_copy = args.out.with_suffix(".weights.h5")
    if weights.resolve() != keras_copy.resolve():  # the model's weights only, without the optimizer's
        load_trained(weights, hp["width"]).save_weights(str(keras_copy))

    import onnxruntime as ort

    data = args.data or Path(hp["data"])
    x, _ = load_split(data, "test", limit=10)
    batch = (x[..., None].astype(np.float32) * NORM_SCALE + NORM_OFFSET).astype(np.float32)
    sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": batch})[0]
    want = model.predict(batch, verbose=0)
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes, {model.count_params()} params), {keras_copy}; "
        f"max |Keras - ONNX| on {len(batch)} PublicTest faces = {float(np.abs(want - got).max()):.2e}"
    )


if __name__ == "__main__":
    main()
