"""The dashboard: its state model and metrics reading, then the real thing in Debian's headless chromium.

The browser test runs a daemon on a shared clip, the dashboard and chromium (Selenium with
chromium-driver) and checks what a person would see: the camera, a tracked face with an emotion, the
health badges; then Redis is restarted and the daemon replaced, and the page must recover by itself.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client import generate_latest

from emostream.daemon.health import MetricsServer
from emostream.daemon.localredis import LocalRedis, free_port
from emostream.metrics import Metrics
from emostream.tools.dashboard.health import HealthProbe, parse_metrics
from emostream.tools.dashboard.state import DashboardState

T0 = 1_800_000_000.0


def _ev(kind: str, track: int, at: float, emotion: str | None = None, **extra: Any) -> dict[str, Any]:
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"
    return {"type": kind, "camera": "c", "modality": "face", "track": track, "emotion": emotion, "time": iso,
            **extra}  # fmt: skip


def test_state_people_and_timeline() -> None:
    st = DashboardState(window=60, bucket=5)
    st.apply(_ev("face.appeared", 1, T0, scores={"happy": 0.7, "sad": 0.3}), now=T0)
    people = st.snapshot(T0)["cameras"]["c"]["people"]
    assert people[0]["emotion"] == "happy" and people[0]["provisional"] is True
    st.apply(_ev("face.appeared", 2, T0 + 1, scores={"sad": 0.9}), now=T0 + 1)
    st.apply(_ev("emotion.changed", 1, T0 + 2, "sad", confidence=0.8), now=T0 + 2)
    st.apply(_ev("face.lost", 2, T0 + 6), now=T0 + 6)
    st.advance(T0 + 10)
    snap = st.snapshot(T0 + 10)["cameras"]["c"]
    assert [(p["track"], p["emotion"], p["provisional"]) for p in snap["people"]] == [(1, "sad", False)]
    assert snap["events"] == 4 and snap["recent"][0]["type"] == "face.lost"
    by_t = {b["t"]: b["shares"] for b in snap["timeline"] if b["shares"]}
    # [T0, T0+5): track 1 happy 2 s then sad 3 s, track 2 sad 4 s -> happy 2/9, sad 7/9
    assert by_t[T0] == pytest.approx({"happy": 2 / 9, "sad": 7 / 9}, abs=1e-3)
    assert by_t[T0 + 5] == {"sad": 1.0}
    assert len(snap["timeline"]) == 12  # 60 s of 5 s buckets


def test_state_speaker_and_fused_emotion() -> None:
    """A voice segment attributed to face track 1 makes it speak (until the segment stops) and a
    person.emotion gives it its fused emotion; face track 1 and voice segment 1 stay two people."""
    st = DashboardState()
    st.apply(_ev("face.appeared", 1, T0, scores={"neutral": 1.0}), now=T0)
    st.apply(_ev("face.appeared", 2, T0, scores={"happy": 1.0}), now=T0)
    voice = {"modality": "voice", "speaker_track": 1, "speaker_confidence": 0.5}
    st.apply(_ev("voice.started", 1, T0 + 1, scores={"angry": 1.0}) | voice, now=T0 + 1)
    st.apply(_ev("person.emotion", 1, T0 + 2, "angry", confidence=0.7) | {"modality": "fused"}, now=T0 + 2)
    people = {(p["modality"], p["track"]): p for p in st.snapshot(T0 + 2)["cameras"]["c"]["people"]}
    assert set(people) == {("face", 1), ("face", 2), ("voice", 1)}
    assert people["face", 1]["speaking"] and people["face", 1]["fused"] == "angry"
    assert not people["face", 2]["speaking"] and people["face", 2]["fused"] is None
    assert people["voice", 1]["speaker"] == 1
    st.apply(_ev("voice.stopped", 1, T0 + 4) | voice, now=T0 + 4)
    people = {(p["modality"], p["track"]): p for p in st.snapshot(T0 + 4)["cameras"]["c"]["people"]}
    assert set(people) == {("face", 1), ("face", 2)} and not people["face", 1]["speaking"]
    assert people["face", 1]["fused"] == "angry"  # the last fused estimate stays shown


def test_state_clock_never_goes_back_and_reconcile_drops_stale() -> None:
    st = DashboardState()
    st.apply(_ev("face.appeared", 1, T0 + 100, scores={"fear": 1.0}), now=T0)  # a clock ahead of ours
    st.apply(_ev("emotion.changed", 3, T0 - 50, "happy"), now=T0 + 1)  # appeared before we started
    assert st.clock == T0 and st.cameras["c"].last_event == T0  # neither ahead of now nor back in time
    assert {p.track for p in st.cameras["c"].people.values()} == {1, 3}
    assert not st.reconcile("c", active=2, checked=T0 + 10)
    assert st.reconcile("c", active=0, checked=T0 + 10) and not st.cameras["c"].people


def test_health_parses_the_daemons_own_metrics() -> None:
    m = Metrics()
    m.init_camera_series(["a", "b"])
    m.source_up.labels("a").set(1)
    m.tracks_active.labels("a").set(2)
    m.frames_analysed.labels("a").inc(7)
    m.frames_dropped.labels("b", "corrupt").inc(3)
    m.redis_up.set(1)
    m.published.inc(5)
    got = parse_metrics(generate_latest(m.registry).decode())
    assert got["redis_up"] is True and got["published"] == 5 and got["version"]
    assert got["cameras"]["a"] == {
        "source_up": 1.0,
        "analysed": 7.0,
        "tracks": 2.0,
        "queue": 0.0,
        "dropped": 0.0,
    }
    assert got["cameras"]["b"]["dropped"] == 3.0 and got["cameras"]["b"]["source_up"] == 0.0


def test_health_probe_rates_and_restarts() -> None:
    """Against the daemon's real metrics server: frames/s from the counter; a counter going back = restart."""
    port = free_port()

    def serve(frames: int) -> MetricsServer:
        m = Metrics()
        m.init_camera_series(["a"])
        m.frames_analysed.labels("a").inc(frames)
        server = MetricsServer(m, "127.0.0.1", port, lambda: (True, {}))
        server.start()
        return server

    probe = HealthProbe(f"http://127.0.0.1:{port}")
    assert probe.poll()["up"] is False  # nothing there yet
    server = serve(100)
    first = probe.poll()
    assert first["up"] and first["ready"] and "fps" not in first["cameras"]["a"]
    server.stop()
    assert probe.poll()["up"] is False
    server = serve(10)  # a new process: its counters start again
    again = probe.poll()
    server.stop()
    assert again["up"] and again["cameras"]["a"].get("restarted") is True


