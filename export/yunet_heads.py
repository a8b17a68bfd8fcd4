"""Rebuild ``models/yunet_s_dynamic.onnx``: the shared YuNet-s with its twelve output heads merged into three.

Run with the project venv (needs only ``onnx`` and onnxruntime, no TensorFlow)::

    .venv/bin/python -m export.yunet_heads

libfacedetection's export ends each of its three strides (8, 16, 32) in four heads (class, objectness,
box, five keypoints), each a 1×1 convolution from the stride's features into 1 / 1 / 4 / 10 channels,
a depthwise 3×3 convolution, a transpose to channels-last and a reshape computed from the input's
shape, the class and objectness heads then a sigmoid. Nothing mixes the channels after the 1×1
convolution, so the four heads of a stride are one 1×1 convolution into 16 channels and one
depthwise 3×3 over those 16: the same sums. Per stride this writes one output ``head_{s}``
(N × anchors × 16: class and objectness *logits*, the four box and ten keypoint values), read by
:class:`emostream.analysis.face.yunet.YuNetDetector` (which applies the sigmoid to the few anchors
that can pass its threshold).

Why: onnxruntime leaves its blocked layout once per graph output, and each of the twelve heads also
paid its own small convolutions, shape arithmetic and sigmoid; on the detector's windows (a 96×96
window costs 0.2 ms) that was a quarter of the time. The result is checked against the original
(the shared file) on noise at three input sizes before it is written;
``tests/unit/test_detect.py`` compares the two as detectors on the shared clips.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from export.graphs import replace_nodes

ROOT = Path(__file__).resolve().parent.parent
KINDS = (("cls", 1), ("obj", 1), ("bbox", 4), ("kps", 10))  # the order of a merged head's channels
STRIDES = (8, 16, 32)
SHAPE_OPS = {"Shape", "Gather", "Unsqueeze", "Concat"}


def merge_heads(proto: onnx.ModelProto) -> onnx.ModelProto:
    """The four heads of each stride as one (see the module's docstring), in place; returns ``proto``."""
    graph = proto.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    made = {o: n for n in graph.node for o in n.output}
    gone: set[str] = set()
    added: list[onnx.NodeProto] = []
    outputs = []
    for s in STRIDES:
        parts: list[list[np.ndarray]] = [[], [], [], []]  # 1×1 weights and biases, 3×3 weights and biases
        feature, depthwise = None, None
        for kind, channels in KINDS:
            node, chain = made[f"{kind}_{s}"], []
            while node.op_type != "Transpose":  # back through Sigmoid / Reshape (and its shape ops)
                chain.append(node)
                node = made[node.input[0]]
            depthwise = made[node.input[0]]
            pointwise = made[depthwise.input[0]]
            chain += [node, depthwise, pointwise]
            chain += [op for n in chain[:] if n.op_type == "Reshape" for op in _shape_ops(made, n.input[1])]
            if (
                pointwise.op_type != "Conv"
                or depthwise.op_type != "Conv"
                or feature not in (None, pointwise.input[0])
            ):
                raise SystemExit(
                    f"{kind}_{s}: not a 1×1 + depthwise convolution head on the stride's features"
                )
            feature = pointwise.input[0]
            gone |= {n.name for n in chain}
            for i, name in enumerate([*pointwise.input[1:3], *depthwise.input[1:3]]):
                parts[i].append(inits[name])
            if inits[pointwise.input[1]].shape[0] != channels:
                raise SystemExit(f"{kind}_{s}: {inits[pointwise.input[1]].shape[0]} channels, not {channels}")
        assert feature is not None and depthwise is not None
        p = f"head_{s}"
        for tag, arrays in zip(("pw_w", "pw_b", "dw_w", "dw_b"), parts, strict=True):
            graph.initializer.append(
                numpy_helper.from_array(np.concatenate(arrays).astype(np.float32), f"{p}_{tag}")
            )
        graph.initializer.append(numpy_helper.from_array(np.array([0, -1, 16], np.int64), f"{p}_shape"))
        dw = {a.name: helper.get_attribute_value(a) for a in depthwise.attribute} | {"group": 16}
        added += [
            helper.make_node(
                "Conv", [feature, f"{p}_pw_w", f"{p}_pw_b"], [f"{p}_pw"], name=f"{p}_pw", kernel_shape=[1, 1]
            ),
            helper.make_node(
                "Conv", [f"{p}_pw", f"{p}_dw_w", f"{p}_dw_b"], [f"{p}_dw"], name=f"{p}_dw", **dw
            ),
            helper.make_node("Transpose", [f"{p}_dw"], [f"{p}_nhwc"], name=f"{p}_nhwc", perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", [f"{p}_nhwc", f"{p}_shape"], [p], name=p),
        ]
        outputs.append(helper.make_tensor_value_info(p, TensorProto.FLOAT, ["N", "anchors", 16]))
    replace_nodes(graph, [n for n in graph.node if n.name not in gone] + added)
    del graph.output[:]
    graph.output.extend(outputs)
    return proto


def _shape_ops(made: dict[str, onnx.NodeProto], name: str) -> list[onnx.NodeProto]:
    """The Shape → Gather → Unsqueeze → Concat nodes that compute a reshape's target shape."""
    out, todo = [], [name]
    while todo:
        node = made.get(todo.pop())
        if node is not None and node.op_type in SHAPE_OPS:
            out.append(node)
            todo += list(node.input)
    return out


def main() -> None:
    from emostream.runtime import shared_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--source", type=Path, help="the original (default: shared/models/yunet/yunet_s_dynamic.onnx)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "yunet_s_dynamic.onnx")
    args = ap.parse_args()
    shared = shared_dir()
    source = args.source or (shared / "models" / "yunet" / "yunet_s_dynamic.onnx" if shared else None)
    if source is None or not source.is_file():
        raise SystemExit("no original YuNet: pass --source or set EMOSTREAM_SHARED")
    proto = merge_heads(onnx.load(str(source)))
    proto.producer_name = "emostream export/yunet_heads.py"
    proto.doc_string = (
        "libfacedetection.train YuNet-s (Apache-2.0), modified by emostream: the four output heads of "
        "each stride merged into one (head_8/16/32: cls and obj logits, bbox, kps)"
    )
    onnx.checker.check_model(proto)
    worst = check(source, proto.SerializeToString())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes); max |original - merged| = {worst:.2e}")


def check(source: Path, merged: bytes) -> float:
    """The largest difference of any output (probabilities for class and objectness) between the
    original and the merged network on noise, at a window's size and at two whole searches'."""
    import onnxruntime as ort

    old = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    new = ort.InferenceSession(merged, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    inputs = [
        rng.uniform(0, 255, (1, 3, h, w)).astype(np.float32) for h, w in ((96, 96), (288, 480), (320, 576))
    ]
    worst = 0.0
    for x in inputs:
        want = dict(zip([o.name for o in old.get_outputs()], old.run(None, {"input": x}), strict=True))
        got = dict(zip([o.name for o in new.get_outputs()], new.run(None, {"input": x}), strict=True))
        for s in STRIDES:
            head = got[f"head_{s}"]
            mine = {"cls": _sigmoid(head[..., :1]), "obj": _sigmoid(head[..., 1:2])}
            mine |= {"bbox": head[..., 2:6], "kps": head[..., 6:]}
            for kind, _ in KINDS:
                worst = max(worst, float(np.abs(want[f"{kind}_{s}"] - mine[kind]).max()))
    if worst > 1e-4:
        raise SystemExit(f"merged heads differ from the original by {worst:.2e}")
    return worst


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


if __name__ == "__main__":
    main()
