"""FER2013 in the Kaggle folder layout (``<split>/<emotion>/*.jpg``) as arrays, and the training augmentation.

Images are read once (grayscale, 48×48 uint8) and cached as ``.npz`` next to the checkpoints, labels
in ``emostream.types.FACE_EMOTIONS`` order whatever the folder order. The augmentation runs as
TensorFlow ops on whole batches inside ``tf.data`` (so it uses TensorFlow's threads, not Python):
horizontal flip, a random crop (one affine warp: zoom 0.9–1.2, i.e. a window of 83–111 % of the
side at a random position ±10 %, plus rotation ±15°, edges replicated), brightness ±20 %, contrast
0.7–1.3 and one random erased square (cutout) in half of the images.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # = FACE_EMOTIONS
SIZE = 48
NORM_SCALE = 2.0 / 255.0  # x * scale + offset, stored in the ONNX metadata
NORM_OFFSET = -1.0


def load_split(
    root: Path, split: str, limit: int = 0, cache: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(N×48×48 uint8, N labels) of ``root/split/<emotion>/*.jpg``; ``limit`` images per class (0: all)."""
    import cv2

    if cache is not None and cache.is_file() and not limit:
        with np.load(cache) as z:
            return z["x"], z["y"]
    xs, ys = [], []
    for path, k in split_files(root, split, limit):
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise SystemExit(f"cannot read {path}")
        if img.shape != (SIZE, SIZE):
            img = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        xs.append(img)
        ys.append(k)
    x, y = np.stack(xs), np.asarray(ys, np.int64)
    if cache is not None and not limit:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, x=x, y=y)
    return x, y


def split_files(root: Path, split: str, limit: int = 0) -> list[tuple[Path, int]]:
    """(image path, label) of ``root/split/<emotion>/*`` in the order ``load_split`` returns them."""
    folder = root / split
    names = {p.name.lower(): p for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else {}
    missing = [label for label in LABELS if label not in names]
    if missing:
        raise SystemExit(f"{folder}: no folder for {', '.join(missing)}")
    out = []
    for k, label in enumerate(LABELS):
        paths = sorted(p for p in names[label].iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
        out += [(path, k) for path in paths[: limit or None]]
    return out


def model_input(images: np.ndarray) -> np.ndarray:
    """Grayscale uint8 faces (N×48×48) → the network's normalised float32 input (N×48×48×1)."""
    return images[..., None].astype(np.float32) * NORM_SCALE + NORM_OFFSET  # Python floats keep float32


def class_weights(y: np.ndarray, power: float) -> np.ndarray:
    """Per-class loss weights (median count / count) ** power, normalised to a mean of 1 over samples."""
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    w = (np.median(counts) / np.maximum(counts, 1)) ** power
    return (w / (w[y].mean())).astype(np.float32)


def augment_batch(x: Any, seed_stream: Any) -> Any:
    """Randomly augmented float32 batch (B×48×48×1, values 0–255) → normalised model input."""
    import tensorflow as tf

    b = tf.shape(x)[0]

    def uni(lo: float, hi: float, shape: Any = None) -> Any:
        return seed_stream.uniform(shape if shape is not None else (b,), lo, hi)

    x = tf.where(tf.reshape(uni(0.0, 1.0) < 0.5, (-1, 1, 1, 1)), tf.reverse(x, axis=[2]), x)
    theta = uni(-15.0, 15.0) * (math.pi / 180.0)
    zoom = uni(0.9, 1.2)
    tx, ty = uni(-0.1, 0.1) * SIZE, uni(-0.1, 0.1) * SIZE
    c = (SIZE - 1) / 2.0
    a0, a1 = tf.cos(theta) / zoom, -tf.sin(theta) / zoom
    b0, b1 = tf.sin(theta) / zoom, tf.cos(theta) / zoom
    a2 = c - a0 * c - a1 * c + tx
    b2 = c - b0 * c - b1 * c + ty
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.constant([SIZE, SIZE]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="NEAREST",
    )
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    contrast = tf.reshape(uni(0.7, 1.3), (-1, 1, 1, 1))
    bright = tf.reshape(uni(-0.2, 0.2) * 255.0, (-1, 1, 1, 1))
    x = tf.clip_by_value((x - mean) * contrast + mean + bright, 0.0, 255.0)
    # cutout: one square of side 8–16 px, in half of the images, filled with the image mean
    side = uni(8.0, 16.0)
    cx, cy = uni(0.0, SIZE), uni(0.0, SIZE)
    grid = tf.range(SIZE, dtype=tf.float32)
    inside_x = tf.abs(grid[None, :] - cx[:, None]) < side[:, None] / 2
    inside_y = tf.abs(grid[None, :] - cy[:, None]) < side[:, None] / 2
    hole = tf.logical_and(inside_y[:, :, None], inside_x[:, None, :])
    hole = tf.logical_and(hole, (uni(0.0, 1.0) < 0.5)[:, None, None])[..., None]
    x = tf.where(hole, tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True), x)
    return x * NORM_SCALE + NORM_OFFSET


def soft_targets(y: np.ndarray, teacher: np.ndarray, weight: float) -> np.ndarray:
    """Distillation targets: ``(1 - weight)`` × one-hot label + ``weight`` × teacher probability."""
    onehot = np.eye(len(LABELS), dtype=np.float32)[y]
    return ((1.0 - weight) * onehot + weight * teacher.astype(np.float32)).astype(np.float32)


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray | None,
    batch: int,
    seed: int,
    train: bool,
    targets: np.ndarray | None = None,
) -> Any:
    """tf.data pipeline: (normalised images, one-hot labels or ``targets`` rows[, class weights of ``y``]);
    training: shuffled, augmented."""
    import tensorflow as tf

    onehot = np.eye(len(LABELS), dtype=np.float32)[y] if targets is None else targets
    images = x[..., None].astype(np.float32)
    parts = (images, onehot) if w is None else (images, onehot, w[y])
    ds = tf.data.Dataset.from_tensor_slices(parts)
    if train:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch, drop_remainder=train)
    if train:
        gen = tf.random.Generator.from_seed(seed)

        def aug(img: Any, *rest: Any) -> tuple:
            return (augment_batch(img, gen), *rest)

        ds = ds.map(aug, num_parallel_calls=1)
    else:
        ds = ds.map(lambda img, *rest: (img * NORM_SCALE + NORM_OFFSET, *rest))
    return ds.prefetch(2)
