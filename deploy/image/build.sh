#!/usr/bin/env bash
# `make image`: builds emostream:latest (and emostream:<version>) with the real Docker engine, here,
# where no image registry answers:
#   1. the base image is Debian bookworm made from Debian packages by mmdebstrap (minbase + Python
#      3.11 + venv + passwd), `docker import`ed as emostream-base:bookworm;
#   2. a wheelhouse is made on this host (the emostream wheel, and every dependency as a binary
#      wheel from PyPI for CPython 3.11 / glibc 2.36, the base's own) in .cache/image/wheels;
#   3. deploy/Dockerfile installs from that wheelhouse only (pip --no-index): no compiler and no
#      network inside the build.
# `build.sh services` also makes emostream-services:bookworm (Debian's redis-server and prometheus)
# for deploy/compose.local.yaml. The engine is started when none answers and stopped again at the end
# unless EMOSTREAM_KEEP_ENGINE=1 (deploy/image/engine.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
CACHE=${EMOSTREAM_IMAGE_CACHE:-.cache/image}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PYTHON=${PYTHON:-python3}
BASE=emostream-base:bookworm
SERVICES=emostream-services:bookworm
VERSION=$($PYTHON -c 'import re,sys; print(re.search(r"__version__ = \"(.+?)\"", open("emostream/__init__.py").read())[1])')
# docs, man pages and translations are not needed in a daemon's image
EXCLUDES=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
          --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright')

started=$(deploy/image/engine.sh start)
if [ "$started" = started ] && [ "${EMOSTREAM_KEEP_ENGINE:-0}" != 1 ]; then
    trap 'deploy/image/engine.sh stop' EXIT
fi
mkdir -p "$CACHE"

rootfs_image() {  # name, packages: a Debian bookworm minbase root file system imported as an image
    local name=$1 packages=$2
    if docker image inspect "$name" >/dev/null 2>&1; then
        return
    fi
    echo "== $name: mmdebstrap bookworm + $packages"
    mmdebstrap --quiet --variant=minbase --include="$packages" "${EXCLUDES[@]}" \
        bookworm "$CACHE/${name%%:*}.tar" "$MIRROR"
    docker import --change 'ENV LANG=C.UTF-8' "$CACHE/${name%%:*}.tar" "$name" >/dev/null
    rm -f "$CACHE/${name%%:*}.tar"
}

rootfs_image "$BASE" python3,python3-venv,passwd
if [ "${1:-}" = services ]; then
    rootfs_image "$SERVICES" redis-server,prometheus
fi

echo "== wheelhouse $CACHE/wheels"
ctx="$CACHE/context"
rm -rf "$ctx" && mkdir -p "$ctx" "$CACHE/wheels"
rm -f "$CACHE"/wheels/emostream-*.whl
$PYTHON -m pip wheel --quiet --no-deps -w "$CACHE/wheels" .
wheel=$(ls "$CACHE"/wheels/emostream-*.whl)
# async-timeout: redis asks for it on Python < 3.11.3 (the base's Python is 3.11.2, this host's may
# be newer, and pip evaluates the marker for the interpreter it runs on)
$PYTHON -m pip download --quiet --only-binary=:all: -d "$CACHE/wheels" "$wheel[mqtt]" "async-timeout>=4.0.3"
mkdir -p "$ctx/wheels"
cp -l "$CACHE"/wheels/*.whl "$ctx/wheels/" 2>/dev/null || cp "$CACHE"/wheels/*.whl "$ctx/wheels/"
cp deploy/Dockerfile "$ctx/Dockerfile"

echo "== docker build emostream:latest"
t0=$(date +%s)
# the classic builder: BuildKit would fetch its frontend image from a registry
DOCKER_BUILDKIT=0 docker build --quiet --build-arg BASE_IMAGE="$BASE" \
    -t emostream:latest -t "emostream:$VERSION" "$ctx" >/dev/null
# The build stage's image and the emostream:latest this build replaced are untagged now: remove them
# (only images of this Dockerfile carry the label), or every rebuild leaves about 2 GB on the disk.
docker image prune --force --filter label=org.emostream.stage >/dev/null
size=$(docker image inspect emostream:latest --format '{{.Size}}')
echo "emostream:latest ($VERSION): $((size / 1000000)) MB, built in $(( $(date +%s) - t0 )) s"
