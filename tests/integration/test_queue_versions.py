"""A grown finding in the compliance queue (real redis-server): the same `alert_id` with more
evidence replaces its entry (one entry per finding, the latest version), reopens it with a
note when the analysts had acknowledged it, and the same or an older version (a redelivery,
a replay after a crash) changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest
import redis

from monitor.io.queues import open_entries, summarise
from monitor.io.sinks.redis_queue import RedisQueueSink
from schemas import Alert

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 11, tzinfo=UTC)
DEPOSITS = [("D1", "42000"), ("D2", "9000"), ("D3", "7000"), ("D4", "7000")]


def version(n: int, alert_id: str = "lv-1", queue: str = "lvr", rule: str = "LV_CASH") -> Alert:
    """The day report after its first `n` deposits (n >= 2: 42,000 + 9,000 crosses)."""
    taken = DEPOSITS[:n]
    return Alert(
        alert_id=alert_id,
        rule_id=rule,
        customer_id="C1",
        severity="medium",
        category="large_value_report",
        summary=f"{n} cash deposits",
        event_time=T0,
        detected_at=datetime.now(UTC),
        amount=sum((Decimal(a) for _, a in taken), Decimal(0)).quantize(Decimal("0.01")),
        currency="CNY",
        evidence=[t for t, _ in taken],
        report_due=date(2026, 3, 9),
        queue=queue,
    )


def add(url: str, prefix: str, alerts: list[Alert], **options: object) -> list[str]:
    async def run() -> list[str]:
        sink = RedisQueueSink.from_url(url, prefix=prefix, **options)
        try:
            return [outcome for outcome, _ in await sink.add_many(alerts)]
        finally:
            await sink.close()

    return asyncio.run(run())


@pytest.fixture
def queue(redis_server):
    prefix = f"ver-{uuid.uuid4().hex[:8]}:"
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield redis_server.url, prefix, client, f"{prefix}lvr"
    client.close()


def only_entry(client: redis.Redis, stream: str) -> tuple[str, dict[str, str], dict]:
    (entry,) = client.xrange(stream)
    return entry[0], entry[1], orjson.loads(entry[1]["alert"])


def test_a_grown_version_replaces_the_open_entry(queue):
    url, prefix, client, stream = queue
    assert add(url, prefix, [version(2)]) == ["added"]
    assert add(url, prefix, [version(3)]) == ["updated"]
    entry_id, fields, alert = only_entry(client, stream)
    assert alert["evidence"] == ["D1", "D2", "D3"]
    assert Decimal(alert["amount"]) == Decimal("58000.00") == Decimal(fields["amount"])
    assert "note" not in fields  # nobody saw the earlier version
    assert client.hget(f"{stream}:ids", "lv-1") == entry_id
    today = date(2026, 3, 2)
    assert summarise(client, stream, "analysts", today).open == 1


def test_the_same_or_an_older_version_changes_nothing(queue):
    url, prefix, client, stream = queue
    outcomes = add(url, prefix, [version(2), version(3), version(3), version(2), version(3)])
    assert outcomes == ["added", "updated", "redelivered", "redelivered", "redelivered"]
    _, _, alert = only_entry(client, stream)
    assert alert["evidence"] == ["D1", "D2", "D3"]
    # a replay of older versions after a crash, in a later batch
    assert add(url, prefix, [version(2), version(3)]) == ["redelivered", "redelivered"]
    assert only_entry(client, stream)[2]["evidence"] == ["D1", "D2", "D3"]


def test_a_newer_version_first_then_the_older_one(queue):
    url, prefix, client, stream = queue
    assert add(url, prefix, [version(3), version(2)]) == ["added", "redelivered"]
    assert only_entry(client, stream)[2]["evidence"] == ["D1", "D2", "D3"]


def test_an_acknowledged_item_is_reopened_with_a_note(queue):
    url, prefix, client, stream = queue
    add(url, prefix, [version(2)])
    ((_, claimed),) = client.xreadgroup("analysts", "amy", {stream: ">"})
    old_id = claimed[0][0]
    assert client.xack(stream, "analysts", old_id) == 1
    assert list(open_entries(client, stream, "analysts")) == []

    assert add(url, prefix, [version(3)]) == ["reopened"]
    entry_id, fields, alert = only_entry(client, stream)
    assert entry_id != old_id
    assert fields["note"] == "reopened: 1 transaction added, amount 51,000.00 -> 58,000.00"
    assert alert["evidence"] == ["D1", "D2", "D3"]
    assert [i for i, _ in open_entries(client, stream, "analysts")] == [entry_id]

    # grown again before anyone claimed it: counted from the version the analyst saw
    assert add(url, prefix, [version(4)]) == ["updated"]
    _, fields, alert = only_entry(client, stream)
    assert fields["note"] == "reopened: 2 transactions added, amount 51,000.00 -> 65,000.00"
    assert len(alert["evidence"]) == 4
    # and the reopened item is claimed like any new one
    ((_, claimed),) = client.xreadgroup("analysts", "bob", {stream: ">"})
    assert [orjson.loads(f["alert"])["amount"] for _, f in claimed] == ["65000.00"]


def test_a_claimed_item_is_updated_and_the_claim_can_still_be_acknowledged(queue):
    url, prefix, client, stream = queue
    add(url, prefix, [version(2)])
    ((_, claimed),) = client.xreadgroup("analysts", "amy", {stream: ">"})
    old_id = claimed[0][0]
    assert add(url, prefix, [version(3)]) == ["updated"]
    entry_id, fields, _ = only_entry(client, stream)
    assert fields["note"] == "updated: 1 transaction added, amount 51,000.00 -> 58,000.00"
    assert [i for i, _ in open_entries(client, stream, "analysts")] == [entry_id]
    assert client.xack(stream, "analysts", old_id) == 1


def test_a_trimmed_acknowledged_item_is_reopened(queue):
    url, prefix, client, stream = queue
    add(url, prefix, [version(2)])
    ((_, claimed),) = client.xreadgroup("analysts", "amy", {stream: ">"})
    client.xack(stream, "analysts", claimed[0][0])
    client.xdel(stream, claimed[0][0])  # as a trim below the acknowledged entries does
    assert add(url, prefix, [version(3)]) == ["reopened"]
    _, fields, _ = only_entry(client, stream)
    assert fields["note"].startswith("reopened: 1 transaction added")


def test_other_findings_are_untouched(queue):
    url, prefix, client, stream = queue
    outcomes = add(url, prefix, [version(2), version(2, "lv-2"), version(3), version(3, "lv-2")])
    assert outcomes == ["added", "added", "updated", "updated"]
    assert sorted(orjson.loads(f["alert"])["alert_id"] for _, f in client.xrange(stream)) == [
        "lv-1",
        "lv-2",
    ]


def test_a_grown_alert_folded_into_an_open_item_adds_its_evidence(queue):
    url, prefix, client, stream = queue
    first = version(2, "lv-0")
    options = {"suppression_ms": 3_600_000}
    assert add(url, prefix, [first, version(2), version(3)], **options) == [
        "added",
        "suppressed",
        "updated",
    ]
    (entry,) = client.xrange(stream)
    assert orjson.loads(entry[1]["alert"])["alert_id"] == "lv-0"
    item = f"{stream}:open:LV_CASH:C1"
    assert client.lrange(f"{item}:evidence", 0, -1) == ["D1", "D2", "D1", "D2", "D3"]
    # the item's own alert grows: the entry is replaced and every folded id follows it
    assert add(url, prefix, [version(3, "lv-0")], **options) == ["updated"]
    (entry,) = client.xrange(stream)
    ids = client.hgetall(f"{stream}:ids")
    assert ids["lv-0"] == ids["lv-1"] == entry[0] == client.hget(item, "entry")
