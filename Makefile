# kinfold — `make help` lists what is here. Two commands matter to a newcomer: `make demo`, `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
LOCK := requirements/dev.lock
BENCH_LOCK := requirements/bench.lock
CHROMIUM ?= /usr/bin/chromium
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
export KINFOLD_CHROMIUM := $(CHROMIUM)

.PHONY: help install assets chromium demo serve test test-fast test-postgres lint format bench \
        bench-synth bench-linkage bench-ingest bench-access bench-audit bench-programme lock clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "kinfold needs Python 3.11"' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed ## create .venv and install the pinned dependencies

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

ASSETS := src/kinfold/web/static/kinfold/kinfold.css
$(ASSETS): node_modules/.package-lock.json scripts/build-assets.mjs $(wildcard src/kinfold/web/assets/*)
	node scripts/build-assets.mjs

assets: $(ASSETS) ## build the GOV.UK Frontend styles and scripts into static files

chromium: ## install Debian's chromium for the browser tests when it is missing
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-liberation; }

demo: install assets ## build a synthetic borough, run its quarters and serve on http://127.0.0.1:8000
	KINFOLD_ENV=demo $(BIN)/kinfold demo

serve: install assets ## serve the existing demo database on http://127.0.0.1:8000
	KINFOLD_ENV=demo $(BIN)/kinfold serve

test: install assets chromium ## install and run the whole suite, browser tests included
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-fast: install assets ## the suite without browser tests
	$(BIN)/pytest -n 2 -m "not e2e" $(PYTEST_ARGS)

test-postgres: install assets chromium ## the whole suite against PostgreSQL (POSTGRES_URL)
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: install ## ruff, formatting, mypy and the access-layer rule
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy src/kinfold
	$(PY) scripts/lint_model_usage.py

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

$(VENV)/.bench-installed: $(BENCH_LOCK) $(VENV)/.installed
	$(PY) -m pip install --quiet --require-hashes -r $(BENCH_LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

bench: bench-synth bench-linkage bench-ingest bench-access bench-audit bench-programme ## every benchmark (long)

bench-synth: $(VENV)/.bench-installed ## synthetic borough generation time and memory
	$(PY) -m benchmarks.synth

bench-linkage: $(VENV)/.bench-installed ## linkage accuracy and speed beside Splink, recordlinkage, anonlink
	$(PY) -m benchmarks.linkage

bench-ingest: $(VENV)/.bench-installed ## a quarter's ingest at 250,000 residents (per stage, memory, accuracy)
	$(PY) -m benchmarks.ingest

bench-access: $(VENV)/.bench-installed ## access decision latency with its audit write
	$(PY) -m benchmarks.access

bench-audit: $(VENV)/.bench-installed ## audit log appends, verification, proofs
	$(PY) -m benchmarks.audit

bench-programme: $(VENV)/.bench-installed ## a full quarter for a 250,000-resident borough
	$(PY) -m benchmarks.programme

lock: ## re-pin the dependencies after editing pyproject.toml
	$(PY) -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes --quiet -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 --generate-hashes --quiet -o $(BENCH_LOCK)

clean: ## remove the environment, built assets and the demo's data
	rm -rf $(VENV) node_modules src/kinfold/web/static/kinfold var
