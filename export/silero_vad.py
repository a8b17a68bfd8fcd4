"""Copy Silero VAD's ONNX model out of the ``silero-vad`` wheel into ``models/`` (with its licence).

Run with the project venv::

    .venv/bin/python -m export.silero_vad

The wheel (``silero-vad==6.2.3``, MIT) is fetched once with ``pip download --no-deps`` into
``.cache/wheels`` (or ``--wheel PATH``); its ``silero_vad/data/silero_vad_16k_sequence.onnx`` (the
16 kHz model that takes a whole sequence of 32 ms chunks in one call) and the licence are copied
unchanged, so the runtime needs neither the package nor its PyTorch dependency. Prints the sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import zipfile
from pathlib import Path

from export.wheels import fetch_wheel

ROOT = Path(__file__).resolve().parent.parent
WHEEL = "silero-vad==6.2.3"
MEMBER = "silero_vad/data/silero_vad_16k_sequence.onnx"
LICENCE = "silero_vad-6.2.3.dist-info/licenses/LICENSE"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help="a local silero-vad 6.2.3 wheel (else .cache/wheels)")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "silero_vad_16k_sequence.onnx")
    args = ap.parse_args()
    wheel = args.wheel or fetch_wheel(WHEEL, ROOT / ".cache" / "wheels")
    with zipfile.ZipFile(wheel) as zf:
        model, licence = zf.read(MEMBER), zf.read(LICENCE)
    args.out.write_bytes(model)
    (args.out.parent / "LICENSE_silero_vad_MIT").write_bytes(licence)
    print(
        f"wrote {args.out} ({len(model)} bytes, sha256 {hashlib.sha256(model).hexdigest()}) from {wheel.name}"
    )


if __name__ == "__main__":
    main()
