# Two commands on a fresh machine: `make run` serves the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench train clean

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

run: $(VENV)/.installed-app
	@echo "Serving the app at http://$(HOST):$(PORT)  (Ctrl+C stops it)"
	$(BIN)/digits-serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.bench_predict
	$(BIN)/python -m benchmarks.bench_gradients
	$(BIN)/python -m benchmarks.bench_workers

# Retrain the shipped 0/1 model from the MNIST files beside the project.
DATA ?= ../shared/data
train: $(VENV)/.installed-app
	$(BIN)/python -m training.train --data $(DATA)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis tests/artifacts
