"""A large-value day report grows (PBoC 2016 No.3 art.5) through the running worker, on real
Apache Kafka and redis-server: same-day deposits of 42,000, 9,000 and 7,000 leave ONE queue
item with three transactions and 58,000; an item the analysts acknowledged is reopened by a
later deposit of the day, with a note; a redelivered deposit adds nothing; and `monitor
replay` of the same history gives the same final alert versions as live."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
import redis

from monitor.core.pack import load_pack
from monitor.io.settings import load_settings
from monitor.tools.replay import replay
from tests.support.kafka_io import produce, read_topic
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration

CUSTOMER = "CG-1"


def deposit(txn: str, amount: str, at: str) -> dict:
    return {
        "event_id": f"ev-{txn}",
        "txn_id": txn,
        "customer_id": CUSTOMER,
        "account_id": "ACC-CG-1",
        "occurred_at": at,
        "direction": "in",
        "amount": amount,
        "currency": "CNY",
        "service": "deposit",
        "conductor": None,
        "branch_code": "BJ001",
    }


THREE = [
    deposit("G1", "42000", "2026-03-02T09:00:00+08:00"),
    deposit("G2", "9000", "2026-03-02T11:00:00+08:00"),
    deposit("G3", "7000", "2026-03-02T15:00:00+08:00"),
]
LATER = deposit("G4", "1000", "2026-03-02T17:00:00+08:00")


def wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def test_the_day_report_grows_in_one_queue_item_and_replays_the_same(
    worker_factory, redis_server, tmp_path
):
    worker = worker_factory().start()
    worker.wait_ready()
    cash = worker.topic("txn.cash")
    key = CUSTOMER.encode()
    sent = produce(worker.bootstrap, [(cash, key, orjson.dumps(v), None) for v in THREE])
    wait_consumed(worker, sent)

    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    stream = f"{worker.prefix}:queue:large_value_report"

    def one_item_with(evidence: int):
        entries = client.xrange(stream) if client.exists(stream) else []
        alerts = [orjson.loads(f["alert"]) for _, f in entries]
        if len(entries) == 1 and len(alerts[0]["evidence"]) == evidence:
            return entries[0]
        return None

    entry_id, fields = wait_for(lambda: one_item_with(3), 60, worker.log_text())
    alert = orjson.loads(fields["alert"])
    assert alert["rule_id"] == "LV_CASH"
    assert alert["evidence"] == ["G1", "G2", "G3"]
    assert Decimal(alert["amount"]) == Decimal("58000.00") == Decimal(fields["amount"])
    assert "note" not in fields

    # an analyst claims and acknowledges it; a redelivered deposit changes nothing; a
    # later deposit of the day reopens it with a note of what was added
    ((_, claimed),) = client.xreadgroup("analysts", "amy", {stream: ">"})
    assert [i for i, _ in claimed] == [entry_id]
    assert client.xack(stream, "analysts", entry_id) == 1
    sent += produce(
        worker.bootstrap,
        [(cash, key, orjson.dumps(THREE[2]), None), (cash, key, orjson.dumps(LATER), None)],
    )
    wait_consumed(worker, sent)
    reopened_id, fields = wait_for(lambda: one_item_with(4), 60, worker.log_text())
    assert reopened_id != entry_id
    assert fields["note"] == "reopened: 1 transaction added, amount 58,000.00 -> 59,000.00"
    ((_, claimed),) = client.xreadgroup("analysts", "bob", {stream: ">"})
    assert [i for i, _ in claimed] == [reopened_id]

    # live: every version on aml.alerts, the consumers keep the latest of each id
    live_msgs = read_topic(
        worker.bootstrap, worker.topic("aml.alerts"), until=lambda m: len(m) >= 3, timeout=60
    )
    live_all = [orjson.loads(m.value) for m in live_msgs]
    assert [len(a["evidence"]) for a in live_all] == [2, 3, 4]  # no version for G3 again
    assert len({a["alert_id"] for a in live_all}) == 1
    live = {a["alert_id"]: a for a in live_all}

    settings = load_settings(
        kafka_bootstrap=worker.bootstrap,
        **{k.lower()[8:]: v for k, v in worker.env.items() if k.startswith("MONITOR_TOPIC_")},
    )
    out = tmp_path / "replay"
    stats = replay(
        settings,
        load_pack(),
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        out,
        show_progress=False,
    )
    assert stats.alerts == 1 and stats.duplicates == 1
    replayed = [orjson.loads(x) for x in (out / "alerts.jsonl").read_bytes().splitlines()]
    assert len(replayed) == 1
    strip = lambda a: {k: v for k, v in a.items() if k != "detected_at"}  # noqa: E731
    assert {a["alert_id"]: strip(a) for a in replayed} == {i: strip(a) for i, a in live.items()}
