"""The fault suite: each fault injected into a deterministic stream of cash transactions
(`MONITOR_FAULT_EVENTS`, 100,000 in `make faults`) whose alerts are known from the rule core
run offline; the compliance queues must end with exactly those alert ids, each once, and
`aml.alerts` with none missing. Each test writes its row to tests/faults/results.json
(the figures of RELIABILITY.md) before asserting."""

from __future__ import annotations

import pytest

from tests.faults import scenarios
from tests.faults.scenarios import EVENTS, KILLS, record

pytestmark = [pytest.mark.faults, pytest.mark.integration]

#: per test: the stream, the fault and the drain, on two shared cores
LIMIT = int(120 + EVENTS / 250)


@pytest.mark.timeout(LIMIT + 60 * KILLS)
def test_sigkill_at_random_points(kafka, redis_server, tmp_path):
    row = scenarios.sigkill_restarts(kafka, redis_server, tmp_path)
    record(row)
    row.check()


@pytest.mark.timeout(LIMIT)
def test_one_of_two_group_members_killed(kafka, redis_server, tmp_path):
    row = scenarios.group_member_killed(kafka, redis_server, tmp_path)
    record(row)
    row.check()


@pytest.mark.timeout(LIMIT)
def test_a_worker_joins_mid_stream(kafka, redis_server, tmp_path):
    row = scenarios.worker_joins(kafka, redis_server, tmp_path)
    record(row)
    row.check()


@pytest.mark.timeout(LIMIT + 120)
def test_kafka_stopped_and_restarted(redis_server, tmp_path):
    row = scenarios.kafka_restart(redis_server, tmp_path)
    record(row)
    row.check()


@pytest.mark.timeout(LIMIT + 60)
def test_redis_away_thirty_seconds(kafka, tmp_path):
    row = scenarios.redis_outage(kafka, tmp_path)
    record(row)
    row.check()


@pytest.mark.timeout(LIMIT + 60)
def test_state_dir_deleted_between_runs(kafka, redis_server, tmp_path):
    row = scenarios.state_dir_deleted(kafka, redis_server, tmp_path)
    record(row)
    row.check()
