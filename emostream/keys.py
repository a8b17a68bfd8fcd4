"""Names the daemon and its readers must agree on: Redis stream, channels, consumer groups, MQTT topics.

Defaults only: ``redis.stream`` and ``redis.channel_prefix`` in the config can change the first two,
and every tool that reads (``tail``, ``dashboard``, :mod:`emostream.client`) takes them from here.
"""

from __future__ import annotations

__all__ = [
    "CHANNEL_PREFIX",
    "CLIENT_GROUP",
    "DISCOVERY_PREFIX",
    "MQTT_PREFIX",
    "STREAM",
    "TAIL_GROUP",
    "channel",
    "topic",
]

STREAM = "emostream:events"
"""The stream every event is XADDed to (fields: ``event`` JSON, ``type``, ``camera``, ``id``)."""

CHANNEL_PREFIX = "emostream:camera:"
"""PUBLISH channel of a camera's events: this prefix + the camera id."""

CLIENT_GROUP = "emostream"
"""Consumer group of :class:`emostream.client.EventConsumer` unless told otherwise."""

TAIL_GROUP = "emostream-tail"
"""Consumer group of ``emostream tail``."""


def channel(camera: str, prefix: str = CHANNEL_PREFIX) -> str:
    """The PUBLISH channel of ``camera``'s events."""
    return prefix + camera


MQTT_PREFIX = "emostream"
"""Default ``mqtt.topic_prefix``: events on ``<prefix>/<camera>/events``, retained state beside them."""

DISCOVERY_PREFIX = "homeassistant"
"""Home Assistant's default MQTT discovery prefix."""


def topic(prefix: str, *parts: str) -> str:
    """An MQTT topic: ``prefix/part/part``; the parts (camera ids) hold no ``/``, ``+`` or ``#``."""
    return "/".join((prefix, *parts))
