"""Train emostream's speech-emotion CNN on RAVDESS (``Actor_XX/`` layout) with Keras 2 (tf_keras).

Actor-held-out cross-validation, then one model on every actor, e.g. (in the background)::

    nice -n 10 .venv/bin/python -m export.train_speech --cv      # 5 folds of 4 actors, actors 1..20
    nice -n 10 .venv/bin/python -m export.train_speech --final   # all actors → <out>/final
    .venv/bin/python -m export.export_speech                      # → models/speech_cnn.onnx

Validation is always by actor, never by clip: fold k holds out actors {k+1, k+6, k+11, k+16}.
Actors the data folder holds beyond ``--actors`` (21..24 by default) are never read. The schedule is
fixed (``--epochs``, cosine decay, no early stopping), so the accuracy reported for a fold is that of
its last epoch, not of a best epoch chosen on the held-out actors. Each run (``<out>/fold<k>`` or
``<out>/final``) checkpoints model + optimizer every epoch and resumes by itself when run again;
``state.json`` holds its history, ``cv.json`` the per-fold results and their mean ± sd.
Augmentation and features: see ``speech_data.py``; ``--room`` adds the room recipe of
``speech_room.py``. Every fold's held-out actors are also scored in the rooms of ``emostream eval speech
--room 0`` as well (``result.room`` in ``state.json``, ``room_accuracy_mean`` in ``cv.json``).

Selection rule for the room-trained model, written down before any of its results (2026-12-01):
two configurations are cross-validated, the first model's recipe (``--width 128``, 90 epochs, no room,
no norm) and ``--room --norm --width 128 --epochs 120 --versions 16``, both scored clean and in the
rooms of ``--room 0``. The room model is trained with ``--final`` and shipped if its fold mean of
(clean accuracy + room accuracy) / 2 is higher than the first recipe's; otherwise the first model stays.
Added the same day, after the first four folds of the room model but before any result of it: a
third configuration, ``--room --width 192 --epochs 150 --versions 16`` (no norm), enters the same
rule; of the room configurations the one with the higher (clean + room) / 2 is the candidate.

Ensemble rule, written 2026-12-01 before any ensemble figure: the shipped recipe is cross-validated
again with ``--seed 8`` and ``--seed 9`` on the same bank of windows; in each fold the three members'
(seeds 7, 8, 9) clip probabilities are averaged (``export/speech_cv_report.py``, one ``--run`` per
member). The three-member ensemble replaces the single model if its fold mean of (clean + room) / 2
is at least 0.01 above the single model's (0.531) and features + model stay within 3 ms per 3 s
window on one core. No other combination of runs (e.g. with the width-192 run) is scored.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import numpy as np

from emostream.analysis.voice.features import N_MELS, n_frames
from emostream.runtime import shared_dir
from emostream.tools.evaluate.speech import SpeechReport
from emostream.types import SPEECH_EMOTIONS
from export.speech_data import babble_groups, build_bank, load_waves, ravdess, room_features, train_batch

ROOT = Path(__file__).resolve().parent.parent
HP = {  # the shipped model's settings (the runs before it: see the card)
    "width": 128,
    "epochs": 120,
    "versions": 16,
    "batch_size": 32,
    "lr": 2e-3,
    "weight_decay": 1e-2,
    "dropout": 0.4,
    "label_smoothing": 0.1,
    "seed": 7,
    "folds": 5,
    "room": True,
    "norm": True,
}
ROOM_SEED = 0  # the room seed of the card's figures: `emostream eval speech DIR --room 0`


def build_model(width: int = 128, dropout: float = 0.0, frames: int | None = n_frames(), norm: bool = False):
    """A 1-D CNN over time with the mel bands as channels: BatchNorm of the input bands, four
    Conv1D + BatchNorm + ReLU layers (kernel 5 stride 2, 5, 3, 3; width ×1, ×1.5, ×2, ×2, max-pool
    after the 2nd and 3rd), global average and max pooling concatenated, dropout, dense softmax.
    ``frames=None`` builds the same network for windows of any length (the exported model). ``norm``
    first normalises each mel band over the window (mean 0, sd 1: per-utterance normalisation, which
    takes out a microphone's or codec's fixed colouring)."""
    import tensorflow as tf
    import tf_keras as k

    inp = k.Input((N_MELS, frames, 1), name="input")
    x = k.layers.Reshape((N_MELS, -1))(inp)
    x = k.layers.Permute((2, 1))(x)
    if norm:
        x = k.layers.Lambda(
            lambda t: (
                (t - tf.reduce_mean(t, axis=1, keepdims=True))
                / (tf.math.reduce_std(t, axis=1, keepdims=True) + 1e-3)
            ),
            name="utterance_norm",
        )(x)
    x = k.layers.BatchNormalization()(x)
    for filters, kernel, stride, pool in (
        (width, 5, 2, False),
        (width * 3 // 2, 5, 1, True),
        (width * 2, 3, 1, True),
        (width * 2, 3, 1, False),
    ):
        x = k.layers.Conv1D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
        x = k.layers.BatchNormalization()(x)
        x = k.layers.ReLU()(x)
        if pool:
            x = k.layers.MaxPooling1D()(x)
    x = k.layers.Concatenate()([k.layers.GlobalAveragePooling1D()(x), k.layers.GlobalMaxPooling1D()(x)])
    x = k.layers.Dropout(dropout)(x)
    x = k.layers.Dense(len(SPEECH_EMOTIONS))(x)
    out = k.layers.Activation("softmax", name="predictions")(x)
    return k.Model(inp, out, name="emostream_speech_cnn")


def evaluate(model, bank: dict, clips: list, idx: np.ndarray, feats: list | None = None) -> SpeechReport:
    """Clip-level scores: every clip's windows, probabilities averaged (as ``eval speech`` does); the
    clean windows of the bank, or ``feats`` (one array of windows per clip of ``idx``, e.g. the room's)."""
    rep = SpeechReport(SPEECH_EMOTIONS)
    st = bank["val_start"]
    for j, i in enumerate(idx):
        x = feats[j] if feats is not None else bank["val"][st[i] : st[i + 1]]
        probs = model(x.astype(np.float32)[..., None], training=False).numpy().mean(axis=0)
        rep.truth.append(clips[i].label)
        rep.pred.append(int(np.argmax(probs)))
    return rep


def run(
    name: str,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    bank: dict,
    clips: list,
    hp: dict,
    out: Path,
    room_val: list | None = None,
) -> dict:
    import tensorflow as tf
    import tf_keras as k

    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    state_path = d / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else {"history": [], "hp": hp}
    if state.get("hp", hp) != hp:
        raise SystemExit(f"{d} holds a run with other settings {state['hp']}: use another --out")
    if state.get("done"):
        return state
    tf.keras.utils.set_random_seed(hp["seed"])
    model = build_model(hp["width"], hp["dropout"], norm=hp.get("norm", False))
    opt = k.optimizers.AdamW(learning_rate=hp["lr"], weight_decay=hp["weight_decay"])
    model.compile(optimizer=opt, loss=k.losses.CategoricalCrossentropy(label_smoothing=hp["label_smoothing"]))
    epoch_var = tf.Variable(0, dtype=tf.int64, name="epoch")
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt, epoch=epoch_var)
    manager = tf.train.CheckpointManager(ckpt, str(d), max_to_keep=2)
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).expect_partial()
        print(f"{name}: resumed at epoch {int(epoch_var.numpy())}", flush=True)
    labels = np.array([clips[i].label for i in train_idx])
    onehot = np.eye(len(SPEECH_EMOTIONS), dtype=np.float32)[labels]
    for epoch in range(int(epoch_var.numpy()), hp["epochs"]):
        t0 = time.monotonic()
        rng = np.random.default_rng([hp["seed"], epoch, len(name)])
        order = rng.permutation(len(train_idx))
        x = train_batch(bank, train_idx[order], rng)
        t_feat = time.monotonic() - t0
        lr = 0.5 * hp["lr"] * (1 + math.cos(math.pi * epoch / hp["epochs"]))
        opt.learning_rate.assign(lr)
        hist = model.fit(x, onehot[order], batch_size=hp["batch_size"], epochs=1, verbose=0, shuffle=False)
        row = {
            "epoch": epoch + 1,
            "loss": round(float(hist.history["loss"][-1]), 4),
            "lr": round(lr, 6),
            "feat_s": round(t_feat, 1),
            "s": round(time.monotonic() - t0, 1),
        }
        if len(val_idx) and ((epoch + 1) % 6 == 0 or epoch + 1 == hp["epochs"]):
            rep = evaluate(model, bank, clips, val_idx)
            row.update(val_accuracy=round(rep.accuracy, 4), val_macro_f1=round(rep.macro_f1, 4))
            if room_val is not None:
                row["val_room_accuracy"] = round(evaluate(model, bank, clips, val_idx, room_val).accuracy, 4)
        state["history"].append(row)
        epoch_var.assign(epoch + 1)
        manager.save(checkpoint_number=epoch + 1)
        state_path.write_text(json.dumps(state, indent=1) + "\n")
        print(name, json.dumps(row), flush=True)
    model.save_weights(str(d / "final.weights.h5"))
    if len(val_idx):
        rep = evaluate(model, bank, clips, val_idx)
        state["result"] = {**rep.as_dict(), "val_actors": sorted({clips[i].speaker for i in val_idx})}
        if room_val is not None:
            state["result"]["room"] = {
                **evaluate(model, bank, clips, val_idx, room_val).as_dict(),
                "seed": ROOM_SEED,
            }
    state["done"] = True
    state_path.write_text(json.dumps(state, indent=1) + "\n")
    return state


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="RAVDESS root with Actor_XX/ (default: shared/data/ravdess)")
    ap.add_argument("--out", type=Path, default=ROOT / "checkpoints" / "speech")
    ap.add_argument("--actors", default="1-20", help="actor range used, e.g. 1-20")
    ap.add_argument("--cv", action="store_true", help="cross-validate over actor folds")
    ap.add_argument("--fold", type=int, action="append", help="only these folds (with --cv)")
    ap.add_argument("--final", action="store_true", help="train on every actor")
    ap.add_argument("--epochs", type=int, default=HP["epochs"])
    ap.add_argument("--width", type=int, default=HP["width"])
    ap.add_argument("--dropout", type=float, default=HP["dropout"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=HP["seed"], help="initialisation and batch order")
    ap.add_argument("--versions", type=int, default=HP["versions"], help="augmented windows per clip")
    ap.add_argument(
        "--room",
        action=argparse.BooleanOptionalAction,
        default=HP["room"],
        help="room augmentation (speech_room.py)",
    )
    ap.add_argument(
        "--norm",
        action=argparse.BooleanOptionalAction,
        default=HP["norm"],
        help="per-utterance band normalisation",
    )
    args = ap.parse_args(argv)
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    hp = {
        **HP,
        "epochs": args.epochs,
        "width": args.width,
        "dropout": args.dropout,
        "versions": args.versions,
        "room": args.room,
        "norm": args.norm,
        "seed": args.seed,
    }
    lo, hi = (int(v) for v in args.actors.split("-"))
    data = args.data or (shared_dir() or ROOT.parent / "shared") / "data" / "ravdess"
    clips = [c for c in ravdess(data) if lo <= int(c.speaker) <= hi]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hparams.json").write_text(
        json.dumps({**hp, "data": str(data), "actors": args.actors, "n_clips": len(clips)}, indent=1) + "\n"
    )
    waves = load_waves(clips, args.out / "waves.npz")
    actors = np.array([int(c.speaker) for c in clips])
    groups = (actors - lo) % hp["folds"]
    babble = babble_groups(actors, groups) if hp["room"] else None
    bank = build_bank(waves, hp["versions"], args.out / "bank.npz", babble=babble)
    if args.cv:
        results = {}
        for f in args.fold or range(hp["folds"]):
            held = (actors - lo) % hp["folds"] == f
            val = np.flatnonzero(held)
            room_val = room_features(clips, waves, val, ROOM_SEED)  # every run is scored in the room too
            st = run(f"fold{f}", np.flatnonzero(~held), val, bank, clips, hp, args.out, room_val)
            results[f"fold{f}"] = st["result"]
        accs = [r["accuracy"] for r in results.values()]
        f1s = [r["macro_f1"] for r in results.values()]
        rooms = [r["room"]["accuracy"] for r in results.values() if "room" in r]
        summary = {
            "folds": results,
            **({"room_accuracy_mean": float(np.mean(rooms))} if rooms else {}),
            "accuracy_mean": float(np.mean(accs)),
            "accuracy_sd": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
            "macro_f1_mean": float(np.mean(f1s)),
            "macro_f1_sd": float(np.std(f1s, ddof=1)) if len(f1s) > 1 else 0.0,
        }
        (args.out / "cv.json").write_text(json.dumps(summary, indent=1) + "\n")
        print(json.dumps({k: v for k, v in summary.items() if k != "folds"}), flush=True)
    if args.final:
        run("final", np.arange(len(clips)), np.array([], int), bank, clips, hp, args.out)


if __name__ == "__main__":
    main()
