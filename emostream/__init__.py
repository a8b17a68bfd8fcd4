"""emostream: real-time facial and vocal emotion events from cameras and microphones.

The public API: :mod:`emostream.client` (reading the events from Redis), :func:`load` and
:class:`Config` (the configuration), :func:`schema` (the event JSON Schema), and
:mod:`emostream.testing` (finite sources and sinks for tests). Everything else is the daemon's
inside and may change between versions.
"""

__version__ = "0.1.0"

from emostream import client
from emostream.config import Config, load
from emostream.errors import ConfigError, EmostreamError
from emostream.sinks.events import schema

__all__ = ["Config", "ConfigError", "EmostreamError", "__version__", "client", "load", "schema"]
