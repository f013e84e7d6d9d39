# The two commands of the README:
#   make demo   set up, start the local Kafka and a worker, run the bundled example
#   make test   set up, start the local Kafka, run every test (unit, integration, cargo)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint unit integration cargo-test kafka-up kafka-up-secure kafka-down clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml matcher_rs/Cargo.toml $(wildcard matcher_rs/src/*.rs)
	$(BIN)/pip install --quiet -e '.[dev]'
	-$(BIN)/pip install --quiet -e '.[fast]' || echo "sqlglotc not available; using pure-Python sqlglot"
	touch $(STAMP)

install: $(STAMP)

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

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

integration: kafka-up kafka-up-secure
	LINEAGE_REQUIRE_SECURE_KAFKA=1 $(BIN)/pytest tests/integration

cargo-test:
	cd matcher_rs && cargo test --no-default-features

test: kafka-up kafka-up-secure lint cargo-test
	LINEAGE_REQUIRE_SECURE_KAFKA=1 $(BIN)/pytest tests

clean: kafka-down
	rm -rf .lineage matcher_rs/target
