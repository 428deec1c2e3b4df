# Tidings: every target creates the virtualenv and installs what it needs itself.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The slowest tests are listed after every run, to keep the whole under 15 minutes.
PYTEST_ARGS ?= --durations=25

.PHONY: run test unit proto lint bench chaos clean venv

$(STAMP): pyproject.toml sdk/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' -e sdk/python
	@# mockylla (the in-memory Cassandra stand-in) declares scylla-driver, which would replace
	@# the real `cassandra` module: install it without its dependencies.
	$(PY) -m pip install -q --no-deps mockylla==0.5.0
	touch $(STAMP)

venv: $(STAMP)

## The whole stack embedded: Kafka-protocol broker, Valkey, SQLite and the five services.
run: $(STAMP)
	$(VENV)/bin/tidings up

## Debian's chromium for the console's browser tests (tests/browser/): Playwright drives it,
## never a downloaded browser. If it cannot be installed, those tests fail and say so.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	-$(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

## Every test tier that runs here. Pytest's exit 5 (no tests collected) is not a failure.
## The tests run in PYTEST_WORKERS processes (pytest-xdist), each with a session stack of its
## own; a test file stays in one process (--dist loadfile), so a module's own stack and the
## order of its tests are as in one process. Much of a run waits on the broker and on
## real-time outages, which the other process fills.
PYTEST_WORKERS ?= 2
test: $(STAMP) $(CHROMIUM)
	$(PY) -m pytest -q -rfE -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS); \
		rc=$$?; [ $$rc -eq 5 ] && exit 0; exit $$rc

unit: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit tests/contract

proto: $(STAMP)
	$(PY) scripts/gen_proto.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy services sdk/python/tidings_client

## Benchmarks (docs/BENCHMARKS.md): each prints every process's CPU per message, the broker
## included, and the load generator's own. BENCH_ARGS go to c2c (e.g. BENCH_ARGS=--saturate).
## The ejabberd peer in the same run: $(PY) -m tests.bench.peers --shape c2c|group.
BENCH_ARGS ?=
bench: $(STAMP)
	$(PY) -m tests.bench.c2c $(BENCH_ARGS)
	$(PY) -m tests.bench.group
	$(PY) -m tests.bench.rest_sendmsg
	$(PY) -m tests.bench.words
	$(PY) -m tests.bench.all_member_push

chaos: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -s tests/chaos

clean:
	rm -rf $(VENV) .tidings
