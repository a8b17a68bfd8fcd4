"""deploy/: the container, compose stack, Kubernetes manifests, alert rules, systemd unit and dashboard.

What cannot run here (a Docker engine, a Kubernetes cluster, Grafana) is checked statically against
the real schemas and tools, and the image's build steps are run on the host; the dashboard and the
rules are checked against a live daemon scraped by a real Prometheus server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import looping_cameras

from emostream.config import load, parse
from emostream.daemon import shard

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
METRIC = re.compile(r"\bemostream_[a-z_]+\b")


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is required for the deploy checks (make system-deps installs it)")
    return exe


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins, args in _dockerfile():
        if ins == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((ins, args))
    return stages


def _context_copies(stage: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(source, destination) of each COPY from the build context (not from another stage)."""
    pairs = []
    for ins, rest in stage:
        if ins == "COPY" and "--from=" not in rest:
            *sources, dest = rest.split()
            pairs += [(src, dest) for src in sources]
    return pairs


def test_dockerfile_is_multistage_non_root_with_healthcheck() -> None:
    """The recipe's shape; tests/e2e/test_image.py builds and runs it with the real engine."""
    stages = _stages()
    assert len(stages) >= 2
    args = dict(a.split("=", 1) for i, a in _dockerfile() if i == "ARG" and "=" in a)
    for stage in stages:  # both stages on the base that deploy/image/build.sh makes with mmdebstrap
        assert stage[0][1].split()[0] == "${BASE_IMAGE}"
    assert args["BASE_IMAGE"] == "emostream-base:bookworm"
    assert "emostream-base:bookworm" in (DEPLOY / "image" / "build.sh").read_text()
    build, final = stages[0], stages[-1]
    assert _context_copies(build) == [("wheels", "/wheels")] and not _context_copies(final)
    install = " ".join(a for i, a in build if i == "RUN")
    # nothing compiled and nothing fetched: no compiler or network needed anywhere
    assert "--no-index" in install and "--only-binary=:all:" in install
    final_text = " ".join(f"{i} {a}" for i, a in final)
    for tool in ("gcc", "g++", "build-essential", "make ", "pip install", "apt-get install"):
        assert tool not in final_text, f"{tool} in the final stage"
    user = [a for i, a in final if i == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    env = " ".join(a for i, a in final if i == "ENV")
    health = [a for i, a in final if i == "HEALTHCHECK"]
    assert health and "EMOSTREAM_HEALTH_URL" in health[0]
    assert "EMOSTREAM_HEALTH_URL=http://127.0.0.1:9108/healthz" in env
    assert "EMOSTREAM_MODELS=/opt/emostream/share/emostream/models" in env
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"share/emostream/models" = ["models/*.onnx"' in pyproject  # where pip puts the models
    assert [a for i, a in final if i == "EXPOSE"] == ["9108"]
    assert json.loads(next(a for i, a in final if i == "ENTRYPOINT")) == ["emostream"]
    assert json.loads(next(a for i, a in final if i == "CMD")) == ["run", "/etc/emostream/emostream.yaml"]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def _host_path(spec: str) -> Path | None:
    src = spec.split(":")[0] if not spec.startswith("${") else spec.split("}", 1)[0] + "}"
    src = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", src)
    return (DEPLOY / src).resolve() if src.startswith((".", "/")) else None


def test_compose_stack_references_existing_files() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"redis", "emostream", "prometheus", "grafana"}
    assert services["emostream"]["image"] == "emostream:latest"  # what make image tags
    local = yaml.safe_load((DEPLOY / "compose.local.yaml").read_text())["services"]
    assert set(local) == {"redis", "prometheus"}  # grafana has no Debian package to build it from
    mounts: dict[str, Path] = {}
    for name, svc in services.items():
        for spec in svc.get("volumes", []):
            host = _host_path(spec)
            if host is None:  # a named volume
                assert spec.split(":")[0] in compose["volumes"], spec
                continue
            target = spec.split("}", 1)[-1].split(":")[1] if spec.startswith("${") else spec.split(":")[1]
            mounts[f"{name}:{target}"] = host
            if "shared/media" in str(host) and not host.exists():
                continue  # the sample clips (../shared) are optional: EMOSTREAM_MEDIA points elsewhere
            assert host.exists(), f"{name} mounts {spec}, which does not exist"
    cfg = load(mounts["emostream:/etc/emostream/emostream.yaml"], env={})
    assert cfg.metrics.host == "0.0.0.0" and cfg.redis.url == "redis://redis:6379/0"
    media = mounts["emostream:/media"]
    if media.exists():
        for cam in (c for c in cfg.cameras if c.enabled):
            assert (media / Path(cam.url).name).is_file(), cam.url
    prom = yaml.safe_load(mounts["prometheus:/etc/prometheus/prometheus.yml"].read_text())
    job = next(j for j in prom["scrape_configs"] if j["job_name"] == "emostream")
    assert job["dns_sd_configs"][0]["names"] == ["emostream"]
    assert job["dns_sd_configs"][0]["port"] == cfg.metrics.port
    assert prom["rule_files"] == ["emostream-rules.yml"]
    assert "prometheus:/etc/prometheus/emostream-rules.yml" in mounts
    provisioning = mounts["grafana:/etc/grafana/provisioning"]
    providers = yaml.safe_load((provisioning / "dashboards" / "emostream.yaml").read_text())["providers"]
    path = providers[0]["options"]["path"]
    assert mounts[f"grafana:{path}/emostream.json"] == DEPLOY / "grafana" / "emostream.json"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())["datasources"]
    assert sources[0]["type"] == "prometheus" and sources[0]["url"] == "http://prometheus:9090"
    res = subprocess.run(
        [
            _tool("docker-compose"),
            "-f",
            str(DEPLOY / "compose.yaml"),
            "-f",
            str(DEPLOY / "compose.local.yaml"),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr


def _k8s() -> dict[str, dict[str, Any]]:
    docs = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[doc["kind"]] = doc
    return docs


def test_kubernetes_manifests_validate_strictly() -> None:
    import kubernetes_validate

    docs = _k8s()
    assert {"Namespace", "ConfigMap", "Secret", "Service", "StatefulSet", "PodDisruptionBudget"} <= set(docs)
    for kind, doc in docs.items():
        if kind in ("Kustomization", "PodMonitor"):  # not in the Kubernetes schemas (kustomize, a CRD)
            continue
        for version in ("1.28.0", kubernetes_validate.latest_version()):
            kubernetes_validate.validate(doc, version, strict=True)
    kust = docs["Kustomization"]
    assert all((DEPLOY / "k8s" / r).is_file() for r in kust["resources"])


def test_statefulset_shards_the_configmap_cameras() -> None:
    docs = _k8s()
    sts, svc, cm = docs["StatefulSet"], docs["Service"], docs["ConfigMap"]
    pod = sts["spec"]["template"]
    labels = pod["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert svc["spec"]["selector"].items() <= labels.items() and sts["spec"]["serviceName"] == "emostream"
    assert docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    replicas = sts["spec"]["replicas"]
    assert int(env["EMOSTREAM_SHARD_COUNT"]["value"]) == replicas
    assert (
        "apps.kubernetes.io/pod-index" in env["EMOSTREAM_SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"]
    )
    port = next(p for p in container["ports"] if p["name"] == "metrics")["containerPort"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["envFrom"][0]["secretRef"]["name"] == docs["Secret"]["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")["mountPath"]
    (key,) = cm["data"]
    assert container["args"] == ["run", f"{mount}/{key}"]
    assert docs["PodMonitor"]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    seen: list[str] = []
    for index in range(replicas):
        pod_env = {"EMOSTREAM_SHARD_COUNT": str(replicas), "EMOSTREAM_SHARD_INDEX": str(index)}
        cfg = parse(yaml.safe_load(cm["data"][key]), env=pod_env)
        assert cfg.metrics.host == "0.0.0.0" and cfg.metrics.port == port
        seen += [c.id for c in shard.select(cfg.cameras, *shard.resolve(cfg.shard))]
    assert sorted(seen) == sorted(c.id for c in cfg.cameras)  # every camera on exactly one pod
    ids = {re.sub(r"[^A-Za-z0-9]", "_", c.id).upper() for c in cfg.cameras}
    for name in docs["Secret"]["stringData"]:
        m = re.fullmatch(r"EMOSTREAM_CAMERA_(\w+)_URL", name)
        assert name == "EMOSTREAM_REDIS_URL" or (m and m.group(1) in ids), name


def test_alert_rules_pass_promtool() -> None:
    promtool = _tool("promtool")
    prom = DEPLOY / "prometheus"
    for args in (
        ["check", "rules", "emostream-rules.yml"],
        ["test", "rules", "emostream-rules.test.yml"],
        ["check", "config", "prometheus.yml"],
    ):
        res = subprocess.run([promtool, *args], cwd=prom, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
    rules = yaml.safe_load((prom / "emostream-rules.yml").read_text())["groups"][0]["rules"]
    names = {r["alert"] for r in rules}
    assert {"EmostreamCameraDown", "EmostreamFramesDropped", "EmostreamLatencyHigh"} <= names
    assert {"EmostreamPublishErrors", "EmostreamNoEventsWhileFacesSeen"} <= names
    tested = (prom / "emostream-rules.test.yml").read_text()
    assert all(f"alertname: {n}" in tested for n in names), "every alert has a unit test"


def test_systemd_unit_verifies_and_is_hardened(tmp_path: Path) -> None:
    text = (DEPLOY / "systemd" / "emostream.service").read_text()
    keys = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] not in "#;")
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "Restart": "on-failure",
        "RestartPreventExitStatus": "2",
        "DynamicUser": "yes",
        "StateDirectory": "emostream",
    }.items():
        assert keys.get(key) == value, key
    assert keys["EnvironmentFile"] == "-/etc/emostream/emostream.env"
    assert "EMOSTREAM_STATE_DIR=/var/lib/emostream" in keys["Environment"]
    local = tmp_path / "emostream.service"
    local.write_text(
        text.replace("/opt/emostream/bin/emostream", str(Path(sys.executable).parent / "emostream"))
    )
    res = subprocess.run(
        [_tool("systemd-analyze"), "verify", str(local)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr


def _dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana" / "emostream.json").read_text())


def _targets() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in _dashboard()["panels"] for t in p.get("targets", [])]


def test_dashboard_structure() -> None:
    dash = _dashboard()
    assert dash["uid"] == "emostream" and dash["panels"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]) and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "${datasource}" and p["targets"]
    text = " ".join(e for _t, e in _targets())
    for needed in (
        "emostream_frames_captured_total",
        "emostream_frames_analysed_total",
        "emostream_frames_dropped_total",
        "emostream_stage_seconds_bucket",
        "emostream_frame_to_publish_seconds_bucket",
        "emostream_faces_total",
        "emostream_events_total",
        "emostream_source_up",
        "emostream_source_reconnects_total",
    ):
        assert needed in text, needed


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def _query(base: str, expr: str) -> list[dict[str, Any]]:
    reply = _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert reply["status"] == "success", (expr, reply)
    return reply["data"]["result"]


def _wait(what: str, check: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.mark.shared
@pytest.mark.slow
def test_prometheus_scrapes_the_daemon_and_every_query_works(
    media: list[Path], tmp_path: Path, redis_server: Any
) -> None:
    """A real Prometheus scrapes a running daemon; the dashboard's queries and the alert rules run on
    the scraped series, and every metric they use is one the daemon exports."""
    from prometheus_client.parser import text_string_to_metric_families

    from emostream.daemon.localredis import free_port

    prometheus = _tool("prometheus")
    clips = [p for p in media if p.name in ("classroom.gif", "head-pose-face-detection-female-and-male.gif")]
    port, prom_port = free_port(), free_port()
    cfg = tmp_path / "emostream.yaml"
    cfg.write_text(
        f"cameras:\n{looping_cameras(clips)}redis: {{url: '{redis_server.url}'}}\nmetrics: {{port: {port}}}\n"
    )
    prom_cfg = tmp_path / "prometheus.yml"
    prom_cfg.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(DEPLOY / "prometheus" / "emostream-rules.yml")],
                "scrape_configs": [
                    {"job_name": "emostream", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                ],
            }
        )
    )
    env = {"EMOSTREAM_STATE_DIR": str(tmp_path / "state")}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "emostream", "run", str(cfg)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    prom = subprocess.Popen(
        [
            prometheus,
            f"--config.file={prom_cfg}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{prom_port}"
    try:
        # scraped series with data: both cameras analysed, events counted
        _wait(
            "analysed frames of both cameras in Prometheus",
            lambda: len(_query(base, "rate(emostream_frames_analysed_total[10s]) > 0")) == len(clips),
        )
        _wait("events in Prometheus", lambda: _query(base, "sum(emostream_events_total) > 0"), 90)
        targets = _get(f"{base}/api/v1/targets")["data"]["activeTargets"]
        assert [t["health"] for t in targets] == ["up"]
        rules = _wait(
            "every alert rule evaluated",
            lambda: (
                (g := _get(f"{base}/api/v1/rules")["data"]["groups"])
                and all(r["health"] == "ok" for r in g[0]["rules"])
                and g[0]["rules"]
            ),
        )
        assert len(rules) == 7
        live = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        exported = {s.name for fam in text_string_to_metric_families(live) for s in fam.samples}
        rules_text = (DEPLOY / "prometheus" / "emostream-rules.yml").read_text()
        used = set(METRIC.findall(" ".join(e for _t, e in _targets()) + rules_text))
        assert used and used <= exported, f"not exported by the daemon: {sorted(used - exported)}"
        cams = {r["metric"]["camera"] for r in _query(base, "emostream_source_up")}
        assert cams == {"cam0", "cam1"}
        for title, expr in _targets():
            concrete = expr.replace("$__rate_interval", "10s").replace("$camera", ".*")
            result = _query(base, concrete)
            if 'type="emotion.changed"' not in expr:  # the one series that may not exist yet
                assert result, f"panel {title!r}: no data for {concrete}"
        for rule in rules:
            _query(base, rule["query"])
        # the events the daemon published, read through a consumer group by `emostream tail`
        tail = ["tail", "--redis-url", redis_server.url, "--from-start", "--json", "--count", "3"]
        res = subprocess.run(
            [sys.executable, "-m", "emostream", *tail, "--seconds", "20"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0 and len(res.stdout.splitlines()) == 3, res.stderr
        assert {json.loads(line)["camera"] for line in res.stdout.splitlines()} <= cams
    finally:
        prom.terminate()
        daemon.terminate()
        prom.wait(20)
        _out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
