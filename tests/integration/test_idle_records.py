"""Idle account records on real Apache Kafka: once a partition's stream time has passed an
account record's last event by more than the pack's horizon (15 days for cn-pboc), the
worker writes a tombstone for it on the compacted state changelog and drops it; a restart
that restores the state from the changelog does not bring it back; and the alerts are the
ones `monitor replay` of the same topics writes (which drops idle records too)."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from agents.routing import home_partitioner
from monitor.core.engine import Engine
from monitor.core.network import account_key
from monitor.core.pack import load_pack
from monitor.io.settings import load_settings
from monitor.tools.replay import replay
from schemas import Transfer
from tests.integration.test_network_stage import _latest_expected, _strip, _transfer, network_stream
from tests.support.kafka_io import produce, read_topic
from tests.support.packs import write_pack
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration

PARTITIONS = 2


def _metric(worker: Any, name: str) -> float | None:
    try:
        url = f"http://127.0.0.1:{worker.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _wait_metric(worker: Any, name: str, want: float, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _metric(worker, name) != want:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} is {_metric(worker, name)}, not {want}")
        time.sleep(0.2)


def _late(home: Any) -> list[dict[str, Any]]:
    """Transfers on 2026-03-25 (22 days after the hub wave) of customers homed on every
    partition, each to an account of its own: stream time moves on everywhere."""
    late, covered, k = [], set(), 0
    while covered != set(range(PARTITIONS)) or len(late) < 4:
        cid = f"LATE{k:03d}"
        covered.add(home(cid.encode()))
        late.append(_transfer(9000 + k, cid, 25, 10 + k % 8, "out", 12000, f"6240{k:012d}"))
        k += 1
    return late


def test_an_idle_account_record_is_tombstoned_and_stays_deleted(worker_factory, tmp_path):
    started = time.monotonic()
    pack_path = write_pack(tmp_path, {"rules.WATCHLIST_MATCH.enabled": False})
    pack = load_pack(pack_path)
    engine = Engine(pack)
    early = network_stream(hubs=1, cycles=1, noise=0, seed=5)  # 2026-03-02 .. 03-03
    late = _late(home_partitioner(PARTITIONS))
    values = early + late
    expected = _latest_expected(values, pack)
    assert {a["rule_id"] for a in expected.values()} == {"COUNTERPARTY_HUB", "FUNDS_CYCLE"}

    def accounts(rows: list[dict[str, Any]]) -> set[bytes]:
        edges = (e for v in rows for e in engine.edges(Transfer.model_validate(v)))
        return {e.customer_id.encode() for e in edges}

    idle, fresh = accounts(early), accounts(late)
    hub = (account_key(early[0]["counterparty"]["account_number"]) or "").encode()
    assert hub in idle and not idle & fresh

    worker = worker_factory(
        rules=str(pack_path),
        partitions=PARTITIONS,
        store="memory",  # a restart restores every record from the changelog
        input_idle_ms=500,
        gauges_interval_s=0.5,
    ).start()
    worker.wait_ready()
    transfers = worker.topic("txn.transfers")
    changelog = f"{worker.prefix}-app-customer-state-changelog"
    alerts_topic = worker.topic("aml.alerts")
    sent = 0

    def send(rows: list[dict[str, Any]]) -> None:
        nonlocal sent
        sent += produce(
            worker.bootstrap,
            [(transfers, v["customer_id"].encode(), orjson.dumps(v), None) for v in rows],
        )
        wait_consumed(worker, sent)

    def deleted(msgs: list[Any]) -> set[bytes]:
        return {m.key for m in msgs if m.value is None}

    send(early)
    read_topic(worker.bootstrap, alerts_topic, until=lambda ms: _ids(ms) >= set(expected))
    _wait_metric(worker, "monitor_state_idle_records", len(idle))
    logged = read_topic(worker.bootstrap, changelog, until=lambda ms: idle <= {m.key for m in ms})
    assert idle <= {m.key for m in logged} and not deleted(logged)
    time.sleep(1)  # the early traffic's topics go idle: the late traffic moves stream time on

    send(late)
    tombstoned = read_topic(worker.bootstrap, changelog, until=lambda ms: idle <= deleted(ms))
    assert deleted(tombstoned) == idle, worker.log_text()  # no customer, no fresh account
    _wait_metric(worker, "monitor_state_idle_records", len(fresh))
    assert _metric(worker, "monitor_state_tombstones_total") == len(idle)

    # the early transfers again (a producer's retry, a source replayed): their edges land on
    # fresh records, raise only alert ids already raised, and are deleted again
    send(early)
    _wait_metric(worker, "monitor_state_idle_records", len(fresh))
    deadline = time.monotonic() + 30
    while (_metric(worker, "monitor_state_tombstones_total") or 0) < 2 * len(idle):
        assert time.monotonic() < deadline, worker.log_text()
        time.sleep(0.2)
    _wait_metric(worker, "monitor_state_idle_records", len(fresh))
    records = len({v["customer_id"] for v in values}) + len(fresh)  # customers stay
    _wait_metric(worker, "monitor_state_records", records)

    worker.stop()
    worker.start()
    worker.wait_ready()
    # restored from the changelog: the deleted records stay deleted
    _wait_metric(worker, "monitor_state_idle_records", len(fresh))
    _wait_metric(worker, "monitor_state_records", records)
    assert _metric(worker, "monitor_state_tombstones_total") == 0

    on_topic = read_topic(worker.bootstrap, alerts_topic, timeout=5)
    assert _ids(on_topic) == set(expected)
    live = _largest(orjson.loads(m.value) for m in on_topic)
    settings = load_settings(
        kafka_bootstrap=worker.bootstrap,
        rules=pack_path,
        **{k.lower()[8:]: v for k, v in worker.env.items() if k.startswith("MONITOR_TOPIC_")},
    )
    out = tmp_path / "replay"
    replay(
        settings,
        pack,
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        out,
        show_progress=False,
    )
    replayed = _largest(map(orjson.loads, (out / "alerts.jsonl").read_bytes().splitlines()))
    assert set(replayed) == set(live)
    for alert_id, alert in live.items():
        assert _strip(alert) == _strip(replayed[alert_id]) == _strip(expected[alert_id])
    print(f"{len(idle)} records tombstoned twice; {time.monotonic() - started:.0f}s")


def _ids(msgs: list[Any]) -> set[str]:
    return {orjson.loads(m.value)["alert_id"] for m in msgs}


def _largest(alerts: Any) -> dict[str, dict[str, Any]]:
    """Each alert id's largest version (evidence count, then amount), as the compliance
    queue keeps it."""
    out: dict[str, dict[str, Any]] = {}

    def size(a: dict[str, Any]) -> tuple[int, Decimal]:
        return len(a.get("evidence") or ()), Decimal(str(a.get("amount") or 0))

    for alert in alerts:
        known = out.get(alert["alert_id"])
        if known is None or size(alert) > size(known):
            out[alert["alert_id"]] = alert
    return out
