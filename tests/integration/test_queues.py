"""Compliance queues on a real redis-server: suppression, safe trimming, and a 30-second
Redis outage under a running worker that loses no alert."""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
import redis

from monitor.io.devservers import RedisServer
from monitor.io.sinks import redis_queue
from monitor.io.sinks.redis_queue import RedisQueueSink
from schemas import Alert
from tests.support.kafka_io import produce

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _alert(
    alert_id: str,
    at: datetime,
    rule: str = "WATCHLIST_MATCH",
    customer: str = "C1",
    queue: str = "sanctions",
) -> Alert:
    return Alert(
        alert_id=alert_id,
        rule_id=rule,
        customer_id=customer,
        severity="high",
        category="suspicious",
        summary="test",
        event_time=at,
        detected_at=datetime.now(UTC),
        amount=Decimal("1.00"),
        currency="CNY",
        evidence=[f"T-{alert_id}"],
        report_due=date(2026, 3, 9),
        queue=queue,
    )


@pytest.mark.parametrize("mode", ["one by one", "one batch", "one batch, script flushed"])
def test_same_rule_and_customer_within_the_period_updates_the_open_item(redis_server, mode):
    """`add` one alert at a time and `add_many` in one round trip give the same outcomes and
    entries (the worker's delivery sends a batch at a time), also when Redis has lost the
    script (a restart, SCRIPT FLUSH) and on a stream that does not exist yet."""
    prefix = f"sup-{mode.replace(' ', '').replace(',', '')}:"
    alerts = [
        _alert("a1", T0),
        _alert("a2", T0 + timedelta(hours=5)),
        _alert("a2", T0 + timedelta(hours=5)),  # redelivered
        _alert("a3", T0 + timedelta(hours=23)),
        _alert("a4", T0 + timedelta(hours=25)),  # period over
        _alert("b1", T0, customer="C2"),  # another customer
        _alert("l1", T0, rule="LV_CASH"),  # rule not suppressed
        _alert("l2", T0, rule="LV_CASH"),
    ]

    async def run() -> list[str]:
        sink = RedisQueueSink.from_url(
            redis_server.url,
            prefix=prefix,
            suppression_ms=24 * 3_600_000,
            suppressed_rules=frozenset({"WATCHLIST_MATCH"}),
        )
        try:
            if mode == "one by one":
                return [(await sink.add(alert))[0] for alert in alerts]
            if mode == "one batch, script flushed":
                await sink.add(_alert("other", T0, queue="elsewhere"))  # the script is loaded
                await sink.client.script_flush()
            return [outcome for outcome, _ in await sink.add_many(alerts)]
        finally:
            await sink.close()

    outcomes = asyncio.run(run())
    assert outcomes == [
        "added",
        "suppressed",
        "redelivered",
        "suppressed",
        "added",
        "added",
        "added",
        "added",
    ]
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    entries = client.xrange(f"{prefix}sanctions")
    assert [f["alert_id"] for _, f in entries] == ["a1", "a4", "b1", "l1", "l2"]
    assert client.xinfo_groups(f"{prefix}sanctions")[0]["name"] == "analysts"
    item = client.hgetall(f"{prefix}sanctions:open:WATCHLIST_MATCH:C1")
    assert item["entry"] == entries[1][0] and item["count"] == "1"  # a4 opened a new item
    # the first item, before a4 replaced it, had folded a2 and a3: all map to a1's entry
    ids = client.hgetall(f"{prefix}sanctions:ids")
    assert ids["a1"] == ids["a2"] == ids["a3"] == entries[0][0]


def test_open_item_counts_evidence_and_last_seen(redis_server):
    async def run() -> None:
        sink = RedisQueueSink.from_url(redis_server.url, prefix="sup2:", suppression_ms=3_600_000)
        try:
            for n in range(3):
                await sink.add(_alert(f"x{n}", T0 + timedelta(minutes=10 * n)))
        finally:
            await sink.close()

    asyncio.run(run())
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    item = client.hgetall("sup2:sanctions:open:WATCHLIST_MATCH:C1")
    assert item["count"] == "3"
    assert int(item["last_ms"]) - int(item["first_ms"]) == 20 * 60_000
    assert client.lrange("sup2:sanctions:open:WATCHLIST_MATCH:C1:evidence", 0, -1) == [
        "T-x0",
        "T-x1",
        "T-x2",
    ]
    assert client.xlen("sup2:sanctions") == 1


def _trims(
    url: str, prefix: str, added: int, claimed: int, acked: int, max_len: int, calls: int
) -> tuple[list[int], list[str]]:
    """Queue `q` under `prefix` with `added` alerts, the first `claimed` delivered to an
    analyst and the first `acked` of those acknowledged; then `calls` trims to `max_len`.
    Returns what each trim removed and the alert ids left, oldest first."""

    async def run() -> list[int]:
        sink = RedisQueueSink.from_url(url, prefix=prefix)
        try:
            for n in range(added):
                await sink.add(
                    _alert(f"a{n}", T0 + timedelta(seconds=n), rule="LV_CASH", queue="q")
                )
            sync = redis.Redis.from_url(url, decode_responses=True)
            entries = sync.xreadgroup("analysts", "alice", {f"{prefix}q": ">"}, count=claimed)[0][1]
            sync.xack(f"{prefix}q", "analysts", *[entry_id for entry_id, _ in entries[:acked]])
            return [await sink.trim("q", max_len=max_len) for _ in range(calls)]
        finally:
            await sink.close()

    removed = asyncio.run(run())
    client = redis.Redis.from_url(url, decode_responses=True)
    return removed, [f["alert_id"] for _, f in client.xrange(f"{prefix}q")]


