# The two commands a user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo inbox test test-unit lint venv kafka-jars clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,demo]'
	touch $(STAMP)

venv: $(STAMP)

## make demo: embedded broker + Redis, a sample day through the worker, alerts printed
demo: $(STAMP)
	./tools/ensure-system-deps.sh
	$(VENV)/bin/monitor demo

## make inbox: the demo, then the analyst inbox on its alerts (http://127.0.0.1:8080/)
inbox: $(STAMP)
	./tools/ensure-system-deps.sh
	$(VENV)/bin/monitor demo --serve

kafka-jars:
	./tools/ensure-system-deps.sh --java
	./tools/kafka/fetch.sh >/dev/null

## make test: unit tests and integration tests on real Apache Kafka, redis-server and promtool
test: $(STAMP) kafka-jars
	./tools/ensure-system-deps.sh --prometheus --chromium
	$(PY) -m pytest -q -p no:cacheprovider

## make lint: ruff (configured rules) and mypy (strict on monitor/core, normal elsewhere)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

test-unit: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

clean:
	rm -rf $(VENV) monitor-data .pytest_cache

## make faults: the fault suite at 100,000 events (crashes, rebalance, Kafka and Redis
## outages, lost local state, a worker joining) and the decoders' fuzzing at 2,500 examples per property
## and kind; figures in tests/faults/results.json and fuzz_results.json (RELIABILITY.md)
FAULT_ENV := MONITOR_FAULT_EVENTS=100000 MONITOR_FUZZ_EXAMPLES=2500

FUZZ_LOG := $(VENV)/fuzz.log

# The fuzzing (pure CPU) runs beside the fault suite, which waits on Kafka round trips,
# session timeouts and outages much of the time; its output follows the suite's.
.PHONY: faults
faults: $(STAMP) kafka-jars
	@$(FAULT_ENV) $(PY) -m pytest -q -p no:cacheprovider -p tests.faults.fuzz_tally \
		tests/unit/test_fuzz_decode.py > $(FUZZ_LOG) 2>&1 & fuzz=$$!; \
	$(FAULT_ENV) $(PY) -m pytest -q -p no:cacheprovider -m faults tests/faults; suite=$$?; \
	wait $$fuzz; fuzzed=$$?; \
	echo "--- fuzzing: $(PY) -m pytest tests/unit/test_fuzz_decode.py"; cat $(FUZZ_LOG); \
	test $$suite -eq 0 && test $$fuzzed -eq 0

## make bench: throughput, latency and memory against the raw-client ceiling and a naive
## Faust baseline, in one run (default 1,000,000 events; `make bench BENCH_ARGS=--quick`)
BENCH_ARGS ?=
.PHONY: bench
bench: $(STAMP) kafka-jars
	$(PY) -m bench.run $(BENCH_ARGS)

## make audit: known vulnerabilities in the installed dependencies (pip-audit)
.PHONY: audit
audit: $(STAMP)
	./tools/audit.sh $(PY)
