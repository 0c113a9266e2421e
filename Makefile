# Two commands on a fresh machine: `make run` serves the app, `make test` runs every test.
# `make test-fast` skips the slow tests (pyproject.toml's marker: training on MNIST, load, fuzzing,
# start-up, schemathesis, repeated parity cases beyond one sample) and the browser.
# `make image` builds the container image with buildah; `make image-test` builds it and tests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast image image-test lint bench train lock clean

# The stamps make re-installs happen only when pyproject.toml changes.
$(VENV)/.installed-app: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-app

# digits-serve says "Serving the app at …" itself, once the models are loaded and it listens.
# With MNIST in $(DATA), the page's "Train your own" learns from it (DIGITS_DATA_DIR).
run: $(VENV)/.installed-app
	$(if $(wildcard $(DATA)/mnist.npz $(DATA)/train-images-idx3-ubyte*),DIGITS_DATA_DIR=$(abspath $(DATA)) )$(BIN)/digits-serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not image"

test-fast: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/pytest -m "not slow and not browser and not image"

# The image tests: the built image serving in a container, and the Kubernetes manifests checked
# against what `buildah inspect` says the image has (docs/deployment.md).
image:
	deploy/container/build.sh

image-test: $(VENV)/.installed-test image
	$(BIN)/pytest -m image

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.bench_predict
	$(BIN)/python -m benchmarks.bench_gradients
	$(BIN)/python -m benchmarks.bench_fool_and_dream
	$(BIN)/python -m benchmarks.bench_explain
	$(BIN)/python -m benchmarks.bench_workers
	$(BIN)/python -m benchmarks.bench_training --data $(DATA)

# Retrain the shipped 0/1 model from the MNIST files beside the project (seed 2: docs/models.md).
DATA ?= ../shared/data
train: $(VENV)/.installed-app
	$(BIN)/python -m training.train --data $(DATA) --seed 2

# The image's dependencies, pinned with their sha256 (requirements.lock, which the Dockerfile
# installs from) for Linux x86_64 and Python 3.11: run after changing pyproject.toml's.
lock: $(VENV)/.installed-app
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet pyproject.toml --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis tests/artifacts
