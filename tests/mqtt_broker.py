"""A real Mosquitto broker on a free loopback port, with a password file, started and killed by tests;
and a listening client that keeps every message."""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from emostream.daemon.localredis import free_port


class Mosquitto:
    """``start()`` / ``kill()`` (SIGKILL, no goodbye) / ``stop()``; the same port across restarts."""

    def __init__(self, folder: Path, user: str = "cam", password: str = "s3cret-p@ss") -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(binary).exists():
            pytest.skip("needs Mosquitto (apt-get install mosquitto; `make system-deps` does)")
        self.binary = binary
        self.port = free_port()
        self.user, self.password = user, password
        pw = folder / "passwd"
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(pw), user, password], check=True)
        self.conf = folder / "mosquitto.conf"
        # `user`: as root, Mosquitto would switch to its own user, who cannot read the test's folder
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\n"
            f"persistence false\nuser {getpass.getuser()}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.user}:{self.password.replace('@', '%40')}@127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


class Listener:
    """A subscriber to ``#`` that reconnects on its own and keeps every message (retained ones too)."""

    def __init__(self, broker: Mosquitto) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.username_pw_set(broker.user, broker.password)
        self.client.reconnect_delay_set(0.1, 0.5)  # back before the sink (1 s) after a broker restart
        self.client.on_connect = lambda c, *_: c.subscribe("#", qos=1)
        self.client.on_message = self._got
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def _got(self, _c: object, _u: object, m: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((m.topic, m.payload.decode(), bool(m.retain)))

    def on(self, topic: str) -> list[str]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def wait_for(self, check: object, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return
            time.sleep(0.05)
        raise AssertionError("timed out waiting for MQTT messages")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
