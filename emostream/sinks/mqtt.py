"""Events to an MQTT broker (paho-mqtt), with Home Assistant discovery: where Frigate users already are.

Topics (``<p>`` = ``mqtt.topic_prefix``): every event as JSON on ``<p>/<camera>/events``; the
camera's leading emotion (the one most of its face tracks show; ``none`` without one) and face
count retained on ``<p>/<camera>/emotion`` and ``<p>/<camera>/faces``; ``<p>/availability``
``online`` / ``offline`` retained, with a last will so a killed daemon reads ``offline``. With
``discovery``, retained configs under ``<discovery_prefix>/sensor/emostream_<camera>_{emotion,faces}/
config`` make Home Assistant show each camera as a device with two sensors, no YAML needed.

Like the Redis publisher it never blocks the pipeline: :meth:`MqttSink.write` appends to a bounded
buffer (the oldest message goes, counted, when it is full) that one thread hands to paho only while
the broker is connected; paho reconnects with capped exponential backoff and re-sends QoS 1 messages
that were in flight when the connection broke.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from emostream import __version__
from emostream.config import MqttConfig
from emostream.errors import ConfigError
from emostream.keys import topic
from emostream.metrics import Metrics
from emostream.redact import redact
from emostream.sinks.events import encode
from emostream.types import Event, Frame, TrackedFace

__all__ = ["MqttSink", "discovery_messages"]

log = logging.getLogger("emostream.mqtt")
Message = tuple[str, str, bool]  # topic, payload, retain


def discovery_messages(cfg: MqttConfig, camera: str) -> list[Message]:
    """Home Assistant's retained discovery configs of ``camera``'s emotion and face-count sensors."""
    oid = "emostream_" + camera.replace(".", "_")
    device = {
        "identifiers": [oid],
        "name": f"emostream {camera}",
        "manufacturer": "emostream",
        "model": "emotion events",
        "sw_version": __version__,
    }
    sensors = {
        "emotion": {"name": "Emotion", "icon": "mdi:emoticon-outline"},
        "faces": {"name": "Faces", "icon": "mdi:account-group", "state_class": "measurement"},
    }
    out = []
    for key, extra in sensors.items():
        doc = {
            **extra,
            "unique_id": f"{oid}_{key}",
            "object_id": f"{oid}_{key}",
            "state_topic": topic(cfg.topic_prefix, camera, key),
            "availability_topic": topic(cfg.topic_prefix, "availability"),
            "device": device,
        }
        out.append((topic(cfg.discovery_prefix, "sensor", f"{oid}_{key}", "config"), json.dumps(doc), True))
    return out


class _CameraState:
    """Open face tracks and their current emotion, to derive the retained state topics."""

    def __init__(self) -> None:
        self.tracks: dict[int, str | None] = {}

    def apply(self, ev: Event) -> None:
        p = ev.payload
        if p.get("modality") != "face":
            return
        if ev.type == "face.appeared":
            self.tracks[p["track"]] = None
        elif ev.type == "emotion.changed":
            self.tracks[p["track"]] = p["emotion"]
        elif ev.type == "face.lost":
            self.tracks.pop(p["track"], None)

    def leading(self) -> str:
        counts = collections.Counter(e for e in self.tracks.values() if e)
        return counts.most_common(1)[0][0] if counts else "none"


class MqttSink:
    """The MQTT sink: :meth:`start`, then :meth:`write` from any thread, then :meth:`close`."""

    def __init__(self, cfg: MqttConfig, cameras: Iterable[str], metrics: Metrics) -> None:
        if not cfg.url:
            raise ConfigError("mqtt.url: empty")
        u = urlsplit(cfg.url)
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise ConfigError(f"mqtt.url: {redact(cfg.url)} is not mqtt://host[:port] or mqtts://…")
        self.cfg = cfg
        self.host, self.port = u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883)
        self.url = redact(cfg.url)
        self.cameras = sorted(set(cameras))
        self.metrics = metrics
        self.published = self.dropped = 0
        self.connected = False
        self._state = {c: _CameraState() for c in self.cameras}
        self._retained: dict[str, Message] = {}  # the latest state messages, re-sent on reconnect
        self._buf: collections.deque[Message] = collections.deque()
        self._cv = threading.Condition()
        self._closing = False
        self._avail = topic(cfg.topic_prefix, "availability")
        cid = f"emostream-{socket.gethostname()}-{os.getpid()}"[:64]
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid)
        if u.username:
            self._client.username_pw_set(unquote(u.username), unquote(u.password or ""))
        if u.scheme == "mqtts":
            self._client.tls_set(ca_certs=cfg.tls_ca)
        self._client.will_set(self._avail, "offline", qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.max_inflight_messages_set(100)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_publish = self._on_publish
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)
        metrics.mqtt_up.set(0)

    # -- paho's callbacks (its network thread) ----------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("mqtt %s refused the connection: %s", self.url, reason)
            return
        log.info("mqtt %s connected", self.url)
        client.publish(self._avail, "online", qos=1, retain=True)
        if self.cfg.discovery:
            for t, payload, retain in (m for c in self.cameras for m in discovery_messages(self.cfg, c)):
                client.publish(t, payload, qos=1, retain=retain)
        with self._cv:
            retained = list(self._retained.values())
        for t, payload, retain in retained:
            client.publish(t, payload, qos=self.cfg.qos, retain=retain)
        with self._cv:
            self.connected = True
            self.metrics.mqtt_up.set(1)
            self._cv.notify_all()

    def _on_disconnect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        with self._cv:
            was, self.connected = self.connected, False
        self.metrics.mqtt_up.set(0)
        if was and not self._closing:
            log.warning("mqtt %s disconnected (%s); holding messages, reconnecting", self.url, reason)

    def _on_publish(self, _c: mqtt.Client, _u: object, _mid: int, _r: object, _p: object) -> None:
        self.published += 1
        self.metrics.mqtt_published.inc()

    # -- the sink ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()  # paho's thread: connects, reconnects with backoff, acks
        self._thread.start()

    def write(
        self, events: Sequence[Event], frame: Frame | None = None, faces: Sequence[TrackedFace] = ()
    ) -> None:
        if not events:
            return
        with self._cv:  # cameras' analysis threads write side by side; paho's thread reads _retained
            out: list[Message] = []
            for ev in events:
                out.append((topic(self.cfg.topic_prefix, ev.camera, "events"), encode(ev), False))
                state = self._state.setdefault(ev.camera, _CameraState())
                state.apply(ev)
                for key, value in (("emotion", state.leading()), ("faces", str(len(state.tracks)))):
                    msg = (topic(self.cfg.topic_prefix, ev.camera, key), value, True)
                    if self._retained.get(msg[0]) != msg:
                        self._retained[msg[0]] = msg
                        out.append(msg)
            for msg in out:
                if len(self._buf) >= self.cfg.buffer:
                    self._buf.popleft()
                    self.dropped += 1
                    self.metrics.mqtt_dropped.inc()
                self._buf.append(msg)
            self.metrics.mqtt_buffered.set(len(self._buf))
            self._cv.notify_all()

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._closing or (self.connected and self._buf))
                if not self._buf and self._closing:
                    return
                if not self.connected:
                    if self._closing:
                        return
                    continue
                msg = self._buf.popleft()
                self.metrics.mqtt_buffered.set(len(self._buf))
            info = self._client.publish(msg[0], msg[1], qos=self.cfg.qos, retain=msg[2])
            if info.rc != mqtt.MQTT_ERR_SUCCESS:  # the connection broke between check and send
                with self._cv:
                    self._buf.appendleft(msg)
                    self._cv.wait(0.2)

    @property
    def pending(self) -> int:
        with self._cv:
            return len(self._buf)

    def close(self, timeout: float = 5.0) -> None:
        """Send what is held (for up to ``timeout`` s while connected), say ``offline``, disconnect."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.connected and (self.pending or self._inflight()):
            time.sleep(0.05)
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        self._thread.join(2)
        if self.connected:
            self._client.publish(self._avail, "offline", qos=1, retain=True).wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()
        if self.pending:
            log.warning("mqtt %s: %d messages not delivered at shutdown", self.url, self.pending)

    def _inflight(self) -> int:
        # paho keeps unacknowledged QoS > 0 messages here until the broker acks them
        return len(getattr(self._client, "_out_messages", ()))
