# netra-ws: `make run` serves the chat, `make test` runs every test. Both set themselves up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_TESTS := tests/node
NODE_STAMP := $(NODE_TESTS)/node_modules/.installed-stamp
CLIENT := client_js
BENCH_STAMP := $(VENV)/.bench-stamp
BENCH_NODE_STAMP := bench/node_modules/.installed-stamp
CLIENT_STAMP := $(CLIENT)/node_modules/.installed-stamp
CLIENT_BUILT := $(CLIENT)/dist/index.html
CLIENT_SOURCES := $(shell find $(CLIENT)/src -type f 2>/dev/null) \
	$(addprefix $(CLIENT)/,index.html vite.config.ts tsconfig.json package.json)
PYTEST_ARGS ?=
NEWEST_VENV := $(VENV)/newest
NEWEST_PY := $(NEWEST_VENV)/bin/python
NEWEST_LOG := $(NEWEST_VENV)/last-run.log
NEWEST_TESTS ?= tests/server/realtime tests/namespaces

.PHONY: help setup system-deps client types client-test run run-cluster test test-newest smoke lint fmt clean bench bench-quick bench-profile bench-tuning

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@echo "==> Python environment ($(VENV))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

setup: $(STAMP) ## Create .venv and install the project (fast when already done)

system-deps: ## Install what the tests need from Debian (Node.js, Chromium, redis-server) when missing
	@scripts/system-deps.sh

$(NODE_STAMP): $(NODE_TESTS)/package.json $(NODE_TESTS)/package-lock.json
	@echo "==> Node test clients ($(NODE_TESTS))"
	@npm ci --prefix $(NODE_TESTS) --no-audit --no-fund --loglevel=error
	@touch $@

$(CLIENT_STAMP): $(CLIENT)/package.json $(CLIENT)/package-lock.json
	@command -v npm >/dev/null || { echo "The web client needs Node.js 20.19+ and npm (make system-deps installs them)" >&2; exit 1; }
	@echo "==> Web client dependencies ($(CLIENT))"
	@npm ci --prefix $(CLIENT) --no-audit --no-fund --loglevel=error
	@touch $@

$(CLIENT_BUILT): $(CLIENT_STAMP) $(CLIENT_SOURCES)
	@echo "==> Web client build ($(CLIENT)/dist)"
	@npm run --prefix $(CLIENT) --silent build

client: $(CLIENT_BUILT) ## Build the web client (installs and rebuilds only what changed)

types: setup $(CLIENT_STAMP) ## Regenerate the client's protocol types from the Pydantic models
	@$(PY) -m schemas.export > $(CLIENT)/src/generated/ws-schema.json.tmp
	@mv $(CLIENT)/src/generated/ws-schema.json.tmp $(CLIENT)/src/generated/ws-schema.json
	@node $(CLIENT)/scripts/gen-types.mjs
	@echo "==> Wrote $(CLIENT)/src/generated/ws-schema.json and protocol.ts"

client-test: $(CLIENT_STAMP) ## Unit tests of the web client (vitest)
	@npm test --prefix $(CLIENT) --silent

run: setup client ## Serve the chat on http://127.0.0.1:8080 (dev auth, demo agent)
	@echo "==> netra-ws on http://$${WS_HOST:-127.0.0.1}:$${WS_PORT:-8080} (Ctrl-C stops)"
	@$(PY) -m server serve

run-cluster: setup client ## Two nodes on 8080 and 8081 with a local Redis (WS_CLUSTER_POSTGRES=1: PostgreSQL)
	@PY=$(PY) scripts/run-cluster.sh

test: setup system-deps $(NODE_STAMP) client ## Run every test: the web client's unit tests, then pytest
	@echo "==> Web client unit tests (vitest)"
	@npm test --prefix $(CLIENT) --silent
	@echo "==> Python, contract, browser and cluster tests (pytest)"
	@$(PY) -m pytest $(PYTEST_ARGS)

