# The two commands of the README:
#   make demo   set up, start the local Kafka and a worker, run the bundled example
#   make test   set up, start the local Kafka, run every test (unit, integration, cargo)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install pyc postgres demo probes-demo test lint unit integration cargo-test kafka-up kafka-up-secure kafka-down clean console chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml probes/pyproject.toml matcher_rs/Cargo.toml $(wildcard matcher_rs/src/*.rs matcher_rs/src/*/*.rs)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -e 'probes/[sql]' --config-settings editable_mode=compat
	command -v redis-server >/dev/null || apt-get install -y -qq redis-server >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq redis-server >/dev/null) \
		|| echo "redis-server not installed; the redis probe tests will be skipped"
	-$(BIN)/pip install --quiet -e '.[fast]' || echo "sqlglotc not available; using pure-Python sqlglot"
	touch $(STAMP)

install: $(STAMP) postgres pyc

# Byte-code of the project's own modules, as pip writes it for an installed package: an
# editable install leaves it to the first import, which PYTHONDONTWRITEBYTECODE (set in
# some environments) forbids, and then every `lineage` command compiles them again
# (~30 ms of its start-up). Stale files are ignored by Python, so this is always safe.
pyc: $(STAMP)
	@$(BIN)/python -m compileall -q analyzers streams loadtest >/dev/null

# PostgreSQL (Debian's package) for the psycopg probe's live tests, which start a
# throwaway cluster of their own (loadtest/pgcluster.py); checked on every install, so
# an existing checkout gets it too. `make test` sets LINEAGE_REQUIRE_POSTGRES: there
# the tests fail, never skip, without it.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
		|| DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| echo "postgresql not installed; the psycopg probe tests will be skipped"

kafka-up: install
	$(BIN)/lineage kafka up

# The second, secured broker (SASL_SSL on 9094, `lineage kafka up --secure`)
# that the security tests run against; `kafka-down` stops both.
kafka-up-secure: install
	$(BIN)/lineage kafka up --secure

kafka-down:
	-$(BIN)/lineage kafka down --secure
	-$(BIN)/lineage kafka down

demo: kafka-up
	$(BIN)/python -m scripts.demo

probes-demo: kafka-up
	$(BIN)/python -m scripts.probes_demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: install
	LINEAGE_REQUIRE_POSTGRES=1 $(BIN)/pytest tests/unit

integration: kafka-up kafka-up-secure chromium
	LINEAGE_REQUIRE_SECURE_KAFKA=1 LINEAGE_REQUIRE_POSTGRES=1 $(BIN)/pytest tests/integration

cargo-test:
	cd matcher_rs && cargo test --no-default-features

test: kafka-up kafka-up-secure lint cargo-test chromium
	LINEAGE_REQUIRE_SECURE_KAFKA=1 LINEAGE_REQUIRE_POSTGRES=1 $(BIN)/pytest tests

# The console's front end: console/ (npm) is built into streams/console/static/,
# which is committed so an installed package serves it without Node. This
# rebuilds it when a source or the lock file changed (npm ci from the lock).
CONSOLE_SRC := $(wildcard console/src/*.* console/src/views/*.js) console/build.mjs
CONSOLE_OUT := streams/console/static/console.js

console/node_modules/.package-lock.json: console/package-lock.json
	cd console && npm ci --no-audit --no-fund

$(CONSOLE_OUT): console/node_modules/.package-lock.json $(CONSOLE_SRC)
	cd console && npm run build

console: $(CONSOLE_OUT)

# Headless Chromium for the console's browser tests (Debian packages).
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)

clean: kafka-down
	rm -rf .lineage matcher_rs/target
