# The two commands: `make test` and `make demo`. Both set everything up from scratch.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The side-by-side benchmark's own environment: this project plus its peers and matplotlib.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
SCALE_STAMP := $(VENV)/.installed-scale

.PHONY: test test-scale demo lint install live bench bench-floors emulator clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev,notebooks]"
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

## The main job: live DashScope when DASHSCOPE_API_KEY is set, else the bundled emulator
## (streamed at a human pace; QWEN_DEMO_CHUNK_DELAY=0 make demo: no pause between chunks).
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

$(BENCH_STAMP): pyproject.toml benchmarks/requirements-peers.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[all]" -r benchmarks/requirements-peers.txt
	touch $(BENCH_STAMP)

## Side by side with every peer (own venv, emulator on loopback): writes benchmarks/RESULTS.md
## and benchmarks/results.png. Not part of `make test` (a smoke run of it is).
bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python -m benchmarks.compare $(BENCH_ARGS)

## Our adapters against their floors only (client CPU per call against the emulator).
bench-floors: $(STAMP)
	$(BIN)/python -m benchmarks

## Run the emulator in the foreground on port 8000.
emulator: $(STAMP)
	$(BIN)/python -m qwen_dashscope.testing --port 8000 --replies examples/emulator-replies.json

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache
