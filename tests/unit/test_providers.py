"""Execution providers: one list in the config, handed to every session by the one session factory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import onnxruntime as ort
import pytest

from emostream.analysis.face.classify import FaceEmotionClassifier
from emostream.analysis.face.detect import build_detector
from emostream.config import parse
from emostream.errors import ConfigError
from emostream.runtime import check_providers


def test_the_cpu_is_always_the_last_fallback() -> None:
    assert check_providers([]) == ["CPUExecutionProvider"]
    assert check_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_a_provider_this_build_lacks_is_a_one_line_error_naming_the_field() -> None:
    missing = next(
        p
        for p in ("CUDAExecutionProvider", "OpenVINOExecutionProvider")
        if p not in ort.get_available_providers()
    )
    with pytest.raises(ConfigError) as err:
        check_providers(["CPUExecutionProvider", missing])
    text = str(err.value)
    assert text.startswith(f"runtime.providers[1]: {missing} is not installed here") and "\n" not in text
    assert "pip install 'emostream[" in text


def test_every_session_gets_the_configured_providers() -> None:
    cfg = parse({"runtime": {"providers": ["CPUExecutionProvider"]}}, env={})
    det = build_detector(providers=cfg.runtime.providers)
    clf = FaceEmotionClassifier(providers=cfg.runtime.providers)
    assert det.session.get_providers() == clf.session.get_providers() == ["CPUExecutionProvider"]  # type: ignore[attr-defined]


def test_the_daemon_refuses_a_missing_provider_with_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "gpu.yaml"
    cfg.write_text("cameras: [{id: a, url: a.mp4}]\nruntime: {providers: [TensorrtExecutionProvider]}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "emostream", "run", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "emostream: config error: runtime.providers[0]: TensorrtExecutionProvider is not installed here "
        f"(available: {', '.join(ort.get_available_providers())}); pip install 'emostream[gpu]'"
    ]
