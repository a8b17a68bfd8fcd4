"""Rebuild ``models/blazeface_full.onnx`` from the BlazeFace full-range TFLite file in the mediapipe wheel.

Run with the export venv (see ``export/requirements.txt``)::

    .venv-export/bin/python -m export.face_detector            # full range (the shipped default)
    .venv-export/bin/python -m export.face_detector --short    # short range, for comparison only

Steps: fetch ``mediapipe==0.10.14`` as a wheel (``pip download --no-deps`` into ``.cache/wheels``;
offline once cached, or pass ``--wheel``), take ``face_detection_full_range_sparse.tflite`` out of
it, replace every DENSIFY op by the dense constant it computes (tf2onnx has no DENSIFY handler;
the values are read back from ``tf.lite.Interpreter`` with all tensors preserved, so they are bit
for bit what TFLite uses), convert with tf2onnx, and check the ONNX raw outputs against TFLite.
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from export.wheels import fetch_wheel

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "mediapipe==0.10.14"
MEMBERS = {
    "full": "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
    "short": "mediapipe/modules/face_detection/face_detection_short_range.tflite",
}
OUTPUTS = {"full": "blazeface_full.onnx", "short": "blazeface_short.onnx"}


def densify(src: bytes) -> bytes:
    """The same TFLite model with every DENSIFY op replaced by its (dense) output as a constant."""
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(src))
    densify_code = schema.BuiltinOperator.DENSIFY
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    graph = model.subgraphs[0]
    targets = [op for op in graph.operators if codes[op.opcodeIndex] == densify_code]
    if not targets:
        return src
    interp = tf.lite.Interpreter(
        model_content=src,
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interp.allocate_tensors()
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    interp.invoke()
    for op in targets:
        out = op.outputs[0]
        dense = interp.get_tensor(out)
        tensor = graph.tensors[out]
        buf = schema.BufferT()
        buf.data = np.frombuffer(np.ascontiguousarray(dense).tobytes(), np.uint8).tolist()
        model.buffers.append(buf)
        tensor.buffer = len(model.buffers) - 1
        sparse = graph.tensors[op.inputs[0]]
        sparse.sparsity, sparse.buffer = None, 0  # left unused and empty
    graph.operators = [op for op in graph.operators if codes[op.opcodeIndex] != densify_code]
    print(f"densified {len(targets)} sparse weight tensors")
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def tflite_outputs(content: bytes, x: np.ndarray) -> list[np.ndarray]:
    interp = tf.lite.Interpreter(model_content=content)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--short", action="store_true", help="convert the short-range model instead")
    ap.add_argument(
        "--wheel", type=Path, help="a local mediapipe 0.10.14 wheel (else fetched into .cache/wheels)"
    )
    ap.add_argument("--out", type=Path, help="output file (default models/blazeface_<range>.onnx)")
    args = ap.parse_args()
    which = "short" if args.short else "full"
    wheel = args.wheel or fetch_wheel(WHEEL, ROOT / ".cache" / "wheels")
    with zipfile.ZipFile(wheel) as zf:
        original = zf.read(MEMBERS[which])
    dense = densify(original)
    out = args.out or ROOT / "models" / OUTPUTS[which]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dense.tflite"
        path.write_bytes(dense)
        proto, _ = tf2onnx.convert.from_tflite(str(path), opset=13)
    proto.producer_name = "emostream export/face_detector.py"
    proto.doc_string = f"MediaPipe BlazeFace {which} range from {WHEEL} ({MEMBERS[which]}), Apache-2.0"
    meta = {
        "source": f"{WHEEL}:{MEMBERS[which]}",
        "licence": "Apache-2.0",
        "input": "RGB float NHWC in [-1, 1]",
        "kind": "blazeface",
    }
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(proto)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))

    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    size = sess.get_inputs()[0].shape[1]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, size, size, 3)).astype(np.float32)
    ref = tflite_outputs(original, x)
    got = sess.run(None, {sess.get_inputs()[0].name: x})
    by_shape = {g.shape: g for g in got}
    diff = max(float(np.abs(r - by_shape[r.shape]).max()) for r in ref)
    print(f"wrote {out} ({out.stat().st_size} bytes); max |TFLite - ONNX| on noise = {diff:.2e}")


if __name__ == "__main__":
    main()
