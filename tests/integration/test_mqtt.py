"""The MQTT sink against a real Mosquitto: topics, retained state, Home Assistant discovery, last will,
and a broker killed and restarted mid-run without a message lost."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from mqtt_broker import Listener, Mosquitto

from emostream.analysis.debounce import Decision
from emostream.config import MqttConfig
from emostream.metrics import Metrics
from emostream.sinks.events import build_event
from emostream.sinks.mqtt import MqttSink
from emostream.types import Event


@pytest.fixture
def listener(mosquitto: Mosquitto) -> Iterator[Listener]:
    got = Listener(mosquitto)
    yield got
    got.close()


def _track(camera: str, track: int, emotion: str) -> list[Event]:
    scores = {emotion: 0.9, "neutral": 0.1}
    return [
        build_event(camera, "face", Decision("appeared", track, 0.0, scores=scores), time.time()),
        build_event(camera, "face", Decision("changed", track, 1.0, emotion, None, 0.9, scores), time.time()),
    ]


def _lost(camera: str, track: int) -> Event:
    d = Decision("lost", track, 2.0, "happy", dwell=2.0, shares={"happy": 1.0})
    return build_event(camera, "face", d, time.time())


def test_events_state_discovery_and_availability(mosquitto: Mosquitto, listener: Listener) -> None:
    cfg = MqttConfig(url=mosquitto.url, topic_prefix="emo", discovery_prefix="ha")
    metrics = Metrics()
    sink = MqttSink(cfg, ["door"], metrics)
    sink.start()
    listener.wait_for(lambda: listener.on("emo/availability") == ["online"])
    sink.write(_track("door", 1, "happy") + _track("door", 2, "happy") + _track("door", 3, "sad"))
    sink.write([_lost("door", 3)])
    listener.wait_for(lambda: len(listener.on("emo/door/events")) == 7)
    sink.close()
    listener.wait_for(lambda: listener.on("emo/availability")[-1:] == ["offline"])
    events = [json.loads(p) for p in listener.on("emo/door/events")]
    assert [e["type"] for e in events[:2]] == ["face.appeared", "emotion.changed"] and events[-1][
        "track"
    ] == 3
    assert listener.on("emo/door/faces")[-1] == "2" and listener.on("emo/door/emotion")[-1] == "happy"
    assert metrics.mqtt_published._value.get() >= 7 and sink.dropped == 0
    # A new subscriber (Home Assistant starting later) gets the retained state and discovery at once.
    late = Listener(mosquitto)
    try:
        late.wait_for(lambda: late.on("ha/sensor/emostream_door_faces/config"))
        retained = {t: p for t, p, r in late.messages if r}
        assert retained["emo/availability"] == "offline" and retained["emo/door/faces"] == "2"
        conf = json.loads(retained["ha/sensor/emostream_door_emotion/config"])
        assert conf["state_topic"] == "emo/door/emotion" and conf["availability_topic"] == "emo/availability"
        assert conf["unique_id"] == "emostream_door_emotion" and conf["device"]["identifiers"] == [
            "emostream_door"
        ]
        assert "emo/door/events" not in retained  # events are not retained, state is
    finally:
        late.close()


def test_broker_killed_and_restarted_loses_nothing(mosquitto: Mosquitto, listener: Listener) -> None:
    metrics = Metrics()
    sink = MqttSink(MqttConfig(url=mosquitto.url), ["hall"], metrics)
    sink.start()
    listener.wait_for(lambda: listener.on("emostream/availability"))
    sent: list[str] = []

    def batch(first: int) -> None:
        evs = [e for t in range(first, first + 5) for e in _track("hall", t, "angry")]
        sent.extend(e.payload["id"] for e in evs)
        sink.write(evs)

    batch(1)
    listener.wait_for(lambda: len(listener.on("emostream/hall/events")) == 10)
    mosquitto.kill()
    listener.wait_for(lambda: not sink.connected)
    batch(10)  # the broker is gone: held, the caller never waits
    assert metrics.mqtt_up._value.get() == 0 and sink.pending >= 10
    mosquitto.start()  # same port, no persistence: a fresh broker
    listener.wait_for(lambda: sink.connected, timeout=40)
    batch(20)
    ids = lambda: {json.loads(p)["id"] for p in listener.on("emostream/hall/events")}  # noqa: E731
    listener.wait_for(lambda: ids() == set(sent), timeout=20)
    sink.close()
    assert sink.dropped == 0 and len(sent) == 30
    assert metrics.mqtt_up._value.get() == 0  # closed
