"""The container image, built and run with the real Docker engine (Debian's dockerd).

``make image``'s script (``deploy/image/build.sh``) makes the base from Debian packages with
mmdebstrap and installs emostream from a wheelhouse made on this host; these tests build it (and
the Redis + Prometheus image of ``deploy/compose.local.yaml``), then

* run it on a shared clip with ``--network host`` into a real Redis on the host, looping, until
  Docker's own HEALTHCHECK calls it healthy, and stop it with SIGTERM: nothing pending;
* look inside: no compiler, a non-root user, every shipped model where ``EMOSTREAM_MODELS`` points,
  librosa's numba kernels compiled at build time (loaded, not compiled, at run time);
* bring up ``deploy/compose.yaml`` (emostream + Redis + Prometheus) and see Prometheus scrape the
  daemon and the events reach the stack's Redis.

Image size and build / start-up times are printed (``-s``). Skipped, with the reason, where the
engine cannot start (no dockerd, no privileges).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from emostream.daemon.localredis import LocalRedis, free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGE = "emostream:latest"

pytestmark = [pytest.mark.slow, pytest.mark.shared]


def _run(args: list[str], timeout: float = 120, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    if shutil.which("docker") is None or shutil.which("dockerd") is None:
        pytest.skip("no Docker engine: docker / dockerd not installed (make system-deps installs docker.io)")
    res = _run([str(DEPLOY / "image" / "engine.sh"), "start"], timeout=60)
    if res.returncode != 0:
        pytest.skip(f"the Docker engine cannot start here: {res.stderr.strip()[-300:]}")
    yield
    if res.stdout.strip() == "started":
        _run([str(DEPLOY / "image" / "engine.sh"), "stop"], timeout=60)


@pytest.fixture(scope="module")
def image(engine: None) -> str:
    t0 = time.monotonic()
    env = {**os.environ, "EMOSTREAM_KEEP_ENGINE": "1"}  # the engine fixture stops what it started
    res = _run(["bash", str(DEPLOY / "image" / "build.sh"), "services"], timeout=1500, cwd=ROOT, env=env)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    size = int(_run(["docker", "image", "inspect", IMAGE, "--format", "{{.Size}}"]).stdout)
    print(f"\n{res.stdout.strip().splitlines()[-1]}; whole build step {time.monotonic() - t0:.0f} s")
    assert size > 0
    return IMAGE


def _config(tmp_path: Path, redis_url: str, port: int) -> Path:
    cfg = tmp_path / "emostream.yaml"
    cfg.write_text(
        "cameras:\n"
        "  - {id: desk, url: /media/head-pose-face-detection-female-and-male.gif, fps: 5,"
        " realtime: true, loop: true}\n"
        f"redis: {{url: '{redis_url}'}}\n"
        f"metrics: {{host: 127.0.0.1, port: {port}}}\n"
    )
    cfg.chmod(0o644)  # read by the image's unprivileged user
    return cfg


def test_image_runs_healthy_into_host_redis_and_stops_clean(image: str, shared: Path, tmp_path: Path) -> None:
    with LocalRedis() as server:
        port = free_port()
        cfg = _config(tmp_path, server.url, port)
        name = f"emostream-test-{os.getpid()}"
        t0 = time.monotonic()
        started = _run(
            ["docker", "run", "-d", "--name", name, "--network", "host",
             "--health-interval", "1s", "--health-start-period", "0s",
             "-e", f"EMOSTREAM_HEALTH_URL=http://127.0.0.1:{port}/healthz",
             "-v", f"{cfg}:/etc/emostream/emostream.yaml:ro", "-v", f"{shared / 'media'}:/media:ro", image],
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        try:
            health, events, healthy_at = "", 0, None
            client = redis.Redis.from_url(server.url)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and (healthy_at is None or events == 0):
                state = json.loads(_run(["docker", "inspect", name, "--format", "{{json .State}}"]).stdout)
                assert state["Running"], _run(["docker", "logs", name]).stderr[-2000:]
                health = state.get("Health", {}).get("Status", "")
                if health == "healthy" and healthy_at is None:
                    healthy_at = time.monotonic() - t0
                events = int(client.xlen("emostream:events"))
                time.sleep(0.5)
            assert healthy_at is not None, f"health {health!r}"
            assert events > 0
            print(f"\nstart-up: healthy {healthy_at:.1f} s after docker run; {events} events so far")
            stopped = _run(["docker", "stop", "-t", "30", name], timeout=60)
            assert stopped.returncode == 0
            code = int(_run(["docker", "inspect", name, "--format", "{{.State.ExitCode}}"]).stdout)
            logs = _run(["docker", "logs", name]).stderr
            assert code == 0, logs[-2000:]
            summary = dict(re.findall(r"(\w+)=(\d+)", logs.strip().splitlines()[-1]))
            assert int(summary["published"]) == int(summary["events"]) > 0 and summary["pending"] == "0"
            assert int(client.xlen("emostream:events")) == int(summary["published"])
            client.close()
        finally:
            _run(["docker", "rm", "-f", name])


def test_image_is_non_root_without_compiler_and_holds_every_model(image: str) -> None:
    shipped = sorted(p.name for p in (ROOT / "models").glob("*.onnx"))
    script = (
        'id -u; for c in gcc cc c++ make ld; do command -v $c; done; ls "$EMOSTREAM_MODELS"; '
        "python -c 'import emostream.runtime as r; print(r.models_dir())'"
    )
    res = _run(["docker", "run", "--rm", "--entrypoint", "sh", image, "-c", script])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.split()
    assert lines[0] == "10001"
    assert not any(line.startswith("/") and line.rsplit("/", 1)[-1] in {"gcc", "cc", "c++", "make", "ld"}
                   for line in lines)  # fmt: skip
    assert set(shipped) <= set(lines)
    assert lines[-1] == "/opt/emostream/share/emostream/models"
    # librosa's numba kernels were compiled in the build: the daemon's user loads them, compiles nothing
    probe = (
        "import numpy as np; from emostream.analysis.voice.features import logmel; "
        "logmel(np.zeros(48000, np.float32))"
    )
    res = _run(
        ["docker", "run", "--rm", "-e", "NUMBA_DEBUG_CACHE=1", "--entrypoint", "python", image, "-c", probe]
    )
    assert res.returncode == 0, res.stderr
    assert "data loaded from" in res.stdout and "data saved to" not in res.stdout, res.stdout[-1500:]


def test_compose_stack_scrapes_the_daemon(image: str, shared: Path) -> None:
    port = free_port()
    project = f"emostream-test-{os.getpid()}"
    env = {**os.environ, "EMOSTREAM_MEDIA": str(shared / "media"), "PROMETHEUS_PORT": str(port)}
    compose = ["docker-compose", "-p", project, "-f", str(DEPLOY / "compose.yaml"),
               "-f", str(DEPLOY / "compose.local.yaml")]  # fmt: skip
    up = _run([*compose, "up", "-d", "redis", "emostream", "prometheus"], timeout=300, env=env)
    try:
        assert up.returncode == 0, up.stderr[-2000:]
        targets: dict[str, str] = {}
        frames = 0.0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (targets.get("emostream") == "up" and frames > 0):
            time.sleep(1)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as r:
                    active = json.load(r)["data"]["activeTargets"]
                targets = {t["labels"]["job"]: t["health"] for t in active}
                q = "sum(emostream_frames_analysed_total)"
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/query?query={q}", timeout=5
                ) as r:
                    result = json.load(r)["data"]["result"]
                frames = float(result[0]["value"][1]) if result else 0.0
            except OSError:
                continue  # Prometheus still starting
        assert targets.get("emostream") == "up", targets
        assert frames > 0
        xlen = _run([*compose, "exec", "-T", "redis", "redis-cli", "XLEN", "emostream:events"], env=env)
        assert int(xlen.stdout.strip()) > 0, xlen.stderr
    finally:
        _run([*compose, "down", "-v"], timeout=180, env=env)
