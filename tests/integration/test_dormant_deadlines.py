"""Quiet customers reach their deadlines on the real broker: a dormant high-risk customer's
periodic review and a never-supplemented remittance's follow-up fire from other customers'
traffic on the partition holding their state (its stream time), with the deadline as the
finding's event time; `monitor replay` of the same topics, on the merged stream's time,
gives the same alerts and tasks (ids and every field but `detected_at`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka.partitioner import murmur2

from monitor.core.pack import load_pack
from monitor.io.settings import load_settings
from monitor.tools.replay import replay
from tests.support.kafka_io import produce, read_topic
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration

PARTITIONS = 4
OPENED = "2026-03-02T10:00:00+08:00"
LAST = "2026-11-02T10:00:00+08:00"  # the last event of every partition


def home(customer_id: str) -> int:
    return (murmur2(customer_id.encode()) & 0x7FFFFFFF) % PARTITIONS


def opening(customer_id: str, at: str = OPENED, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"open-{customer_id}",
        "customer_id": customer_id,
        "account_id": f"ACC-{customer_id}",
        "opened_at": at,
        "customer_type": "individual",
        "name": "Test Person",
        "gender": "M",
        "nationality": "CN",
        "occupation": "engineer",
        "address": "1 Test Road, Shanghai",
        "phone": "+86 139 0000 0000",
        "id_document": {"type": "passport", "number": "E00000000", "expires_on": "2035-01-01"},
        "declared_annual_income": "300000",
        "income_currency": "CNY",
        "is_pep": False,
        "beneficial_owners": [],
        "agent": None,
        "branch_code": "BJ001",
        **extra,
    }


def cash(customer_id: str, at: str, n: int) -> dict[str, Any]:
    return {
        "event_id": f"cash-{customer_id}-{n}",
        "txn_id": f"C-{customer_id}-{n}",
        "customer_id": customer_id,
        "account_id": f"ACC-{customer_id}",
        "occurred_at": at,
        "direction": "in",
        "amount": "100.00",
        "currency": "CNY",
        "service": "deposit",
        "conductor": None,
        "branch_code": "BJ001",
    }


def remittance(customer_id: str, at: str, n: int, complete: bool = True) -> dict[str, Any]:
    return {
        "event_id": f"rem-{customer_id}-{n}",
        "txn_id": f"R-{customer_id}-{n}",
        "kind": "payment",
        "customer_id": customer_id,
        "occurred_at": at,
        "direction": "out",
        "amount": "20000.00",
        "currency": "CNY",
        "originator": {
            "name": "Test Person",
            "account_number": "6222000000000000",
            "address": "1 Test Road, Shanghai" if complete else "",
            "country": "CN",
        },
        "beneficiary": {
            "name": "John Smith" if complete else None,
            "account_number": "GB00TEST0000000000",
            "country": "GB",
        },
        "reference": f"REF-{customer_id}-{n}",
        "source_of_funds": "salary",
        "counterparty_country": "GB",
    }


def update(customer_id: str, at: str) -> dict[str, Any]:
    return {
        "event_id": f"upd-{customer_id}-{at}",
        "customer_id": customer_id,
        "updated_at": at,
        "changes": {"phone": "+86 139 0000 0001"},
    }


def busy_ids() -> list[str]:
    """Two busy customers per partition."""
    found: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
    n = 0
    while any(len(v) < 2 for v in found.values()):
        cid = f"BUSY{n:03d}"
        if len(found[home(cid)]) < 2:
            found[home(cid)].append(cid)
        n += 1
    return [cid for ids in found.values() for cid in ids]


def history() -> list[tuple[str, dict[str, Any], bool]]:
    """(topic, value, sent to a foreign partition) in event-time order."""
    out: list[tuple[str, dict[str, Any], bool]] = []
    # dormant: rated high (PEP, high-risk nationality), no event after the opening
    for i in range(6):
        out.append(("kyc.account-openings", opening(f"QPEP{i}", is_pep=True), False))
    for i in range(3):
        out.append(("kyc.account-openings", opening(f"QIR{i}", nationality="IR"), False))
    # dormant after a remittance lacking fields (follow-up deadline day 2026-10-16)
    for i in range(6):
        out.append(("kyc.account-openings", opening(f"QREM{i}"), False))
    busy = busy_ids()
    for cid in busy:
        out.append(("kyc.account-openings", opening(cid, at="2026-03-01T10:00:00+08:00"), False))
    for i in range(6):
        at = "2026-09-28T10:00:00+08:00"
        out.append(("txn.remittances", remittance(f"QREM{i}", at, 0, complete=False), False))
    # busy customers: every topic, week by week, to the last day; some events sent to a
    # foreign partition (forwarded through the events topic)
    day = datetime.fromisoformat("2026-03-09T10:00:00+08:00")
    week = 0
    while day < datetime.fromisoformat(LAST):
        at = day.isoformat()
        for k, cid in enumerate(busy):
            foreign = (week + k) % 5 == 0
            out.append(("txn.cash", cash(cid, at, week), foreign))
            out.append(("txn.remittances", remittance(cid, at, week), False))
            if week % 4 == 0:
                out.append(("kyc.customer-updates", update(cid, at), False))
        week += 1
        day += timedelta(days=7)
    for k, cid in enumerate(busy):  # the last event on every topic of every partition
        out.append(("txn.cash", cash(cid, LAST, 999), False))
        out.append(("txn.remittances", remittance(cid, LAST, 999), False))
        out.append(("kyc.customer-updates", update(cid, LAST), False))
        out.append(("kyc.account-openings", opening(f"LATE{k}", at=LAST), False))
    return out


def _read(worker, topic: str, key: str, want: int, timeout: float = 120) -> dict[str, dict]:
    messages = read_topic(
        worker.bootstrap,
        worker.topic(topic),
        until=lambda m: len({orjson.loads(x.value)[key] for x in m}) >= want,
        timeout=timeout,
    )
    return {orjson.loads(m.value)[key]: orjson.loads(m.value) for m in messages}


def _without_detected_at(rows: dict[str, dict]) -> dict[str, dict]:
    return {k: {f: v for f, v in r.items() if f != "detected_at"} for k, r in rows.items()}


def test_dormant_customers_deadlines_fire_live_and_replay_agrees(worker_factory, tmp_path):
    worker = worker_factory(input_idle_ms="3000", partitions=str(PARTITIONS)).start()
    worker.wait_ready()
    records = history()
    sent = produce(
        worker.bootstrap,
        [
            (
                worker.topic(topic),
                v["customer_id"].encode(),
                orjson.dumps(v),
                (home(v["customer_id"]) + 1) % PARTITIONS if foreign else None,
            )
            for topic, v, foreign in records
        ],
    )
    wait_consumed(worker, sent)

    # replay first: it says how many alerts and tasks live processing must reach
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
    assert stats.events == sent
    replayed_alerts = {
        a["alert_id"]: a
        for a in map(orjson.loads, (out / "alerts.jsonl").read_bytes().splitlines())
    }
    replayed_tasks = {
        t["task_id"]: t
        for t in map(orjson.loads, (out / "reid-tasks.jsonl").read_bytes().splitlines())
    }
    reviews = {
        t["customer_id"]: t for t in replayed_tasks.values() if t["trigger"] == "PERIODIC_REVIEW"
    }
    # every dormant high-risk customer reviewed on 2026-09-02 (and none twice by November)
    assert {c for c in reviews if c.startswith("Q")} == {f"QPEP{i}" for i in range(6)} | {
        f"QIR{i}" for i in range(3)
    }
    assert reviews["QPEP0"]["source_event_id"] == "periodic-review:2026-09-02"
    unresolved = [a for a in replayed_alerts.values() if a["rule_id"] == "REMIT_INFO_UNRESOLVED"]
    assert sorted(a["customer_id"] for a in unresolved) == [f"QREM{i}" for i in range(6)]
    assert {a["event_time"] for a in unresolved} == {"2026-10-17T00:00:00+08:00"}

    started = time.monotonic()
    live_alerts = _read(worker, "aml.alerts", "alert_id", len(replayed_alerts))
    live_tasks = _read(worker, "aml.reid-tasks", "task_id", len(replayed_tasks))
    assert set(live_alerts) == set(replayed_alerts), worker.log_text()
    assert set(live_tasks) == set(replayed_tasks), worker.log_text()
    assert _without_detected_at(live_alerts) == _without_detected_at(replayed_alerts)
    assert _without_detected_at(live_tasks) == _without_detected_at(replayed_tasks)
    assert time.monotonic() - started < 120