# --- the real thing ---------------------------------------------------------------------------------


def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "emostream", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=15)[1]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[1]


@pytest.fixture
def browser() -> Iterator[Any]:
    for exe in ("chromium", "chromedriver"):
        if shutil.which(exe) is None:
            pytest.fail(f"{exe} is required for the dashboard test (make test installs it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="emostream-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium") or "chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--user-data-dir={profile}", "--window-size=1280,900"):  # fmt: skip
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, CSP reports too
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=opts)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _until(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for: {what}")


def _page(driver: Any) -> dict[str, Any]:
    """What the page shows, read from its DOM."""
    return driver.execute_script(
        """
        const q = (s, n = document) => [...n.querySelectorAll(s)];
        return {
          conn: document.getElementById('conn').textContent,
          redis: document.getElementById('redis').textContent,
          daemons: q('.pill.daemon').map((e) => e.textContent),
          images: q('img').length,
          cameras: Object.fromEntries(q('section.camera').map((c) => [c.dataset.camera, {
            events: Number(c.dataset.events),
            source: c.querySelector('.pill.source').textContent,
            people: q('tr.person', c).map((r) =>
              [Number(r.dataset.track), r.querySelector('.emotion').textContent, r.dataset.modality,
               r.lastElementChild.textContent]),
          }])),
        };"""
    )


@pytest.mark.shared
@pytest.mark.slow
def test_dashboard_in_a_real_browser(
    media: list[Path], tmp_path: Path, redis_server: LocalRedis, browser: Any
) -> None:
    clip = next(p for p in media if "female-and-male" in p.name)
    metrics_port = free_port()
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"cameras:\n  - {{id: desk, url: '{clip}', fps: 5, loop: true, realtime: true}}\n"
        f"metrics: {{port: {metrics_port}}}\nredis: {{url: '{redis_server.url}'}}\n"
    )
    dash, url = _dashboard(redis_server.url, "--metrics-url", f"http://127.0.0.1:{metrics_port}")
    daemon = _spawn("run", str(cfg))
    t0 = time.monotonic()
    try:
        _until("dashboard answers", lambda: _healthz(url), 30)
        browser.get(url)
        emotions = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}

        def face_shown() -> bool:
            cam = _page(browser)["cameras"].get("desk")
            return bool(cam and any(row[1] in emotions for row in cam["people"]))

        _until("a tracked face with an emotion on the page", face_shown, 30)
        print(f"\npage shows a face {time.monotonic() - t0:.1f} s after the daemon was started")
        page = _page(browser)
        assert page["conn"] == "live" and page["redis"] == "redis up" and page["images"] == 0
        _until("daemon healthy", lambda: _page(browser)["daemons"][0].startswith("daemon ok"), 10)
        # the first health poll may predate the first decoded frame (source_up starts at 0)
        _until("source up", lambda: _page(browser)["cameras"]["desk"]["source"] == "source up", 10)

        # Event-to-page latency: an event written to the stream until the page shows it.
        lat = []
        for i in range(5):
            t1 = time.monotonic()
            _probe(redis_server.url, 100 + i)
            _until("probe event on the page", lambda i=i: _shows_track(browser, "probe", 100 + i), 10)
            lat.append(time.monotonic() - t1)
        print(f"event-to-page latency over {len(lat)} events: max {max(lat) * 1000:.0f} ms")
        assert max(lat) < 2.0

        # Who speaks: a face whose track a voice is attributed to, and its fused emotion.
        _talk(redis_server.url)
        want = [[7, "neutral", "face", "speaking angry"], [1, "angry", "voice", "face #7"]]
        _until(
            "the speaker and the fused emotion",
            lambda: _page(browser)["cameras"].get("talk", {}).get("people") == want,
            10,
        )

        # Redis restarts: the page says so, then recovers on its own.
        redis_server.stop()
        _until("page shows redis down", lambda: _page(browser)["redis"] == "redis down", 15)
        redis_server.start()
        _until("page shows redis up again", lambda: _page(browser)["redis"] == "redis up", 20)
        _probe(redis_server.url, 200)  # the new, empty stream is followed too
        _until("an event after the restart", lambda: _shows_track(browser, "probe", 200), 10)

        # The daemon restarts (tracks start again from #1): the page follows with the new daemon's events.
        _stop(daemon)  # on SIGTERM it ends every track: face.lost events clear the page
        _until("page shows the daemon gone", lambda: "unreachable" in _page(browser)["daemons"][0], 15)
        _until("no face left", lambda: not _page(browser)["cameras"]["desk"]["people"], 10)
        before = _page(browser)["cameras"]["desk"]["events"]
        daemon = _spawn("run", str(cfg))
        _until(
            "new events from the restarted daemon",
            lambda: _page(browser)["cameras"]["desk"]["events"] > before,
            40,
        )
        _until("a face again", face_shown, 30)
        assert _page(browser)["conn"] == "live"
        browser.save_screenshot(str(tmp_path / "dashboard.png"))
    finally:
        err = _stop(daemon)
        dash_err = _stop(dash)
    assert "Traceback" not in dash_err, dash_err
    assert "Traceback" not in err, err


