# The two commands a user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit venv kafka-jars clean

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

kafka-jars:
	./tools/ensure-system-deps.sh --java
	./tools/kafka/fetch.sh >/dev/null

## make test: unit tests and integration tests on real Apache Kafka and redis-server
test: $(STAMP) kafka-jars
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

clean:
	rm -rf $(VENV) monitor-data .pytest_cache
