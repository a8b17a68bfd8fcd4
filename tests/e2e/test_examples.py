"""The shipped example config and the README's examples stay valid."""

import re
from pathlib import Path

import yaml

from emostream.config import load, parse


def test_example_config_is_valid() -> None:
    cfg = load(Path(__file__).resolve().parents[2] / "deploy" / "emostream.example.yaml", env={})
    assert [c.id for c in cfg.cameras] == ["entrance", "checkout-replay"]
    assert cfg.cameras[0].rtsp_transport == "tcp"
    assert [(a.id, a.camera) for a in cfg.audio] == [("entrance-audio", "entrance")]


def _blocks(kind: str) -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{kind}\n(.*?)```", text, flags=re.S)


def test_readme_yaml_examples_are_valid_configs() -> None:
    blocks = _blocks("yaml")
    assert len(blocks) >= 3
    for block in blocks:
        doc = yaml.safe_load(block)
        # A fragment may name a camera that the rest of the user's file would define: add it.
        cams = {c["id"] for c in doc.get("cameras", [])}
        named = {a["camera"] for a in doc.get("audio", []) if a.get("camera")} - cams
        doc["cameras"] = doc.get("cameras", []) + [{"id": c, "url": f"{c}.mp4"} for c in sorted(named)]
        parse(doc, env={})


def test_readme_python_examples_import_what_they_use() -> None:
    blocks = _blocks("python")
    assert blocks
    for block in blocks:
        compile(block, "README.md", "exec")
        for line in block.splitlines():
            if line.startswith(("from emostream", "import emostream")):
                exec(line, {})  # the import paths the README shows still exist