def _healthz(url: str) -> bool:
    try:
        return urllib.request.urlopen(url + "healthz", timeout=1).status == 200
    except OSError:
        return False


def _probe(url: str, track: int) -> None:
    """Write an event as a daemon would, for a camera of its own."""
    ev = _ev("face.appeared", track, time.time(), scores={"happy": 1.0}) | {"camera": "probe"}
    client = redis.Redis.from_url(url)
    client.xadd("emostream:events", {"event": json.dumps(ev), "type": ev["type"], "camera": "probe"})
    client.close()


def _talk(url: str) -> None:
    """A face, a voice segment attributed to it and their fused emotion, as a daemon writes them."""
    now = time.time()
    events = [
        _ev("face.appeared", 7, now, scores={"neutral": 0.9, "angry": 0.1}, box=[0.1, 0.2, 0.2, 0.3]),
        _ev(
            "voice.started",
            1,
            now,
            scores={"angry": 0.8, "calm": 0.2},
            speaker_track=7,
            speaker_confidence=0.5,
        )
        | {"modality": "voice"},
        _ev("emotion.changed", 1, now, "angry", confidence=0.7, speaker_track=7, speaker_confidence=0.5)
        | {"modality": "voice"},
        _ev("person.emotion", 7, now, "angry", confidence=0.6, segment=1, fusion={"face": 0.3, "voice": 0.7})
        | {"modality": "fused"},
    ]
    client = redis.Redis.from_url(url)
    for ev in events:
        ev["camera"] = "talk"
        client.xadd("emostream:events", {"event": json.dumps(ev), "type": ev["type"], "camera": "talk"})
    client.close()


