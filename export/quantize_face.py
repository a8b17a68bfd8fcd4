"""Int8 face-emotion model (onnxruntime static quantisation; the daemon's default), kept only if it earns it.

Run with the export venv after ``export/export_face.py``::

    taskset -c 0 .venv-export/bin/python -m export.quantize_face

QDQ format, per-channel int8 weights, uint8 activations calibrated (min/max) on 700 FER2013 *training*
images (100 per class). Prints PublicTest accuracy of both files through the classifier and their
median batch-1 time on one thread; the int8 file is deleted unless it loses ≤ 0.5 accuracy points
(FER+ majority accuracy where ``ferplus_votes.csv`` is there, else FER2013's) and is faster, or
``--keep`` is given.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.runtime import shared_dir
from emostream.tools.evaluate.faces import evaluate
from export.face_data import load_split, model_input

ROOT = Path(__file__).resolve().parent.parent


class _Reader(CalibrationDataReader):
    def __init__(self, images: np.ndarray, name: str) -> None:
        x = model_input(images)
        self._it = iter([{name: x[i : i + 32]} for i in range(0, len(x), 32)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def ms_per_face(path: Path, runs: int = 500) -> float:
    clf = FaceEmotionClassifier(path, threads=1)
    x = np.zeros((1, clf.size, clf.size, 1), np.float32)
    for _ in range(20):
        clf.predict(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        clf.predict(x)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def quantize(model: Path, out: Path, data: Path) -> None:
    """``model`` (float ONNX) → ``out`` (int8 QDQ), calibrated on 700 FER2013 training images of
    ``data``; deterministic, so the parity test can rebuild the shipped file and compare."""
    x, _ = load_split(data, "train", limit=100)
    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(model), str(pre), skip_symbolic_shape=True)
    name = onnx.load(str(model)).graph.input[0].name
    quantize_static(
        str(pre),
        str(out),
        _Reader(x, name),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    pre.unlink()
    src, q = onnx.load(str(model)), onnx.load(str(out))
    del q.metadata_props[:]
    for p in src.metadata_props:
        q.metadata_props.add(key=p.key, value=p.value)
    onnx.save(q, str(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "emostream_face_ferplus.onnx")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "emostream_face_ferplus.int8.onnx")
    ap.add_argument("--data", type=Path, help="FER2013 root (default: shared/data/fer2013)")
    ap.add_argument("--keep", action="store_true", help="keep the int8 file whatever the result")
    args = ap.parse_args()
    shared = shared_dir()
    data = args.data or (shared / "data" / "fer2013" if shared else None)
    if data is None:
        raise SystemExit("no FER2013: pass --data or set EMOSTREAM_SHARED")
    quantize(args.model, args.out, data)
    results = {}
    votes = data / "ferplus_votes.csv"
    for path in (args.model, args.out):
        rep = evaluate(
            data / "test", FaceEmotionClassifier(path, margin=0.0), votes=votes if votes.is_file() else None
        )
        # The rule is judged on the crowd's labels where there are votes, else on FER2013's.
        judged = rep.crowd if rep.crowd is not None else rep
        results[path] = (judged.accuracy, judged.macro_f1, ms_per_face(path))
        crowd = f", FER+ majority {rep.crowd.accuracy:.4f}" if rep.crowd is not None else ""
        print(
            f"{path.name}: FER2013 accuracy {rep.accuracy:.4f} macro-F1 {rep.macro_f1:.4f}{crowd}, "
            f"{results[path][2]:.3f} ms/face, {path.stat().st_size} bytes",
            flush=True,
        )
    (acc32, _, t32), (acc8, _, t8) = results[args.model], results[args.out]
    keep = acc32 - acc8 <= 0.005 and t8 < t32
    print(
        f"int8: accuracy {100 * (acc8 - acc32):+.2f} points, {t8 / t32:.2f}× the time -> "
        f"{'keep' if keep else 'drop'}"
    )
    if not keep and not args.keep:
        args.out.unlink()


if __name__ == "__main__":
    main()
