# The two commands: `make test` and `make demo`. Both set everything up from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE_STAMP := $(VENV)/.installed-scale

.PHONY: test test-scale demo lint install live bench emulator clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

## Run the whole suite against the bundled emulator (no network but loopback).
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

$(SCALE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[all,dev,ray,notebooks]"
	touch $(SCALE_STAMP)

## A real local Ray Data run and the bulk-jobs notebook (installs the ray + notebooks extras).
test-scale: $(SCALE_STAMP)
	$(BIN)/python -m pytest -m scale -q tests/scale

## The main job: live DashScope when DASHSCOPE_API_KEY is set, else the bundled emulator.
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## ruff + mypy (strict on src/).
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

## Only the tests against the real service (needs DASHSCOPE_API_KEY).
live: $(STAMP)
	$(BIN)/python -m pytest tests/live -q

## Benchmarks (client CPU per call against the emulator); not part of `make test`.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

## Run the emulator in the foreground on port 8000.
emulator: $(STAMP)
	$(BIN)/python -m qwen_dashscope.testing --port 8000

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
