"""Privacy by default: no image is written unless snapshots are on, and then faces are pixelated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from emostream.analysis.face.detect import build_detector
from emostream.sinks.snapshot import anonymise
from emostream.types import Face


def _images_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".bmp", ".webp"}]


def _run(tmp_path: Path, clip: Path, extra: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"cameras:\n  - {{id: a, url: '{clip}', fps: 0}}\nmetrics: {{enabled: false}}\n{extra}")
    env = {**os.environ, "HOME": str(tmp_path), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "emostream", "run", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )


def test_no_image_written_by_default(media: list[Path], tmp_path: Path) -> None:
    clip = next(p for p in media if p.name == "head-pose-face-detection-male.gif")
    res = _run(tmp_path, clip, "")
    assert res.returncode == 0, res.stderr
    assert _images_under(tmp_path) == []


def test_snapshots_pixelate_faces(media: list[Path], tmp_path: Path) -> None:
    clip = next(p for p in media if p.name == "head-pose-face-detection-male.gif")
    res = _run(tmp_path, clip, f"snapshots: {{enabled: true, dir: '{tmp_path / 'snaps'}'}}\n")
    assert res.returncode == 0, res.stderr
    assert "debug snapshots on" in res.stderr
    snaps = _images_under(tmp_path)
    assert snaps and all(p.parent == tmp_path / "snaps" for p in snaps)
    detector = build_detector()
    for p in snaps:
        assert detector.detect(cv2.imread(str(p))) == [], f"a face is still detectable in {p.name}"


def test_anonymise_removes_detail_only_inside_faces() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 200, 3), dtype=np.uint8)
    out = anonymise(img, [Face((50, 30, 90, 80), 0.9)])
    inside = out[40:70, 60:80].astype(float)
    assert inside.std() < img[40:70, 60:80].astype(float).std() / 2
    assert np.array_equal(out[:, 150:], img[:, 150:]) and np.array_equal(out[:10], img[:10])
    assert np.array_equal(anonymise(img, [Face((5, 5, 6, 6), 0.9)])[:3], img[:3])
