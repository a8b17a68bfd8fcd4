#!/usr/bin/env bash
# A Docker engine for `make image` and the image tests: `engine.sh start` uses the one that answers,
# else starts Debian's dockerd (default socket and data root, so images persist between runs) and
# prints "started"; `engine.sh stop` stops only an engine this script started (its pid file).
set -euo pipefail
PIDFILE=${EMOSTREAM_DOCKERD_PIDFILE:-/run/emostream-dockerd.pid}
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)

case "${1:-start}" in
start)
    if docker info >/dev/null 2>&1; then
        echo "running"
        exit 0
    fi
    command -v dockerd >/dev/null || { echo "no Docker engine: dockerd is not installed (apt-get install docker.io)" >&2; exit 3; }
    log=${TMPDIR:-/tmp}/emostream-dockerd.log
    # setsid: the engine outlives this script (make image, then the test's docker run)
    $SUDO setsid dockerd --pidfile "$PIDFILE" >"$log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        if docker info >/dev/null 2>&1; then
            echo "started"
            exit 0
        fi
        sleep 0.5
    done
    echo "dockerd did not start within 30 s: $(tail -n 1 "$log")" >&2
    exit 3
    ;;
stop)
    [ -f "$PIDFILE" ] || exit 0
    pid=$(cat "$PIDFILE")
    $SUDO kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.25
    done
    $SUDO kill -9 "$pid" 2>/dev/null || true
    ;;
*)
    echo "usage: engine.sh start|stop" >&2
    exit 2
    ;;
esac
