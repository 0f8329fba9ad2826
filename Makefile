# The two commands: `make demo` and `make test`. Both set themselves up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FORGE ?= local

.PHONY: demo test lint setup services sandbox-image bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## Run the sample backlog end to end on the embedded default (no servers, no API keys).
## `make demo FORGE=github-emulator` runs it against the local GitHub emulator instead.
demo: $(STAMP)
	@if docker info >/dev/null 2>&1; then $(BIN)/python -m sandboxes.images ensure; fi
	$(BIN)/shipyard demo --forge $(FORGE)

## Start what the suite needs (Redis, Docker engine, PostgreSQL, sandbox image), then run it all.
test: $(STAMP) lint services
	$(BIN)/python -m pytest -q --durations=20

## Style, layering and types: ruff, import-linter contracts, mypy on the core contracts.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

services: $(STAMP)
	PY=$(BIN)/python tests/env/ensure-services.sh

sandbox-image: $(STAMP)
	$(BIN)/python -m sandboxes.images ensure

## Benchmarks: not part of the test run; each ends with a RESULT line.
bench: $(STAMP) services
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .shipyard-demo .pytest_cache
