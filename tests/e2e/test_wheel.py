"""The wheel users install: ``pip wheel .`` holds the shipped models, and ``emostream demo`` runs from a
fresh venv outside the checkout (no ../shared: the demo synthesises its own clip)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_holds_the_models_and_runs_the_demo_in_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)]
    subprocess.run(build, check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("emostream-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if "/share/emostream/models/" in n}
    models = {p.name for p in (ROOT / "models").glob("*.onnx")}
    assert models <= shipped and "LICENSE_yunet_Apache-2.0" in shipped
    assert not any(n.endswith(".h5") for n in names)  # Keras weights serve the parity test only
    print(f"wheel {wheel.name}: {wheel.stat().st_size / 1e6:.1f} MB")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, f"{wheel}[demo]"], check=True, capture_output=True, timeout=900)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMOSTREAM_", "PYTHON", "VIRTUAL_ENV"))}
    env["HOME"] = str(tmp_path)  # the synthesised clip is cached here, not in the user's home
    demo = subprocess.run(
        [str(venv / "bin" / "emostream"), "demo", "--seconds", "8"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "face.appeared" in demo.stdout and "demo summary:" in demo.stdout, demo.stdout[-2000:]
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import emostream.runtime as r; print(r.models_dir())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (
        Path(where.stdout.strip()).is_relative_to(venv)
        and (Path(where.stdout.strip()) / "yunet_s_dynamic.onnx").is_file()
    )
