"""Rebuild ``models/face_landmark.onnx`` from MediaPipe's face-mesh TFLite file in the mediapipe wheel.

Run with the export venv (see ``export/requirements.txt``)::

    .venv/bin/python -m export.face_landmarks

Steps: fetch ``mediapipe==0.10.14`` as a wheel (``pip download --no-deps`` into ``.cache/wheels``, as
:mod:`export.face_detector` does; or ``--wheel``), take ``face_landmark.tflite`` (468-point face mesh,
192×192 RGB in [0, 1]) out of it, convert it with tf2onnx (its fp16 weights become float32 constants),
name the outputs ``landmarks`` (1×1404: x, y, z per point in input pixels) and ``face_logit``, rewrite
every PRelu as ReLU plus two depthwise 1×1 convolutions (:func:`prelu_as_convs`, the same function up
to float rounding) and each zero-channel padding of a shortcut as a split convolution and a concat
(:func:`channel_pad_as_concat`, the same sums), make the input the crop as OpenCV gives it
(:func:`bgr_nchw_input`), and check ONNX against TFLite on real face crops from the shared clips and
on noise.

Why the rewrites: onnxruntime runs convolutions in a blocked (NCHWc) layout, and an op it has no
blocked kernel for costs two layout reorders around it. The CPU PRelu is such an op (a generic
broadcasting kernel): 2.7 of the network's 4.2 ms on one core (onnxruntime's profiler); as ReLU,
convolutions and an add the whole network stays in that layout: 1.05 ms, landmarks within 5e-5 px of
before. The three channel Pads were the last such ops (with a ReLU fused into its convolution where
the slopes allow it: 0.86× the network's time again).
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnx
import tf2onnx
from onnx import helper, numpy_helper

from export.face_detector import WHEEL, fetch_wheel, tflite_outputs
from export.graphs import replace_nodes

ROOT = Path(__file__).resolve().parent.parent
MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"


def face_crops(limit: int = 12) -> np.ndarray:
    """Real face crops as the daemon feeds them (3×192×192 BGR in 0..255): YuNet on the shared clips."""
    import av

    from emostream.analysis.face.landmarks import crop_for_landmarks
    from emostream.analysis.face.yunet import YuNetDetector
    from emostream.runtime import shared_dir
    from emostream.sources.video import bgr_pixels

    shared = shared_dir()
    if shared is None:
        raise SystemExit("no shared folder: the parity check needs the real clips (EMOSTREAM_SHARED)")
    det = YuNetDetector()
    crops = []
    for gif in sorted((shared / "media").glob("*.gif")):
        with av.open(str(gif)) as container:
            images = [bgr_pixels(f) for f in container.decode(video=0)]
        for image in images[::10]:
            for face in det.detect(image):
                crops.append(crop_for_landmarks(image, face.box)[0])
            if len(crops) >= limit:
                return np.stack(crops)
    return np.stack(crops)


def prelu_as_convs(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Every PRelu(x, slope) with a per-channel slope (1, C, 1, 1) becomes
    DepthwiseConv1×1[1 - slope](Relu(x)) + DepthwiseConv1×1[slope](x), in place; returns ``proto``.
    Where no slope exceeds 1 (18 of the mesh's 23) the ReLU goes after its convolution instead."""
    graph = proto.graph
    inits = {i.name: i for i in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type != "PRelu":
            nodes.append(node)
            continue
        x, slope_name = node.input
        slope = numpy_helper.to_array(inits[slope_name]).astype(np.float32)
        if slope.ndim != 4 or slope.shape[0] != 1 or slope.shape[2:] != (1, 1):
            raise SystemExit(f"{node.name}: slope of shape {slope.shape}, not per channel")
        c, p = slope.shape[1], node.name
        graph.initializer.append(numpy_helper.from_array((1.0 - slope).reshape(c, 1, 1, 1), f"{p}_pos"))
        graph.initializer.append(numpy_helper.from_array(slope.reshape(c, 1, 1, 1), f"{p}_neg"))
        conv = {"group": c, "kernel_shape": [1, 1]}
        if (slope <= 1).all():
            # (1 - slope)·relu(x) = relu((1 - slope)·x) where no slope exceeds 1: the ReLU follows
            # its convolution, and onnxruntime fuses the two (no pass of its own over the tensor)
            first = [
                helper.make_node("Conv", [x, f"{p}_pos"], [f"{p}_scaled"], name=f"{p}_a", **conv),
                helper.make_node("Relu", [f"{p}_scaled"], [f"{p}_a"]),
            ]
        else:
            first = [
                helper.make_node("Relu", [x], [f"{p}_relu"]),
                helper.make_node("Conv", [f"{p}_relu", f"{p}_pos"], [f"{p}_a"], name=f"{p}_a", **conv),
            ]
        nodes += [
            *first,
            helper.make_node("Conv", [x, f"{p}_neg"], [f"{p}_b"], name=f"{p}_b", **conv),
            helper.make_node("Add", [f"{p}_a", f"{p}_b"], list(node.output), name=p),
        ]
    replace_nodes(graph, nodes)
    return proto


def channel_pad_as_concat(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Every Add(Pad(m), Conv(y)) whose Pad appends zero channels to the shortcut ``m`` (the mesh's
    stride-2 blocks) becomes Concat(Conv_first(y) + m, Conv_rest(y)), the convolution split at
    ``m``'s channel count, in place; returns ``proto``. The same sums; onnxruntime has no blocked-layout
    Pad, so each such Pad cost two reorders out of that layout and two back, with the Add and the
    activation after it run outside the layout too."""
    graph = proto.graph
    inits = {i.name: i for i in graph.initializer}
    made = {o: n for n in graph.node for o in n.output}
    users: dict[str, list[onnx.NodeProto]] = {}
    for n in graph.node:
        for x in n.input:
            users.setdefault(x, []).append(n)
    gone: set[str] = set()
    instead: dict[str, list[onnx.NodeProto]] = {}
    for pad in (n for n in graph.node if n.op_type == "Pad"):
        extra = numpy_helper.to_array(inits[pad.input[1]]).tolist()
        (add,) = users[pad.output[0]]
        conv = made[next(x for x in add.input if x != pad.output[0])]
        named = pad.name and add.name and conv.name  # nodes are matched by name below
        if extra[:5] + extra[6:] != [0] * 7 or add.op_type != "Add" or conv.op_type != "Conv" or not named:
            raise SystemExit(f"{pad.name}: not a channel padding added to a convolution")
        w, b = (numpy_helper.to_array(inits[v]) for v in conv.input[1:3])
        c, p = w.shape[0] - extra[5], conv.name
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        for tag, part in (("first", slice(0, c)), ("rest", slice(c, None))):
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w[part]), f"{p}_{tag}_w"))
            graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(b[part]), f"{p}_{tag}_b"))
        gone |= {pad.name, conv.name}
        y = conv.input[0]
        instead[add.name] = [
            helper.make_node("Conv", [y, f"{p}_first_w", f"{p}_first_b"], [f"{p}_first"], **attrs),
            helper.make_node("Add", [f"{p}_first", pad.input[0]], [f"{p}_sum"]),
            helper.make_node("Conv", [y, f"{p}_rest_w", f"{p}_rest_b"], [f"{p}_rest"], **attrs),
            helper.make_node("Concat", [f"{p}_sum", f"{p}_rest"], list(add.output), name=add.name, axis=1),
        ]
    nodes = [m for n in graph.node if n.name not in gone for m in instead.get(n.name, [n])]
    replace_nodes(graph, nodes)
    return proto


def bgr_nchw_input(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The input becomes ``input``: 1×3×192×192 BGR in 0..255 (the warped crop, only transposed and
    cast), in place; returns ``proto``. The channel order and the 1/255 go into the first
    convolution's weights and the graph's own NHWC→NCHW transpose goes: the same function up to float
    rounding, and per face 0.1 ms less of colour conversion, scaling and transposing."""
    graph = proto.graph
    first, conv = graph.node[0], graph.node[1]
    if first.op_type != "Transpose" or conv.op_type != "Conv" or conv.input[0] != first.output[0]:
        raise SystemExit("the graph does not start with Transpose → Conv")
    inits = {i.name: i for i in graph.initializer}
    w = numpy_helper.to_array(inits[conv.input[1]])  # (out, 3 RGB channels, kh, kw)
    inits[conv.input[1]].CopyFrom(
        numpy_helper.from_array((w[:, ::-1] / 255.0).astype(np.float32), conv.input[1])
    )
    del graph.node[0]
    conv.input[0] = "input"
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, [1, 3, 192, 192]))
    return proto


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="a local mediapipe 0.10.14 wheel (else .cache/wheels)")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "face_landmark.onnx")
    args = ap.parse_args()
    wheel = args.wheel or fetch_wheel(WHEEL, ROOT / ".cache" / "wheels")
    with zipfile.ZipFile(wheel) as zf:
        original = zf.read(MEMBER)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "face_landmark.tflite"
        path.write_bytes(original)
        proto, _ = tf2onnx.convert.from_tflite(str(path), opset=13)
    # the TFLite graph names its outputs after layers (conv2d_21, conv2d_31): give them meaning
    renames = {"conv2d_21": "landmarks", "conv2d_31": "face_logit"}
    for out in proto.graph.output:
        new = renames.get(out.name)
        if new:
            for node in proto.graph.node:
                node.output[:] = [new if o == out.name else o for o in node.output]
            out.name = new
    prelu_as_convs(proto)
    channel_pad_as_concat(proto)
    bgr_nchw_input(proto)
    proto.producer_name = "emostream export/face_landmarks.py"
    proto.doc_string = f"MediaPipe face mesh landmarks from {WHEEL} ({MEMBER}), Apache-2.0"
    meta = {
        "source": f"{WHEEL}:{MEMBER}",
        "licence": "Apache-2.0",
        "input": "BGR float NCHW 1x3x192x192 in [0, 255]",
        "kind": "face_mesh_468",
    }
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(proto)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(args.out))

    import onnxruntime as ort

    sess = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(0)
    inputs = [*face_crops(), rng.uniform(0, 255, (3, 192, 192)).astype(np.float32)]
    worst = 0.0
    for x in inputs:
        rgb = np.ascontiguousarray(x[::-1].transpose(1, 2, 0)) / np.float32(255.0)  # TFLite's own input
        ref = tflite_outputs(original, rgb[None])
        got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {name: x[None]}), strict=True))
        worst = max(worst, float(np.abs(ref[0].reshape(-1) - got["landmarks"].reshape(-1)).max()))
        worst = max(worst, float(np.abs(ref[1].reshape(-1) - got["face_logit"].reshape(-1)).max()))
    print(
        f"wrote {args.out} ({args.out.stat().st_size} bytes); max |TFLite - ONNX| over "
        f"{len(inputs) - 1} real face crops and noise = {worst:.2e} (landmarks in 192-px units)"
    )


if __name__ == "__main__":
    main()