# python-socketio and python-engineio past the pin, in a venv of their own: tells when the pin
# can move, and which overrides to review (server/realtime/overrides/). pytest's lines are
# prefixed and the result is one line of its own, so no bare pytest summary comes from here.
test-newest: ## The realtime and namespace tests on the newest python-socketio/python-engineio
	@echo "==> Newest python-socketio and python-engineio ($(NEWEST_VENV))"
	@set -uo pipefail; \
	report() { echo "newest python-socketio $$1 / python-engineio $$2: $$3 — allowed to fail"; }; \
	versions() { $(NEWEST_PY) -c 'from importlib.metadata import version as v; print(v("python-socketio"), v("python-engineio"))'; }; \
	pip() { $(NEWEST_PY) -m pip install --quiet --disable-pip-version-check "$$@" >>$(NEWEST_LOG) 2>&1; }; \
	{ test -x $(NEWEST_PY) || $(PYTHON) -m venv $(NEWEST_VENV); } && : >$(NEWEST_LOG) \
		&& pip --upgrade pip && pip -e ".[dev]" && pinned=$$(versions) \
		&& pip --upgrade "python-socketio[asyncio_client]" python-engineio && newest=$$(versions) \
		|| { report "?" "?" "not run, the install failed ($(NEWEST_LOG))"; exit 1; }; \
	set -- $$newest; \
	note=""; [ "$$newest" = "$$pinned" ] && note=" (= the pin: nothing newer on the registry)"; \
	echo "    python-socketio $$1, python-engineio $$2$$note"; \
	$(NEWEST_PY) -m pytest $(NEWEST_TESTS) -q -p no:cacheprovider 2>&1 \
		| tee $(NEWEST_LOG) | sed -u 's/^/  [newest] /'; \
	status=$${PIPESTATUS[0]}; \
	last=$$(tail -n 1 $(NEWEST_LOG)); \
	count() { grep -Eo "[0-9]+ $$1" <<<"$$last" | grep -Eo '^[0-9]+' || echo 0; }; \
	report "$$1" "$$2$$note" "$$(count passed) passed, $$(( $$(count failed) + $$(count 'errors?') )) failed"; \
	exit $$status

smoke: setup ## End-to-end check on a throwaway server (`netra-ws smoke URL` checks another)
	@$(PY) -m server smoke

lint: setup ## ruff and mypy --strict
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy

fmt: setup ## Format and fix what ruff can
	@$(VENV)/bin/ruff check --fix .
	@$(VENV)/bin/ruff format .

$(BENCH_STAMP): $(STAMP) pyproject.toml
	@echo "==> Benchmark tools (the bench extra)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,bench]"
	@touch $@

$(BENCH_NODE_STAMP): bench/package.json bench/package-lock.json
	@command -v npm >/dev/null || { echo "make bench needs Node.js 20+ and npm (make system-deps installs them)" >&2; exit 1; }
	@echo "==> Benchmark Node packages (bench)"
	@npm ci --prefix bench --no-audit --no-fund --loglevel=error
	@touch $@

bench: $(BENCH_STAMP) $(BENCH_NODE_STAMP) ## Benchmark the full stack beside its baselines (~10 min; bench/results/)
	@$(PY) -m bench

bench-quick: $(BENCH_STAMP) $(BENCH_NODE_STAMP) ## The same, smaller and shorter (under a minute)
	@$(PY) -m bench --quick

bench-profile: $(BENCH_STAMP) $(BENCH_NODE_STAMP) ## py-spy profile of the full stack under load
	@$(PY) -m bench.tuning profile

bench-tuning: $(BENCH_STAMP) $(BENCH_NODE_STAMP) ## The full stack with launch-time tuning applied, measured
	@$(PY) -m bench.tuning whatif

clean: ## Remove the environment and caches
	rm -rf $(VENV) $(NODE_TESTS)/node_modules bench/node_modules $(CLIENT)/node_modules $(CLIENT)/dist .mypy_cache .ruff_cache .pytest_cache
