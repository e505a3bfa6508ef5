"""A worker killed with SIGKILL mid-stream and restarted loses no alert and doubles none."""

from __future__ import annotations

import time

import orjson
import pytest
import redis

from monitor.core.pack import load_pack
from monitor.tools.scenario import Message, expected_findings
from tests.support.kafka_io import produce, read_topic

pytestmark = pytest.mark.integration

CUSTOMERS = 1500
DEPOSITS = 10  # 10 x 6,000 CNY: the 9th crosses 50,000 -> one LV_CASH per customer


def _messages() -> list[Message]:
    out = []
    for n in range(DEPOSITS):
        for c in range(CUSTOMERS):
            cid = f"K{c:05d}"
            out.append(
                Message(
                    "cash",
                    cid.encode(),
                    orjson.dumps(
                        {
                            "event_id": f"e-{cid}-{n}",
                            "txn_id": f"t-{cid}-{n}",
                            "customer_id": cid,
                            "account_id": f"A{c}",
                            "occurred_at": f"2026-03-03T{8 + n:02d}:00:00+08:00",
                            "direction": "in",
                            "amount": "6000.00",
                            "currency": "CNY",
                        }
                    ),
                )
            )
    return out


def _queued(client: redis.Redis, key: str) -> list[str]:
    return [f[b"alert_id"].decode() for _, f in client.xrange(key)]


def test_sigkill_mid_stream_then_restart_loses_and_doubles_nothing(worker_factory, redis_server):
    messages = _messages()
    expected, _ = expected_findings(load_pack(), messages)
    expected_ids = {a.alert_id for a in expected.alerts}
    assert len(expected_ids) == CUSTOMERS

    worker = worker_factory().start()
    worker.wait_ready()
    client = redis.Redis.from_url(redis_server.url)
    queue = f"{worker.prefix}:queue:large_value_report"
    produce(worker.bootstrap, [(worker.topic("txn.cash"), m.key, m.value, None) for m in messages])

    kills = 0
    for threshold in (CUSTOMERS // 5, CUSTOMERS // 2):  # two kills at different points
        deadline = time.monotonic() + 120
        while client.xlen(queue) < threshold and time.monotonic() < deadline:
            time.sleep(0.02)
        if client.xlen(queue) >= CUSTOMERS:
            break
        worker.kill()
        kills += 1
        worker.start()

    deadline = time.monotonic() + 180
    while client.xlen(queue) < CUSTOMERS and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # anything doubled would arrive now

    queued = _queued(client, queue)
    assert kills >= 1, "the worker finished before it could be killed: raise CUSTOMERS"
    assert len(queued) == len(set(queued)), "an alert appears twice in the queue"
    assert set(queued) == expected_ids, worker.log_text()

    on_topic = read_topic(
        worker.bootstrap,
        worker.topic("aml.alerts"),
        until=lambda m: {orjson.loads(x.value)["alert_id"] for x in m} >= expected_ids,
        timeout=60,
    )
    ids_on_topic = {orjson.loads(m.value)["alert_id"] for m in on_topic}
    assert ids_on_topic == expected_ids  # none missing; redelivered copies carry the same id
