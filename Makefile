# The two commands of the README:
#   make demo   set up, start the local Kafka and a worker, run the bundled example
#   make test   set up, start the local Kafka, run every test (unit, integration, cargo)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo probes-demo test lint unit integration cargo-test kafka-up kafka-down clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml probes/pyproject.toml matcher_rs/Cargo.toml $(wildcard matcher_rs/src/*.rs)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet -e 'probes/[sql]' --config-settings editable_mode=compat
	command -v redis-server >/dev/null || apt-get install -y -qq redis-server >/dev/null \
		|| echo "redis-server not installed; the redis probe tests will be skipped"
	-$(BIN)/pip install --quiet -e '.[fast]' || echo "sqlglotc not available; using pure-Python sqlglot"
	touch $(STAMP)

install: $(STAMP)

kafka-up: install
	$(BIN)/lineage kafka up

kafka-down:
	-$(BIN)/lineage kafka down

demo: kafka-up
	$(BIN)/python -m scripts.demo

probes-demo: kafka-up
	$(BIN)/python -m scripts.probes_demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

integration: kafka-up
	$(BIN)/pytest tests/integration

cargo-test:
	cd matcher_rs && cargo test --no-default-features

test: kafka-up lint cargo-test
	$(BIN)/pytest tests

clean: kafka-down
	rm -rf .lineage matcher_rs/target
