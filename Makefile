# feedgate: two commands on a fresh machine (Python 3.11+, Node.js and npm for the tests).
#   make run    start the gateway: embedded Valkey, the exchanges' public feeds (no key);
#               offline, the built-in simulators instead
#   make test   lint, type-check and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?=

.PHONY: run test lint proto clean bench redis-tools

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "feedgate needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@ $(VENV)/.run-installed

tests/node/node_modules/.package-lock.json: tests/node/package.json tests/node/package-lock.json
	npm ci --prefix tests/node --no-audit --no-fund --loglevel=error

run: $(VENV)/.run-installed
	$(BIN)/feedgate run --fallback-to-sim $(if $(CONFIG),--config $(CONFIG))

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint tests/node/node_modules/.package-lock.json
	$(BIN)/pytest

# Benchmarks (bench/README.md): feedgate vs the Valkey ceiling and cryptofeed, latency,
# decode micro-benchmarks. `make bench BENCH_ARGS=--quick` checks the harness in ~30 s.
bench: $(VENV)/.dev-installed redis-tools
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# redis-cli (a consumer the tests drive) and redis-benchmark (the bench's ceiling) come
# with Debian's redis-tools: installed when missing and this is root on Debian.
redis-tools:
	@command -v redis-cli >/dev/null && command -v redis-benchmark >/dev/null \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools >/dev/null; } \
	  || echo "redis-tools is missing (Debian: apt-get install redis-tools)" >&2

# Regenerate the protobuf modules in proto/ from the .proto sources (committed;
# tests/test_proto.py fails when they are stale).
proto: $(VENV)/.dev-installed
	$(BIN)/python -m gateway.protogen

clean:
	rm -rf $(VENV) tests/node/node_modules .mypy_cache .ruff_cache .pytest_cache
