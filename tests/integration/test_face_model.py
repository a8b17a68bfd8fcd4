"""emostream's own face-emotion model: the shipped file's metadata and PublicTest figures, and the training
script (``export/train_face.py``) on a tiny synthetic set: one step, checkpoint, resume, refusals.

The training tests need TensorFlow + tf_keras (the ``export`` extra); they skip without them unless
EMOSTREAM_REQUIRE_SHARED=1 (CI). Nothing here trains for more than a couple of steps.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emostream.analysis.face.classify import DEFAULT_MODEL, FaceEmotionClassifier
from emostream.tools.evaluate.faces import evaluate
from emostream.types import FACE_EMOTIONS

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = "emostream_face_ferplus.int8.onnx"  # the default: int8 of the FER+ crowd-trained CNN
REQUIRE = os.environ.get("EMOSTREAM_REQUIRE_SHARED") == "1"


def _need_tf() -> None:
    missing = [m for m in ("tensorflow", "tf_keras") if importlib.util.find_spec(m) is None]
    if missing:
        if REQUIRE:
            pytest.fail(f"{missing} not installed (required because EMOSTREAM_REQUIRE_SHARED=1)")
        pytest.skip(f"needs {missing} (pip install -r export/requirements.txt)")


def test_shipped_model_is_the_default_and_carries_its_preprocessing() -> None:
    assert DEFAULT_MODEL == SHIPPED
    clf = FaceEmotionClassifier()
    assert clf.size == 48 and clf.labels == FACE_EMOTIONS
    assert clf.scale == pytest.approx(2 / 255) and clf.offset == pytest.approx(-1.0)
    assert clf.margin == pytest.approx(0.05)
    meta = clf.session.get_modelmeta().custom_metadata_map
    (member,) = json.loads(meta["train_hparams"])  # one network
    assert member["width"] == 64 and member["crowd"] and member["label_votes"] == 1.0
    assert "FER+ crowd votes" in meta["source"] and "last epoch" in meta["source"]
    assert clf.session.get_inputs()[0].shape[0] == "batch"
    batch = np.zeros((3, 48, 48, 1), np.float32)
    assert clf.predict(batch).shape == (3, 7)


@pytest.mark.shared
@pytest.mark.slow
def test_shipped_model_publictest_figures(shared: Path) -> None:
    """The model card's figures, through the classifier (whole image = face, margin 0): FER+ majority
    accuracy, neutral recall, no class F1 under 0.4 on the crowd's labels, and FER2013's labels."""
    fer = shared / "data" / "fer2013"
    report = evaluate(
        fer / "test", FaceEmotionClassifier(SHIPPED, margin=0.0), votes=fer / "ferplus_votes.csv"
    )
    crowd = report.crowd
    assert report.n == 3589 and crowd is not None
    assert crowd.n == 2856 and crowd.extra["left_out"] == 733  # PublicTest images with a 7-class majority
    assert crowd.accuracy >= 0.9030  # the card's figure (target 0.89; the replaced ensemble: 0.7511)
    per = crowd.per_class()
    assert per["neutral"]["recall"] >= 0.880 and per["sad"]["precision"] >= 0.729
    assert min(m["f1"] for m in per.values()) >= 0.4
    assert report.accuracy >= 2206 / 3589  # 0.6147, FER2013's own labels (the card explains the gap to 0.70)


def _tiny_fer(root: Path, per_class: int = 3) -> Path:
    rng = np.random.default_rng(1)
    for split in ("train", "test"):
        for k, label in enumerate(FACE_EMOTIONS):
            d = root / split / label
            d.mkdir(parents=True)
            for i in range(per_class):
                img = np.full((48, 48), 30 * k, np.uint8) + rng.integers(0, 20, (48, 48), dtype=np.uint8)
                cv2.imwrite(str(d / f"{i}.jpg"), img)
    return root


def _script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m export.NAME ARGS`` from the repository root, on the CPU, quietly."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    module = "export." + name.removesuffix(".py")
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT
    )


def _train(*args: str) -> subprocess.CompletedProcess[str]:
    return _script("train_face.py", *args)


@pytest.mark.slow
def test_training_one_step_checkpoints_and_resumes(tmp_path: Path) -> None:
    _need_tf()
    data = _tiny_fer(tmp_path / "fer")
    out = tmp_path / "run"
    common = ["--data", str(data), "--out", str(out), "--threads", "1"]
    first = _train(*common, "--width", "4", "--batch-size", "8", "--epochs", "1", "--max-steps", "1")
    assert first.returncode == 0, first.stderr[-2000:]
    hp = json.loads((out / "hparams.json").read_text())
    assert hp["width"] == 4 and hp["seed"] == 1234 and hp["n_train"] == 21 and hp["steps_per_epoch"] == 1
    assert hp["class_weights"]["disgust"] == pytest.approx(hp["class_weights"]["happy"])  # balanced set
    assert (out / "best.weights.h5").is_file() and (out / "ckpt-1.index").is_file()

    again = _train(*common)  # a second run into the same folder without --resume is refused
    assert again.returncode != 0 and "--resume" in again.stderr
    changed = _train(*common, "--resume", "--width", "8")
    assert changed.returncode != 0 and "width" in changed.stderr

    resumed = _train(*common, "--resume", "--epochs", "2")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed" in resumed.stdout and "at epoch 1" in resumed.stdout
    state = json.loads((out / "state.json").read_text())
    assert [row["epoch"] for row in state["history"]] == [1, 2]
    assert (out / "ckpt-2.index").is_file()
    done = _train(*common, "--resume", "--epochs", "2")  # nothing left to do
    assert done.returncode == 0 and "nothing to do" in done.stdout

    # Distillation: a student of that run learns from labels mixed with the teacher's probabilities.
    tiny = ["--data", str(data), "--threads", "1", "--width", "4", "--batch-size", "8", "--epochs", "1"]
    student = tmp_path / "student"
    taught = _train(*tiny, "--out", str(student), "--teacher", str(out), "--distill", "0.5")
    assert taught.returncode == 0, taught.stderr[-2000:]
    assert "teachers agree with" in taught.stdout
    teacher = np.load(student / "teacher_train.npy")
    assert teacher.shape == (21, 7) and np.allclose(teacher.sum(axis=1), 1.0, atol=1e-5)
    assert json.loads((student / "hparams.json").read_text())["teacher"] == [str(out)]
    alone = _train(*tiny, "--out", str(tmp_path / "alone"), "--distill", "0.5")
    assert alone.returncode != 0 and "--teacher" in alone.stderr

    # Export: two runs (the run and its student) become one averaging ensemble graph and weights file.
    onnx_path = tmp_path / "ens.onnx"
    exported = _script("export_face.py", "--run", str(out), str(student), "--out", str(onnx_path))
    assert exported.returncode == 0, exported.stderr[-2000:]
    diff = float(exported.stdout.rsplit("=", 1)[1])
    assert diff <= 1e-4, exported.stdout
    clf = FaceEmotionClassifier(onnx_path)
    members = json.loads(clf.session.get_modelmeta().custom_metadata_map["train_hparams"])
    assert [m["width"] for m in members] == [4, 4]
    assert [m["teacher"] for m in members] == [[], [str(out)]]  # the student names its teacher
    probs = clf.predict(np.zeros((3, 48, 48, 1), np.float32))
    assert probs.shape == (3, 7) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (tmp_path / "ens.weights.h5").is_file()

    # The ensemble-size analysis over the same two runs: one JSON object last, every subset counted.
    subsets = _script("ensemble_subsets.py", "--run", str(out), str(out))
    assert subsets.returncode == 0, subsets.stderr[-2000:]
    report = json.loads(subsets.stdout.strip().splitlines()[-1])
    assert report["n"] == 21 and [row["subsets"] for row in report["sizes"]] == [2, 1]
    assert all(0.0 <= row["min"] <= row["mean"] <= row["max"] <= 1.0 for row in report["sizes"])
    # --always: that run joins every subset (size 0 = it alone), and is not counted in the size.
    with_fixed = _script("ensemble_subsets.py", "--always", str(out), "--run", str(out))
    assert with_fixed.returncode == 0, with_fixed.stderr[-2000:]
    fixed = json.loads(with_fixed.stdout.strip().splitlines()[-1])
    assert [(row["members"], row["subsets"]) for row in fixed["sizes"]] == [(0, 1), (1, 1)]
    assert fixed["always"] == fixed["runs"] == [out.name]
    assert fixed["sizes"][0]["mean"] == report["sizes"][0]["mean"]  # one copy alone = one member alone


def test_class_weights_favour_rare_classes() -> None:
    from export.face_data import class_weights

    y = np.repeat(np.arange(7), [3995, 436, 4097, 7215, 4830, 3171, 4965])  # FER2013 train counts
    w = class_weights(y, 0.5)
    assert w.argmax() == 1 and w.argmin() == 3  # disgust most, happy least
    assert w[y].mean() == pytest.approx(1.0)
    assert np.allclose(class_weights(y, 0.0), 1.0)


def test_soft_targets_mix_label_and_teacher() -> None:
    from export.face_data import soft_targets

    y = np.array([0, 3, 6])
    teacher = np.random.default_rng(2).dirichlet(np.ones(7), size=3).astype(np.float32)
    assert np.array_equal(soft_targets(y, teacher, 0.0), np.eye(7, dtype=np.float32)[y])
    assert np.allclose(soft_targets(y, teacher, 1.0), teacher)
    half = soft_targets(y, teacher, 0.5)
    assert np.allclose(half.sum(axis=1), 1.0) and np.allclose(half[0, 0], 0.5 + teacher[0, 0] / 2)


@pytest.mark.slow
def test_augmentation_keeps_shape_and_range() -> None:
    _need_tf()
    import tensorflow as tf

    from export.face_data import augment_batch

    x = tf.constant(np.random.default_rng(0).integers(0, 256, (16, 48, 48, 1)).astype(np.float32))
    a = augment_batch(x, tf.random.Generator.from_seed(5)).numpy()
    b = augment_batch(x, tf.random.Generator.from_seed(5)).numpy()
    assert a.shape == (16, 48, 48, 1) and a.min() >= -1.0 and a.max() <= 1.0
    assert np.array_equal(a, b)  # seeded
    assert not np.allclose(a, x.numpy() * 2 / 255 - 1)  # and actually changed
