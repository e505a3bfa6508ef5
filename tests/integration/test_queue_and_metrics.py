"""The Redis queue sink on a real redis-server, and the worker's /metrics endpoint."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest
import redis

from monitor.io.sinks.redis_queue import RedisQueueSink
from schemas import Alert
from tests.support.kafka_io import produce, read_topic
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration


def _alert(alert_id: str) -> Alert:
    return Alert(
        alert_id=alert_id,
        rule_id="LV_CASH",
        customer_id="C1",
        severity="medium",
        category="large_value_report",
        summary="test",
        event_time=datetime(2026, 3, 2, tzinfo=UTC),
        detected_at=datetime.now(UTC),
        amount=Decimal("50000.00"),
        currency="CNY",
        evidence=["T1"],
        report_due=date(2026, 3, 9),
        queue="lvr-test",
    )


def test_redelivered_alert_is_added_once(redis_server):
    async def run() -> list[tuple[bool, str]]:
        sink = RedisQueueSink.from_url(redis_server.url, prefix="idem:")
        try:
            results = [await sink.add(_alert("a-1")) for _ in range(3)]
            results.append(await sink.add(_alert("a-2")))
            return results
        finally:
            await sink.close()

    results = asyncio.run(run())
    assert [outcome for outcome, _ in results] == ["added", "redelivered", "redelivered", "added"]
    assert results[0][1] == results[1][1] == results[2][1]  # the same stream entry
    client = redis.Redis.from_url(redis_server.url)
    entries = client.xrange("idem:lvr-test")
    assert [f[b"alert_id"] for _, f in entries] == [b"a-1", b"a-2"]
    assert orjson.loads(entries[0][1][b"alert"])["amount"] == "50000.00"


def test_metrics_count_consumed_invalid_and_alerts(worker_factory):
    worker = worker_factory(gauges_interval_s=1, store="memory").start()
    cash = worker.topic("txn.cash")
    good = orjson.dumps(
        {
            "event_id": "m1",
            "txn_id": "m1",
            "customer_id": "M1",
            "account_id": "A",
            "occurred_at": "2026-03-02T10:00:00+08:00",
            "direction": "in",
            "amount": "60000",
            "currency": "CNY",
        }
    )
    produce(worker.bootstrap, [(cash, b"M1", good, None), (cash, b"M2", b"{not json", None)])
    read_topic(
        worker.bootstrap, worker.topic("aml.alerts"), until=lambda m: len(m) >= 1, timeout=90
    )
    url = f"http://127.0.0.1:{worker.metrics_port}/metrics"
    text = ""
    for _ in range(100):
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        if (
            'monitor_queue_pushed_total{queue="large_value_report"} 1.0' in text
            and 'monitor_queue_depth{queue="large_value_report"} 1.0' in text
        ):
            break
        asyncio.run(asyncio.sleep(0.2))
    assert f'monitor_events_consumed_total{{topic="{cash}"}} 2.0' in text
    assert 'monitor_events_invalid_total{reason="invalid_json"} 1.0' in text
    assert 'monitor_alerts_total{rule_id="LV_CASH"} 1.0' in text
    assert "monitor_processing_seconds_bucket" in text
    assert 'monitor_queue_pushed_total{queue="large_value_report"} 1.0' in text
    assert 'monitor_queue_depth{queue="large_value_report"} 1.0' in text
    assert 'monitor_queue_overdue{queue="large_value_report"} 1.0' in text  # due 2026-03-09
    assert f'monitor_consumer_lag{{partition="0",topic="{cash}"}}' in text
    assert "monitor_state_records 1.0" in text
    assert "_created" not in text
    assert "M1" not in text and "M2" not in text  # no customer ids in labels


def test_offsets_of_every_applied_batch_are_committed_while_the_worker_runs(worker_factory):
    """Commits run beside the batches and coalesce (agents/membership.py `CommitScheduler`): many
    small batches in a row must still end with the group's committed offsets at the end of
    each partition, without a revocation or a stop to push them out."""
    worker = worker_factory(store="memory").start()
    cash = worker.topic("txn.cash")
    sent = 0
    for burst in range(30):  # one small batch after the other
        produce(
            worker.bootstrap,
            [
                (
                    cash,
                    f"K{burst}-{i}".encode(),
                    orjson.dumps(
                        {
                            "event_id": f"k{burst}-{i}",
                            "txn_id": f"k{burst}-{i}",
                            "customer_id": f"K{burst}-{i}",
                            "occurred_at": "2026-03-02T10:00:00+08:00",
                            "direction": "in",
                            "amount": "100",
                            "currency": "CNY",
                        }
                    ),
                    None,
                )
                for i in range(3)
            ],
        )
        sent += 3
    wait_consumed(worker, sent)

    end = _wait_committed_to_end(worker.bootstrap, f"{worker.prefix}-app", cash)
    assert sum(end.values()) == sent


def _committed_and_end(bootstrap: str, group: str, topic: str) -> tuple[dict, dict]:
    """The group's committed offsets on `topic` and the topic's end offsets."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    async def run() -> tuple[dict, dict]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            if not tps:
                await consumer._client.force_metadata_update()  # noqa: SLF001
                tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            end = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic}, end

    return asyncio.run(run())


def _wait_committed_to_end(bootstrap: str, group: str, topic: str, timeout: float = 30) -> dict:
    """Wait until `group` has committed the end of every partition of `topic`; the ends."""
    deadline = time.monotonic() + timeout
    while True:
        committed, end = _committed_and_end(bootstrap, group, topic)
        behind = {
            tp: (committed.get(tp, 0), e)
            for tp, e in end.items()
            if e and committed.get(tp, 0) != e
        }
        if not behind:
            return end
        assert time.monotonic() < deadline, (
            f"{group}: committed offsets stuck behind the end: {behind}"
        )
        time.sleep(0.5)


def test_delivery_skips_an_unreadable_alert_by_position_and_commits_past_it(
    worker_factory, redis_server
):
    """A message on `aml.alerts` that is not an alert (no worker writes one) is logged with
    its position and skipped; the alerts around it reach Redis once, and the delivery group
    (`<MONITOR_APP_ID>-queue`) commits past all of them."""
    worker = worker_factory(store="memory").start()
    alerts = worker.topic("aml.alerts")
    first, second = _alert("d-1"), _alert("d-2")
    produce(
        worker.bootstrap,
        [
            (alerts, b"C1", first.model_dump_json().encode(), 0),
            (alerts, b"C1", b'{"alert_id": "half an alert"}', 0),
            (alerts, b"C1", second.model_dump_json().encode(), 0),
            (alerts, b"C1", first.model_dump_json().encode(), 0),
        ],
    )  # a copy
    end = _wait_committed_to_end(worker.bootstrap, f"{worker.prefix}-app-queue", alerts, timeout=90)
    assert sum(end.values()) == 4
    client = redis.Redis.from_url(redis_server.url)
    entries = client.xrange(f"{worker.prefix}:queue:lvr-test")
    assert [f[b"alert_id"] for _, f in entries] == [b"d-1", b"d-2"]
    assert f"unreadable alert at {alerts}[0]@1 skipped" in worker.log_text(5000)