def _shows_track(driver: Any, cam: str, track: int) -> bool:
    got = _page(driver)["cameras"].get(cam)
    return bool(got) and any(row[0] == track for row in got["people"])


def _dashboard(
    redis_url: str, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """A dashboard on a free loopback port, and its base URL."""
    port = free_port()
    proc = _spawn("dashboard", "--redis-url", redis_url, "--port", str(port), *args, env=env)
    return proc, f"http://127.0.0.1:{port}/"


def _dashboard_with_auth(tmp_path: Path, redis_url: str, line: str) -> tuple[subprocess.Popen[str], str]:
    """A dashboard whose --auth-file holds ``line``, and its base URL."""
    secret = tmp_path / "dash.auth"
    secret.write_text(line + "\n")
    return _dashboard(redis_url, "--auth-file", str(secret))


def _refused(*args: str, env: dict[str, str] | None = None) -> str:
    """The one stderr line of ``emostream dashboard ARGS`` exiting 2 before it serves anything."""
    proc = subprocess.run(
        [sys.executable, "-m", "emostream", "dashboard", *args, "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    return lines[0]


def _get(url: str, auth: tuple[str, str] | None = None) -> tuple[int, Any, bytes]:
    """(status, headers (case-insensitive), the body; of an event stream, up to its first state event)."""
    req = urllib.request.Request(url)
    if auth is not None:
        req.add_header("Authorization", "Basic " + base64.b64encode(":".join(auth).encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            if not resp.headers.get("Content-Type", "").startswith("text/event-stream"):
                return resp.status, resp.headers, resp.read()
            body = b""
            while b"event: state" not in body and len(body) < 1 << 20:
                body += resp.readline()
            return resp.status, resp.headers, body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_dashboard_basic_auth(tmp_path: Path, redis_server: LocalRedis) -> None:
    """With --auth-file every path but /healthz needs the credentials, the event stream included."""
    dash, base = _dashboard_with_auth(tmp_path, redis_server.url, "alice:s3cret:with-colon")
    try:
        _until("dashboard answers", lambda: _healthz(base), 30)  # /healthz stays open for probes
        status, headers, _ = _get(base)
        assert status == 401 and headers["WWW-Authenticate"].startswith('Basic realm="emostream"')
        for wrong in (("alice", "s3cret"), ("bob", "s3cret:with-colon"), ("alice", "")):
            assert _get(base, wrong)[0] == 401, wrong
        assert _get(base + "api/state", ("alice", "nope"))[0] == 401
        assert _get(base + "api/events", ("alice", "nope"))[0] == 401
        good = ("alice", "s3cret:with-colon")  # the password is everything after the first colon
        status, _, body = _get(base, good)
        assert status == 200 and b"<html" in body.lower()
        _probe(redis_server.url, 7)
        _until("state with the probe camera", lambda: b'"probe"' in _get(base + "api/state", good)[2], 10)
        status, headers, body = _get(base + "api/events", good)
        assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
        assert b"event: state" in body
    finally:
        err = _stop(dash)
    assert "Traceback" not in err and "s3cret" not in err, err
    assert "basic auth" in err


def test_dashboard_auth_from_the_environment(redis_server: LocalRedis) -> None:
    """$EMOSTREAM_DASHBOARD_AUTH guards the dashboard as --auth-file does; a malformed value exits 2
    with a line that names the variable, never its value."""
    dash, base = _dashboard(redis_server.url, env={"EMOSTREAM_DASHBOARD_AUTH": "carol:env-pw"})
    try:
        _until("dashboard answers", lambda: _healthz(base), 30)
        assert _get(base)[0] == 401
        assert _get(base + "api/state", ("carol", "env-p"))[0] == 401
        assert _get(base + "api/state", ("carol", "env-pw"))[0] == 200
    finally:
        err = _stop(dash)
    assert "Traceback" not in err and "env-pw" not in err, err
    line = _refused(env={"EMOSTREAM_DASHBOARD_AUTH": "carol-no-colon"})
    assert "$EMOSTREAM_DASHBOARD_AUTH" in line and "carol-no-colon" not in line, line


def test_dashboard_throttles_failed_logins_and_sends_security_headers(
    tmp_path: Path, redis_server: LocalRedis
) -> None:
    """Ten wrong passwords from one address within a minute: the eleventh try is refused with 429
    and Retry-After, even with the right password. Every response carries the security headers."""
    dash, base = _dashboard_with_auth(tmp_path, redis_server.url, "alice:right-pw")
    try:
        _until("dashboard answers", lambda: _healthz(base), 30)
        status, headers, _ = _get(base + "api/state", ("alice", "right-pw"))
        assert status == 200
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert _get(base)[1]["Content-Security-Policy"] == csp  # the 401 too
        assert [_get(base + "api/state", ("alice", f"guess{i}"))[0] for i in range(10)] == [401] * 10
        status, headers, body = _get(base + "api/state", ("alice", "right-pw"))
        assert status == 429 and b"too many failed logins" in body and 0 < int(headers["Retry-After"]) <= 60
    finally:
        err = _stop(dash)
    assert err.count("10 failed logins from 127.0.0.1") == 1, err


@pytest.mark.slow
def test_dashboard_with_auth_stays_live_in_a_real_browser(
    tmp_path: Path, redis_server: LocalRedis, browser: Any
) -> None:
    """Credentials given once (in the URL, as a person types them at the prompt) also reach the
    page's EventSource: it goes live and shows an event written after it loaded."""
    dash, base = _dashboard_with_auth(tmp_path, redis_server.url, "alice:pw")
    try:
        _until("dashboard answers", lambda: _healthz(base), 30)
        browser.get(base.replace("http://", "http://alice:pw@"))
        _until("page live", lambda: _page(browser)["conn"] == "live", 20)
        _probe(redis_server.url, 9)
        _until("event after load on the page", lambda: _shows_track(browser, "probe", 9), 10)
        # The page works under its own Content-Security-Policy: Chromium reported no violation...
        csp = lambda: [e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]  # noqa: E731
        assert csp() == []
        # ...and the policy is enforced: an inline script put into the page does not run, and is reported.
        browser.execute_script(
            "const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
            "document.body.appendChild(s);"
        )
        _until("the refused script reported", csp, 5)
        assert browser.execute_script("return window.injected === undefined")
    finally:
        err = _stop(dash)
    assert "Traceback" not in err, err


@pytest.mark.parametrize("content", ["", "alice\n", ":pw\n", "alice:\n"])
def test_dashboard_refuses_malformed_credentials(tmp_path: Path, content: str) -> None:
    secret = tmp_path / "dash.auth"
    secret.write_text(content)
    missing = tmp_path / "absent.auth"
    for path in (secret, missing):
        line = _refused("--auth-file", str(path))
        assert str(path) in line, line
