"""Train emostream's own facial-emotion CNN on FER2013 (Kaggle folder layout) with Keras 2 (tf_keras).

Run with the export venv (see ``export/requirements.txt``), in the background, e.g.::

    nice -n 10 .venv-export/bin/python -m export.train_face --out checkpoints/face_cnn
    nice -n 10 .venv-export/bin/python -m export.train_face --out checkpoints/face_cnn --resume

Keras 2 (``tf_keras``) rather than Keras 3: tf2onnx 1.17's ``from_keras`` converts tf_keras models
directly (the baseline export uses the same path). Training data ``<data>/train``, validation
``<data>/test`` (FER2013 PublicTest; PrivateTest is not used). Class imbalance (436 disgust images)
is handled by loss weights (median count / count) ** ``--class-power``. AdamW with a linear warm-up
and cosine decay per step, label smoothing, early stopping on validation accuracy (``--patience``).
Distillation: ``--teacher RUN...`` with ``--distill W`` trains on ``(1 - W)`` × label + ``W`` × the
teachers' mean probability (each teacher's best checkpoint, averaged with the mirrored face) on the
un-augmented training image, computed once and kept as ``teacher_train.npy``.
Crowd labels: ``--crowd`` trains on the FER+ vote distribution of each training image
(``<data>/ferplus_votes.csv``, :func:`emostream.tools.evaluate.crowd.soft_targets`; ``--label-votes N``
counts the FER2013 label as N more votes) and validates on PublicTest's FER+ majority labels.
``--init WEIGHTS`` starts from another run's weights (a fine-tune; usually with a lower ``--lr``).

``--out`` holds ``hparams.json`` (every setting, written before the first step), ``ckpt-*`` (model,
optimizer and epoch, written after every epoch; ``--resume`` continues from the last one with the
saved settings), ``best.weights.h5`` (the epoch with the best validation accuracy), ``last.weights.h5``
(the latest epoch), ``state.json`` (per-epoch history) and the image cache. ``python -m
export.export_face`` turns the weights into ONNX.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np

from emostream.runtime import shared_dir
from emostream.tools.evaluate.crowd import majority, read_votes
from emostream.tools.evaluate.crowd import soft_targets as crowd_targets
from export.face_data import (
    LABELS,
    SIZE,
    class_weights,
    load_split,
    make_dataset,
    model_input,
    soft_targets,
    split_files,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {
    "width": 32,
    "epochs": 55,
    "batch_size": 64,
    "lr": 2e-3,
    "weight_decay": 0.05,
    "warmup_epochs": 1.0,
    "label_smoothing": 0.1,
    "class_power": 0.5,
    "dropout": 0.4,
    "patience": 12,
    "seed": 1234,
    "bf16": False,
    "distill": 0.0,
    "crowd": False,
    "label_votes": 0.0,
    "keep_single_votes": False,
    "init": "",
}


def build_model(width: int, dropout: float = 0.0, bf16: bool = False) -> Any:
    """VGG-style CNN: 4 stages of 3×3 conv + BatchNorm + ReLU (1, 2, 2, 2 convs; width ×1, ×2, ×4, ×8),
    max-pool after each, global average pooling, dropout, dense softmax (float32 even under bf16)."""
    import tf_keras as k

    k.mixed_precision.set_global_policy("mixed_bfloat16" if bf16 else "float32")
    inp = k.Input((SIZE, SIZE, 1), name="input")
    x = inp
    for stage, convs in enumerate((1, 2, 2, 2)):
        for _ in range(convs):
            x = k.layers.Conv2D(width * 2**stage, 3, padding="same", use_bias=False)(x)
            x = k.layers.BatchNormalization()(x)
            x = k.layers.ReLU()(x)
        x = k.layers.MaxPooling2D()(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    x = k.layers.Dropout(dropout)(x)
    x = k.layers.Dense(len(LABELS))(x)
    out = k.layers.Activation("softmax", dtype="float32", name="predictions")(x)
    return k.Model(inp, out, name="emostream_face_cnn")


def run_probs(run: Path, x: np.ndarray, flip: bool) -> np.ndarray:
    """Class probabilities of a finished run's best checkpoint on normalised images (N×48×48×1);
    ``flip``: averaged with the mirrored face."""
    hp = json.loads((run / "hparams.json").read_text())
    model = build_model(hp["width"], 0.0)
    model.load_weights(str(run / "best.weights.h5"))
    probs = model.predict(x, batch_size=256, verbose=0)
    if flip:
        probs = (probs + model.predict(x[:, :, ::-1], batch_size=256, verbose=0)) / 2
    return probs


def teacher_targets(teachers: list[str], images: np.ndarray, cache: Path) -> np.ndarray:
    """Mean probability of ``teachers`` on the training images, computed once per run folder."""
    if cache.is_file():
        return np.load(cache)
    x = model_input(images)
    probs = (sum(run_probs(Path(run), x, flip=True) for run in teachers) / len(teachers)).astype(np.float32)
    np.save(cache, probs)
    return probs


class WarmupCosine:
    """Learning rate per optimizer step: linear warm-up to ``peak``, then cosine decay to 0."""

    def __new__(cls, peak: float, warmup: int, total: int) -> Any:
        import tensorflow as tf
        import tf_keras as k

        class _Schedule(k.optimizers.schedules.LearningRateSchedule):
            def __call__(self, step: Any) -> Any:
                s = tf.cast(step, tf.float32)
                warm = peak * (s + 1.0) / float(max(warmup, 1))
                t = tf.clip_by_value((s - warmup) / float(max(total - warmup, 1)), 0.0, 1.0)
                return tf.where(s < warmup, warm, 0.5 * peak * (1.0 + tf.cos(math.pi * t)))

            def get_config(self) -> dict:
                return {"peak": peak, "warmup": warmup, "total": total}

        return _Schedule()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, help="FER2013 root with train/, test/ (default: shared/data/fer2013)"
    )
    ap.add_argument("--out", type=Path, default=ROOT / "checkpoints" / "face_cnn")
    ap.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    ap.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    ap.add_argument("--limit", type=int, default=0, help="images per class (0: all; for smoke tests)")
    ap.add_argument("--max-steps", type=int, default=0, help="steps per epoch cap (0: the whole epoch)")
    ap.add_argument("--teacher", nargs="+", help="finished runs whose mean probability --distill mixes in")
    for name, value in DEFAULTS.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            ap.add_argument(flag, action="store_true", default=None)
        else:
            ap.add_argument(flag, type=type(value), default=None, help=f"default {value}")
    return ap.parse_args(argv)


def resolve_hparams(args: argparse.Namespace) -> dict:
    """Settings: the saved ones on --resume (only --epochs, --patience may change), else defaults + flags."""
    path = args.out / "hparams.json"
    given = {k: getattr(args, k) for k in (*DEFAULTS, "teacher") if getattr(args, k) is not None}
    if args.resume and path.is_file():
        hp = json.loads(path.read_text())
        changed = {k: v for k, v in given.items() if hp.get(k) != v and k not in ("epochs", "patience")}
        if changed:
            raise SystemExit(f"--resume keeps the saved settings; cannot change {sorted(changed)}")
        hp.update({k: v for k, v in given.items() if k in ("epochs", "patience")})
        args.limit = args.limit or hp.get("limit", 0)  # a smoke-test run resumes as a smoke-test run
        args.max_steps = args.max_steps or hp.get("max_steps", 0)
    elif not args.resume and (args.out / "state.json").is_file():
        raise SystemExit(f"{args.out} already holds a run: pass --resume, or another --out")
    else:
        hp = {**DEFAULTS, "teacher": [], **given}
    if hp.get("distill", 0.0) and not hp.get("teacher"):
        raise SystemExit("--distill needs --teacher RUN...")
    return hp


def train(args: argparse.Namespace) -> dict:
    hp = resolve_hparams(args)  # before importing TensorFlow: a refused resume fails fast
    import tensorflow as tf
    import tf_keras as k

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, args.threads))
    tf.keras.utils.set_random_seed(hp["seed"])
    data = args.data or _default_data()
    cache = None if args.limit else args.out / "fer2013_{}.npz"
    x_tr, y_tr = load_split(data, "train", args.limit, cache and Path(str(cache).format("train")))
    x_va, y_va = load_split(data, "test", args.limit, cache and Path(str(cache).format("test")))
    weights = class_weights(y_tr, hp["class_power"])
    args.out.mkdir(parents=True, exist_ok=True)
    targets = None
    if hp.get("crowd"):
        x_tr, y_tr, targets, x_va, y_va = crowd_split(data, args.limit, x_tr, y_tr, x_va, hp)
        weights = class_weights(targets.argmax(1), hp["class_power"])
        y_tr = targets.argmax(1)  # class weights follow the crowd's top class
    if hp.get("distill", 0.0):
        teacher = teacher_targets(hp["teacher"], x_tr, args.out / "teacher_train.npy")
        targets = soft_targets(y_tr, teacher, hp["distill"])
        agree = float((teacher.argmax(1) == y_tr).mean())
        print(f"teachers agree with {agree:.4f} of the training labels", flush=True)
    steps = len(x_tr) // hp["batch_size"]
    if args.max_steps:
        steps = min(steps, args.max_steps)
    hp_record = {
        **hp,
        "data": str(data),
        "n_train": len(x_tr),
        "n_val": len(x_va),
        "steps_per_epoch": steps,
        "class_weights": dict(zip(LABELS, map(float, weights), strict=True)),
        "keras": "tf_keras",
        "tensorflow": tf.__version__,
        "limit": args.limit,
        "max_steps": args.max_steps,
    }
    (args.out / "hparams.json").write_text(json.dumps(hp_record, indent=2) + "\n")

    model = build_model(hp["width"], hp["dropout"], hp["bf16"])
    if hp.get("init") and not args.resume:
        # fine-tuning: start from another run's weights (same width), with this run's targets and schedule
        model.load_weights(hp["init"])
        print(f"initialised from {hp['init']}", flush=True)
    schedule = WarmupCosine(hp["lr"], int(hp["warmup_epochs"] * steps), hp["epochs"] * steps)
    opt = k.optimizers.AdamW(learning_rate=schedule, weight_decay=hp["weight_decay"])
    opt.exclude_from_weight_decay(var_names=["gamma", "beta", "bias"])
    model.compile(
        optimizer=opt,
        loss=k.losses.CategoricalCrossentropy(label_smoothing=hp["label_smoothing"]),
        metrics=["accuracy"],
        weighted_metrics=[],
    )
    epoch_var = tf.Variable(0, dtype=tf.int64, name="epoch")
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt, epoch=epoch_var)
    manager = tf.train.CheckpointManager(ckpt, str(args.out), max_to_keep=2)
    state_path = args.out / "state.json"
    state = {"history": [], "best_epoch": 0, "best_val_accuracy": 0.0}
    if args.resume:
        if manager.latest_checkpoint is None:
            raise SystemExit(f"--resume: no checkpoint in {args.out}")
        ckpt.restore(manager.latest_checkpoint).expect_partial()
        state = json.loads(state_path.read_text())
        print(f"resumed {manager.latest_checkpoint} at epoch {int(epoch_var.numpy())}", flush=True)
    start = int(epoch_var.numpy())
    if start >= hp["epochs"] or start - state["best_epoch"] > hp["patience"]:
        print(f"nothing to do: epoch {start}, best {state['best_epoch']}", flush=True)
        return state
    train_ds = make_dataset(x_tr, y_tr, weights, hp["batch_size"], hp["seed"] + start, True, targets)
    val_ds = make_dataset(x_va, y_va, None, 256, 0, train=False)

    class Keeper(k.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.t0 = time.monotonic()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            row = {
                "epoch": epoch + 1,
                "seconds": round(time.monotonic() - self.t0, 1),
                "lr": float(schedule(opt.iterations)),
                **{key: round(float(v), 5) for key, v in logs.items()},
            }
            state["history"].append(row)
            if row.get("val_accuracy", 0.0) > state["best_val_accuracy"]:
                state["best_val_accuracy"], state["best_epoch"] = row["val_accuracy"], epoch + 1
                model.save_weights(str(args.out / "best.weights.h5"))
            model.save_weights(str(args.out / "last.weights.h5"))  # for a last-epoch selection rule
            epoch_var.assign(epoch + 1)
            manager.save(checkpoint_number=epoch + 1)
            tmp = state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, indent=1) + "\n")
            tmp.replace(state_path)  # atomic: a kill never leaves a torn state.json
            print(json.dumps(row), flush=True)
            if epoch + 1 - state["best_epoch"] > hp["patience"]:
                print(f"early stop: validation accuracy best at epoch {state['best_epoch']}", flush=True)
                self.model.stop_training = True

    model.fit(
        train_ds.repeat(),
        steps_per_epoch=steps,
        epochs=hp["epochs"],
        initial_epoch=start,
        validation_data=val_ds,
        callbacks=[Keeper()],
        verbose=2,
    )
    print(f"best epoch {state['best_epoch']}: val accuracy {state['best_val_accuracy']:.4f}", flush=True)
    return state


def crowd_split(
    data: Path, limit: int, x_tr: np.ndarray, y_tr: np.ndarray, x_va: np.ndarray, hp: dict
) -> tuple[np.ndarray, ...]:
    """FER+ training: train images with crowd targets (the images FER+ kept as faces), and the
    PublicTest images that have a majority, labelled by it (validation accuracy = FER+ majority)."""
    csv = data / "ferplus_votes.csv"

    def votes(split: str) -> np.ndarray:
        rel = [str(p.relative_to(data)) for p, _ in split_files(data, split, limit)]
        return read_votes(csv, rel)

    targets, keep = crowd_targets(votes("train"), y_tr, hp["label_votes"], not hp["keep_single_votes"])
    major = majority(votes("test"))
    ok = major >= 0
    print(f"crowd: {keep.sum()} of {len(keep)} train images, {ok.sum()} PublicTest majority", flush=True)
    return x_tr[keep], y_tr[keep], targets[keep], x_va[ok], major[ok]


def _default_data() -> Path:
    shared = shared_dir()
    if shared is None:
        raise SystemExit("no shared folder: pass --data or set EMOSTREAM_SHARED")
    return shared / "data" / "fer2013"


if __name__ == "__main__":
    train(parse_args())
