"""The full fault suite (`make faults`): one Apache Kafka and one redis-server per session,
the same fixtures as tests/integration (imported from there).

Its tests are marked `faults` and only run when `MONITOR_FAULT_EVENTS` is set (the Makefile's
`faults` target sets it to 100,000); a plain `make test` collects and skips them. The short
subset of `make test` is tests/integration/test_faults_quick.py, which runs the same
scenarios (tests/faults/scenarios.py) at their default small size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.conftest import kafka, redis_server  # noqa: F401 - session fixtures

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("MONITOR_FAULT_EVENTS"):
        return
    skip = pytest.mark.skip(reason="full fault suite: `make faults` (sets MONITOR_FAULT_EVENTS)")
    for item in items:
        if item.get_closest_marker("faults") and HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)
