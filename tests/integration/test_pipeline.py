"""The worker end to end on real Apache Kafka and redis-server: alerts, queues, dead letters."""

from __future__ import annotations

import base64
import urllib.request

import orjson
import pytest
import redis

from monitor.core.pack import load_pack
from monitor.tools.scenario import expected_findings, read_scenario
from tests.support.kafka_io import create_topics, produce, read_topic
from tests.support.samples import DEMO_DAY, records

pytestmark = pytest.mark.integration


def _identity_values(messages) -> set[str]:
    """Names, identity and account numbers and phones in the scenario's valid messages."""
    found: set[str] = set()

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif isinstance(node, str) and key in {
            "name",
            "number",
            "account_number",
            "phone",
            "id_number",
        }:
            if len(node) >= 4:
                found.add(node)

    for m in messages:
        try:
            walk(orjson.loads(m.value))
        except orjson.JSONDecodeError:
            continue
    return found


def _stream_alert_ids(client: redis.Redis, key: str) -> list[str]:
    return [fields[b"alert_id"].decode() for _, fields in client.xrange(key)]


def test_sample_day_reaches_alerts_queue_tasks_and_dead_letters(worker_factory, redis_server):
    messages = read_scenario(DEMO_DAY)
    expected, invalid = expected_findings(load_pack(), messages)
    expected_ids = {a.alert_id for a in expected.alerts}
    assert {a.rule_id for a in expected.alerts} >= {
        "LV_CASH",
        "REMIT_MISSING_INFO",
        "KYC_INCOMPLETE",
    }

    worker = worker_factory().start()
    produce(worker.bootstrap, records(worker, messages))

    alerts = read_topic(  # every version: a grown large-value report is emitted again
        worker.bootstrap,
        worker.topic("aml.alerts"),
        until=lambda m: len(m) >= len(expected.alerts),
        timeout=120,
    )
    seen = [orjson.loads(m.value) for m in alerts]
    assert {a["alert_id"] for a in seen} == expected_ids, worker.log_text()
    assert len(seen) == len(expected.alerts)
    by_id = {a.alert_id: a for a in expected.alerts}  # consumers keep the latest version
    for alert in {a["alert_id"]: a for a in seen}.values():
        want = by_id[alert["alert_id"]].model_dump(mode="json", exclude={"detected_at"})
        assert {k: v for k, v in alert.items() if k != "detected_at"} == want
        assert alert["report_due"] is not None and alert["evidence"]

    tasks = read_topic(
        worker.bootstrap, worker.topic("aml.reid-tasks"), until=lambda m: len(m) >= 1, timeout=30
    )
    assert [orjson.loads(t.value)["trigger"] for t in tasks] == ["INCOMPLETE_KYC"]

    letters = read_topic(
        worker.bootstrap,
        worker.topic("aml.dead-letters"),
        until=lambda m: len(m) >= invalid,
        timeout=30,
    )
    assert len(letters) == invalid == 4
    originals = {m.value for m in messages}
    reasons = set()
    for letter in letters:
        body = orjson.loads(letter.value)
        assert base64.b64decode(body["value_b64"]) in originals
        assert body["topic"] == worker.topic("txn.cash")
        assert body["partition"] >= 0 and body["offset"] >= 0 and body["errors"]
        reasons.add(body["reason"])
    assert reasons == {
        "invalid_json",
        "timestamp_without_offset",
        "invalid_amount",
        "unknown_currency",
    }

    # no identity number, name, account number or phone in any log line or metric label
    secrets = _identity_values(messages)
    assert len(secrets) >= 8
    logs = worker.log_text(100_000)
    scrape = (
        urllib.request.urlopen(f"http://127.0.0.1:{worker.metrics_port}/metrics").read().decode()
    )
    for value in secrets:
        assert value not in logs and value not in scrape, "identity data leaked"

    client = redis.Redis.from_url(redis_server.url)
    queued: list[str] = []
    for category in ("large_value_report", "due_diligence", "suspicious"):
        queued += _stream_alert_ids(client, f"{worker.prefix}:queue:{category}")
    assert sorted(queued) == sorted(expected_ids)


def test_events_keyed_by_account_on_other_partitions_still_sum_per_customer(worker_factory):
    worker = worker_factory().start()
    cash = worker.topic("txn.cash")

    def deposit(txn: str, amount: str) -> bytes:
        return orjson.dumps(
            {
                "event_id": f"ev-{txn}",
                "txn_id": txn,
                "customer_id": "CX1",
                "account_id": "A-9",
                "occurred_at": "2026-03-02T10:00:00+08:00",
                "direction": "in",
                "amount": amount,
                "currency": "CNY",
            }
        )

    # two producers that disagree: one keys by account, one sends without a key
    produce(
        worker.bootstrap,
        [
            (cash, b"A-9", deposit("K1", "30000"), 0),
            (cash, None, deposit("K2", "20000"), 3),
        ],
    )
    alerts = read_topic(
        worker.bootstrap, worker.topic("aml.alerts"), until=lambda m: len(m) >= 1, timeout=90
    )
    assert len(alerts) == 1, worker.log_text()
    alert = orjson.loads(alerts[0].value)
    assert alert["rule_id"] == "LV_CASH" and sorted(alert["evidence"]) == ["K1", "K2"]
    assert alert["amount"] == "50000.00"


def test_refuses_to_start_when_a_topic_has_another_partition_count(worker_factory):
    worker = worker_factory()
    create_topics(worker.bootstrap, [worker.topic("txn.cash")], partitions=2)
    worker.start()
    assert worker.proc.wait(60) == 2
    text = worker.log_text()
    assert (
        worker.topic("txn.cash") in text and "2 partitions" in text and "MONITOR_PARTITIONS" in text
    )


def test_refuses_to_start_with_a_session_timeout_the_broker_would_refuse(worker_factory):
    # Kafka allows 6-1800 s by default; a worker below that used to wait forever, never ready
    worker = worker_factory(session_timeout_s=3)
    worker.start()
    assert worker.proc.wait(60) == 2
    text = worker.log_text()
    assert "MONITOR_SESSION_TIMEOUT_S=3" in text and "group.min.session.timeout.ms" in text
    assert "created topics" not in text  # refused before it changed anything
