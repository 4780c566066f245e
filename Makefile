# netra-ws: `make run` serves the chat, `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_TESTS := tests/node
NODE_STAMP := $(NODE_TESTS)/node_modules/.installed-stamp
PYTEST_ARGS ?=

.PHONY: help setup system-deps run test smoke lint fmt clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "==> Python environment ($(VENV))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

setup: $(STAMP) ## Create .venv and install the project (fast when already done)

system-deps: ## Install the system packages the tests need (Node.js), when missing
	@scripts/system-deps.sh

$(NODE_STAMP): $(NODE_TESTS)/package.json $(NODE_TESTS)/package-lock.json
	@echo "==> Node test clients ($(NODE_TESTS))"
	@npm ci --prefix $(NODE_TESTS) --no-audit --no-fund --loglevel=error
	@touch $@

run: setup ## Serve the chat on http://127.0.0.1:8080 (dev auth, demo agent)
	@echo "==> netra-ws on http://$${WS_HOST:-127.0.0.1}:$${WS_PORT:-8080} (Ctrl-C stops)"
	@$(PY) -m server serve

test: setup system-deps $(NODE_STAMP) ## Run every test
	@$(PY) -m pytest $(PYTEST_ARGS)

smoke: setup ## End-to-end check on a throwaway server (`netra-ws smoke URL` checks another)
	@$(PY) -m server smoke

lint: setup ## ruff and mypy --strict
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

fmt: setup ## Format and fix what ruff can
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

clean: ## Remove the environment and caches
	rm -rf $(VENV) $(NODE_TESTS)/node_modules .mypy_cache .ruff_cache .pytest_cache
