"""``emostream run --mqtt-url`` end to end: a real daemon on real clips, a real Mosquitto, Home
Assistant discovery, the broker's last will when the daemon is killed, and no password in the log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import looping_cameras
from mqtt_broker import Listener, Mosquitto

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def test_daemon_publishes_to_mqtt_and_its_last_will_says_offline(
    media: list[Path], mosquitto: Mosquitto, tmp_path: Path
) -> None:
    listener = Listener(mosquitto)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("cameras:\n" + looping_cameras(media[3:5]) + "metrics: {enabled: false}\n")
    env = {**os.environ, "EMOSTREAM_MQTT_URL": mosquitto.url}  # the secret from the environment
    daemon = subprocess.Popen(
        [sys.executable, "-m", "emostream", "run", str(cfg)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        listener.wait_for(lambda: listener.on("emostream/availability")[-1:] == ["online"], timeout=60)
        listener.wait_for(lambda: listener.on("emostream/cam0/emotion"), timeout=60)
        late = Listener(mosquitto)  # subscribes now: it sees what the daemon left retained
        late.wait_for(lambda: late.on("homeassistant/sensor/emostream_cam1_faces/config"))
        configs = {t for t, _p, r in late.messages if r and t.startswith("homeassistant/sensor/")}
        late.close()
        want = {
            f"homeassistant/sensor/emostream_cam{i}_{k}/config" for i in (0, 1) for k in ("emotion", "faces")
        }
        assert want <= configs
        events = [json.loads(p) for p in listener.on("emostream/cam0/events")]
        assert events and events[0]["type"] == "face.appeared" and events[0]["camera"] == "cam0"
        assert int(listener.on("emostream/cam0/faces")[-1]) >= 0
        daemon.send_signal(signal.SIGKILL)  # no goodbye: only the broker's last will can say offline
        daemon.wait(10)
        listener.wait_for(lambda: listener.on("emostream/availability")[-1:] == ["offline"], timeout=15)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        listener.close()
    log = daemon.stderr.read() if daemon.stderr else ""
    assert "events also to MQTT mqtt://***@127.0.0.1" in log
    assert mosquitto.password not in log and "s3cret" not in log
