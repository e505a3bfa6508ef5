"""One Apache Kafka and one redis-server per test session; a fresh worker per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from monitor.io.devservers import KafkaServer, RedisServer
from monitor.io.devworker import WorkerProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def kafka() -> Iterator[KafkaServer]:
    server = KafkaServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def worker_factory(kafka, redis_server, tmp_path) -> Iterator:
    """Builds workers (not started) on the session's Kafka and Redis; stops them after."""
    made: list[WorkerProcess] = []

    def make(**env: str) -> WorkerProcess:
        extra = {f"MONITOR_{k.upper()}": str(v) for k, v in env.items()}
        worker = WorkerProcess(
            kafka.bootstrap, redis_server.url, tmp_path / f"w{len(made)}", extra_env=extra
        )
        if made:  # a second worker of the same test shares topics and group
            worker.prefix = made[0].prefix
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()
        if os.environ.get("MONITOR_TEST_SHOW_LOGS"):
            print(worker.log_text(200))
