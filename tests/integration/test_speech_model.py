"""The shipped speech model: metadata, ONNX vs Keras parity on real speech features (its speed on one
core is a benchmark's figure, ``export/measure_speech.py``, not a test's)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from emostream.analysis.voice.features import FEATURE_SPEC, clip_windows, load_audio, logmel
from emostream.analysis.voice.speech import SpeechClassifier
from emostream.runtime import models_dir
from emostream.types import SPEECH_EMOTIONS

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("EMOSTREAM_REQUIRE_SHARED") == "1"


def test_metadata_and_card() -> None:
    clf = SpeechClassifier()
    meta = clf.session.get_modelmeta().custom_metadata_map
    assert clf.labels == SPEECH_EMOTIONS and meta["features"] == FEATURE_SPEC
    assert "CC BY-NC-SA 4.0" in meta["licence"]
    card = (models_dir() / "speech_cnn.md").read_text()
    for needle in ("actor", "CC BY-NC-SA 4.0", "ms", "export/train_speech.py", "Limitations"):
        assert needle in card


def test_any_window_length() -> None:
    clf = SpeechClassifier()
    rng = np.random.default_rng(0)
    for seconds in (1.0, 3.0, 5.0):
        p = clf.probs([(0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)])
        assert p.shape == (1, 8) and np.isclose(p.sum(), 1.0, atol=1e-4)


@pytest.mark.shared
@pytest.mark.slow
def test_onnx_matches_keras(shared: Path) -> None:
    """ONNX vs the Keras network it was exported from, on real speech of every emotion: ≤ 1e-4."""
    if importlib.util.find_spec("tf_keras") is None:
        if REQUIRE:
            pytest.fail("tf_keras (the export extra) is required when EMOSTREAM_REQUIRE_SHARED=1")
        pytest.skip("needs the export extra (tensorflow, tf_keras)")
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    from export.export_speech import load_keras

    clf = SpeechClassifier()
    meta = clf.session.get_modelmeta().custom_metadata_map
    norm = meta.get("norm", "none") == "utterance"
    members = int(meta.get("members", "1"))
    model = load_keras(models_dir() / "speech_cnn.weights.h5", int(meta["width"]), norm, members)
    paths = [sorted((shared / "data/ravdess/Actor_19").glob(f"03-01-0{e}-*"))[0] for e in range(1, 9)]
    x = np.stack([logmel(clip_windows(load_audio(p))[0]) for p in paths])[..., None]
    ref = model(x, training=False).numpy()
    got = clf.session.run(None, {clf.input_name: x})[0]
    assert np.abs(ref - got).max() <= 1e-4


def test_features_shape_gain_and_silence() -> None:
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(48_000)).astype(np.float32)
    x = logmel(y)
    assert x.shape == (64, 301) and x.dtype == np.float32
    np.testing.assert_allclose(logmel(y * 0.01), x, atol=1e-3)  # relative to the window's maximum
    z = logmel(np.zeros(48_000, np.float32))
    assert np.all(np.isfinite(z)) and z.min() >= -1.0 - 1e-6
