"""The shipped example config stays valid."""

from pathlib import Path

from emostream.config import load


def test_example_config_is_valid() -> None:
    cfg = load(Path(__file__).resolve().parents[2] / "deploy" / "emostream.example.yaml", env={})
    assert [c.id for c in cfg.cameras] == ["entrance", "checkout-replay"]
    assert cfg.cameras[0].rtsp_transport == "tcp"
    assert [(a.id, a.camera) for a in cfg.audio] == [("entrance-audio", "entrance")]
