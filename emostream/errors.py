"""Every error a user can fix, under one base class, so the CLI catches one type and prints one line.

Each class carries the exit status the ``emostream`` command returns for it: 2 for input the user
gave (a config field, a folder, a credentials file), 1 for the environment (a model file, a source,
the spool's disk). Messages are one line (a config error: one line per field) with credentials
already redacted by whoever raised it.
"""

from __future__ import annotations

__all__ = [
    "AudioError",
    "ConfigError",
    "EmostreamError",
    "ModelError",
    "ReportError",
    "SourceError",
    "SpoolError",
    "SpoolFull",
]


class EmostreamError(Exception):
    """Base of emostream's own errors; ``exit_code`` is what ``emostream`` exits with."""

    exit_code = 1


class ConfigError(EmostreamError, ValueError):
    """Invalid configuration; ``str()`` is one line per problem, each prefixed by its field path."""

    exit_code = 2


class ModelError(EmostreamError, RuntimeError):
    """A model file is missing, unreadable or not the model we expected."""


class SourceError(EmostreamError, RuntimeError):
    """A camera or audio source could not be opened or read."""


class AudioError(EmostreamError, ValueError):
    """Audio that cannot be analysed: unreadable, empty, or not finite."""


class SpoolError(EmostreamError, RuntimeError):
    """The on-disk event spool cannot be used (locked by another daemon, not writable)."""


class SpoolFull(SpoolError):
    """The spool's disk refused a write (full, read-only, quota): nothing of that batch was kept."""


class ReportError(EmostreamError, RuntimeError):
    """A video cannot be reported on."""
