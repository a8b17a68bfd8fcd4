"""The one place that creates onnxruntime sessions and finds the shipped models.

Every model the daemon runs is loaded through :func:`create_session`, so thread settings, providers
and the error a user sees for a missing or corrupt model are the same everywhere.
"""

from __future__ import annotations

import os
import sysconfig
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import onnxruntime as ort

from emostream.errors import ConfigError, ModelError


def models_dir() -> Path:
    """Where the shipped models live: ``$EMOSTREAM_MODELS``, else ``models/`` beside the package (a
    checkout, or an editable install of it), else ``share/emostream/models`` under the install's data
    root, where a wheel puts them (its ``data-files``)."""
    env = os.environ.get("EMOSTREAM_MODELS")
    if env:
        return Path(env)
    source_tree = Path(__file__).resolve().parent.parent / "models"
    if source_tree.is_dir():
        return source_tree
    return Path(sysconfig.get_paths()["data"]) / "share" / "emostream" / "models"


def resolve_model(path: str | Path) -> Path:
    """A bare file name refers to the shipped models folder; anything else is used as given."""
    p = Path(path).expanduser()
    if not p.is_absolute() and p.parent == Path(".") and not p.exists():
        return models_dir() / p
    return p


def create_session(path: str | Path, threads: int = 1, providers: Sequence[str] = ()) -> ort.InferenceSession:
    """Load an ONNX model with a fixed number of intra-op threads on ``providers`` (``runtime.providers``;
    empty: the CPU).

    One thread per session by default: the daemon scales by running cameras in parallel,
    and several sessions each grabbing every core would only fight each other.
    """
    p = resolve_model(path)
    if not p.is_file():
        raise ModelError(f"model file not found: {p}")
    chosen = check_providers(providers)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(p), sess_options=opts, providers=chosen)
    except Exception as exc:  # onnxruntime raises several unrelated types for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load model {p}: {first}") from None


# Which extra brings which execution provider (onnxruntime's own names).
PROVIDER_EXTRAS = {
    "CUDAExecutionProvider": "gpu",
    "TensorrtExecutionProvider": "gpu",
    "OpenVINOExecutionProvider": "openvino",
}


def check_providers(providers: Sequence[str]) -> list[str]:
    """``providers`` in order, the CPU last as the fallback onnxruntime needs; a
    :class:`~emostream.errors.ConfigError` naming the first one this onnxruntime build lacks."""
    available = ort.get_available_providers()
    for i, name in enumerate(providers):
        if name not in available:
            extra = PROVIDER_EXTRAS.get(name)
            hint = f"; pip install 'emostream[{extra}]'" if extra else ""
            have = ", ".join(available)
            raise ConfigError(
                f"runtime.providers[{i}]: {name} is not installed here (available: {have}){hint}"
            )
    chosen = [n for n in providers if n != "CPUExecutionProvider"]
    return [*chosen, "CPUExecutionProvider"]


def state_dir() -> Path:
    """Where the daemon keeps state across restarts (the event spool): ``$EMOSTREAM_STATE_DIR``,
    else ``$XDG_STATE_HOME/emostream``, else ``~/.local/state/emostream``."""
    env = os.environ.get("EMOSTREAM_STATE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "emostream"


@cache
def shared_dir() -> Path | None:
    """The shared data folder (``$EMOSTREAM_SHARED`` or ``../shared`` beside the checkout), if any."""
    env = os.environ.get("EMOSTREAM_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parent.parent.parent / "shared")
    for c in candidates:
        if c.is_dir():
            return c
    return None


def warm_up(session: ort.InferenceSession, shape: tuple[int, ...], dtype: type = np.float32) -> None:
    """Run once on zeros so the first real frame does not pay for lazy initialisation."""
    name = session.get_inputs()[0].name
    session.run(None, {name: np.zeros(shape, dtype=dtype)})