def test_trimming_never_removes_what_analysts_have_not_acknowledged(redis_server):
    removed, remaining = _trims(
        redis_server.url, "cap:", added=300, claimed=250, acked=200, max_len=100, calls=2
    )
    assert removed == [200, 0]  # 50 pending + 50 undelivered are kept
    assert remaining == [f"a{n}" for n in range(200, 300)]


def test_a_large_excess_is_trimmed_a_step_at_a_time(redis_server, monkeypatch):
    """Each call reads and removes at most `_TRIM_STEP` entries, oldest first; acknowledged
    entries only, whatever the step."""
    monkeypatch.setattr(redis_queue, "_TRIM_STEP", 40)
    removed, remaining = _trims(
        redis_server.url, "step:", added=200, claimed=150, acked=130, max_len=50, calls=5
    )
    assert removed == [40, 40, 40, 10, 0]  # 150 over the cap; 20 claimed, not acknowledged
    assert remaining == [f"a{n}" for n in range(130, 200)]


def _metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_thirty_second_redis_outage_loses_no_alert(kafka, worker_factory):
    redis_srv = RedisServer().start()
    try:
        worker = worker_factory(redis_url=redis_srv.url, gauges_interval_s=1).start()
        worker.wait_ready()
        cash = worker.topic("txn.cash")

        def deposits(first: int, count: int) -> list:
            return [
                (
                    cash,
                    f"O{n}".encode(),
                    orjson.dumps(
                        {
                            "event_id": f"o-{n}",
                            "txn_id": f"o-{n}",
                            "customer_id": f"O{n}",
                            "account_id": "A",
                            "occurred_at": "2026-03-02T10:00:00+08:00",
                            "direction": "in",
                            "amount": "60000",
                            "currency": "CNY",
                        }
                    ),
                    None,
                )
                for n in range(first, first + count)
            ]

        produce(kafka.bootstrap, deposits(0, 20))
        client = redis.Redis.from_url(redis_srv.url, decode_responses=True)
        queue = f"{worker.prefix}:queue:large_value_report"
        deadline = time.monotonic() + 60
        while client.xlen(queue) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.xlen(queue) == 20

        redis_srv.stop(remove=False)  # outage starts
        produce(kafka.bootstrap, deposits(20, 80))
        outage_end = time.monotonic() + 30
        peak = 0.0
        while time.monotonic() < outage_end:
            assert worker.proc.poll() is None, "the worker died during the outage"
            peak = max(peak, _metric(worker.metrics_port, "monitor_redis_backlog"))
            time.sleep(1)
        assert peak >= 1  # the backlog is visible
        assert _metric(worker.metrics_port, "monitor_redis_errors_total") >= 1
        redis_srv.start()  # same port, empty dataset: a worst case (restart without persistence)

        client = redis.Redis.from_url(redis_srv.url, decode_responses=True)
        deadline = time.monotonic() + 90
        while client.xlen(queue) < 80 and time.monotonic() < deadline:
            time.sleep(0.2)
        ids = [f["alert_id"] for _, f in client.xrange(queue)]
        assert len(ids) == len(set(ids)) == 80, worker.log_text()  # every alert of the outage, once
        # the restart lost the streams: the analysts' group is there again for `queue claim`
        assert [g["name"] for g in client.xinfo_groups(queue)] == ["analysts"]
        deadline = time.monotonic() + 30
        while (
            _metric(worker.metrics_port, "monitor_redis_backlog") > 0
            and time.monotonic() < deadline
        ):
            time.sleep(0.5)
        assert _metric(worker.metrics_port, "monitor_redis_backlog") == 0  # and it falls again
    finally:
        redis_srv.stop()


def _add_one(url: str, prefix: str) -> str:
    """Add one alert through a sink built from `url`: its outcome, or the connection error."""

    async def run() -> str:
        sink = RedisQueueSink.from_url(url, prefix=prefix)
        try:
            return (await sink.add(_alert("u1", T0)))[0]
        finally:
            await sink.close()

    return asyncio.run(run())


def test_redis_with_a_password_through_the_url():
    server = RedisServer(password="q-s3cret").start()
    try:
        assert _add_one(server.url, "auth:") == "added"
        with pytest.raises(redis.exceptions.AuthenticationError):
            _add_one(server.url.replace(":q-s3cret@", ""), "auth:")
    finally:
        server.stop()


def test_redis_over_tls_through_the_url(tmp_path):
    """`MONITOR_REDIS_URL=rediss://...?ssl_ca_certs=<CA file>`: the sink talks TLS, checks the
    server's certificate against the CA, and gets nowhere without it or in clear text."""
    cert, key = tmp_path / "redis.crt", tmp_path / "redis.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server = RedisServer(password="t-s3cret", tls_cert=cert, tls_key=key).start()
    try:
        assert server.url.startswith("rediss://")
        assert _add_one(server.url, "tls:") == "added"
        without_ca = server.url.split("?")[0]
        with pytest.raises(redis.exceptions.ConnectionError):  # unknown issuer
            _add_one(without_ca, "tls:")
        with pytest.raises(redis.exceptions.ConnectionError):  # clear text to a TLS port
            _add_one(without_ca.replace("rediss://", "redis://"), "tls:")
    finally:
        server.stop()
