"""Arrival order on the real broker: customer updates applied before the opening they
change, a remittance supplement (on another partition of its topic) before its payment.
The live worker, `monitor replay` and the rule core in event-time order find the same."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka.partitioner import murmur2

from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.core.state import CustomerState
from monitor.io.settings import load_settings
from monitor.tools.replay import replay
from tests.support.kafka_io import produce, read_topic
from tests.support.packs import write_pack
from tests.unit.conftest import DETECTED_AT, cash, individual_opening_data, opening, update
from tests.unit.test_remittance_followup import COMPLETING, incomplete, supplement

pytestmark = pytest.mark.integration

TOPICS = {
    "AccountOpening": "kyc.account-openings",
    "CustomerUpdate": "kyc.customer-updates",
    "CashTransaction": "txn.cash",
    "Remittance": "txn.remittances",
}


def _stages() -> list[list[Any]]:
    """The events in arrival order, stage by stage (each applied before the next is sent)."""
    data = individual_opening_data(customer_id="CU1", at="2026-03-02T10:00:00+08:00")
    data["id_document"]["expires_on"] = "2026-03-05"
    renewed = {**data["id_document"], "expires_on": "2036-03-05"}
    return [
        [
            opening(individual_opening_data(customer_id="CS1", at="2026-09-01T10:00:00+08:00")),
            update({"is_pep": True}, customer_id="CU1", at="2026-03-02T12:00:00+08:00"),
            update({"id_document": renewed}, customer_id="CU1", at="2026-03-03T10:00:00+08:00"),
            supplement(at="2026-09-29T10:00:00+08:00", customer_id="CS1", **COMPLETING),
            # a supplement whose payment never comes: dropped when its time-to-live passes
            supplement("RMT-NONE", at="2026-09-29T11:00:00+08:00", customer_id="CS1", **COMPLETING),
        ],
        [opening(data), incomplete(at="2026-09-28T10:00:00+08:00", customer_id="CS1")],
        [
            cash("1000.00", at="2026-03-09T10:00:00+08:00", customer_id="CU1"),
            cash("10.00", at="2026-11-30T10:00:00+08:00", customer_id="CS1"),  # past the deadline
        ],
    ]


def _metric(port: int, name: str) -> float:
    """An unlabelled metric of the worker's /metrics (0 while it cannot be read)."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    except OSError:
        return 0.0
    for line in text.decode().splitlines():
        if line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _wait_applied(worker: Any, count: int, timeout: float = 90) -> None:
    """Wait until the rule core has applied `count` events (home and forwarded)."""
    deadline = time.monotonic() + timeout
    applied = "monitor_processing_seconds_count"
    while _metric(worker.metrics_port, applied) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"applied {_metric(worker.metrics_port, applied)} of {count}")
        time.sleep(0.05)


def _in_event_order(pack_path: Any, events: list[Any]) -> tuple[set[str], set[str]]:
    engine = Engine(load_pack(pack_path))
    states: dict[str, CustomerState] = {}
    alerts, tasks = set(), set()
    for event in sorted(events, key=lambda e: e.event_time):
        # the stream's time decides every customer's passed deadlines, as the worker's
        # partition stream time and the replay's merged stream do
        now_ms = int(event.event_time.timestamp() * 1000)
        for state in states.values():
            passed = engine.advance(state, now_ms, DETECTED_AT).findings
            alerts.update(a.alert_id for a in passed.alerts)
            tasks.update(t.task_id for t in passed.tasks)
        outcome = engine.process(states.get(event.customer_id), event, DETECTED_AT)
        states[event.customer_id] = outcome.state
        alerts.update(a.alert_id for a in outcome.findings.alerts)
        tasks.update(t.task_id for t in outcome.findings.tasks)
    return alerts, tasks


def test_early_updates_and_supplements_live_equal_replay_equal_event_order(
    worker_factory, tmp_path
):
    pack_path = write_pack(tmp_path, {"rules.WATCHLIST_MATCH.enabled": False})
    stages = _stages()
    events = [e for stage in stages for e in stage]
    expected_alerts, expected_tasks = _in_event_order(pack_path, events)

    worker = worker_factory(rules=str(pack_path)).start()
    worker.wait_ready()
    partitions = load_settings().partitions
    sent = 0
    for stage in stages:
        records = []
        for e in stage:
            key = e.customer_id.encode()
            partition = None
            if getattr(e, "kind", None) == "supplement":  # not its customer's home partition
                partition = ((murmur2(key) & 0x7FFFFFFF) + 1) % partitions
            value = orjson.dumps(e.model_dump(mode="json"))
            records.append((worker.topic(TOPICS[type(e).__name__]), key, value, partition))
        sent += produce(worker.bootstrap, records)
        _wait_applied(worker, sent)

    def ids(topic: str, field: str, want: set[str]) -> set[str]:
        msgs = read_topic(
            worker.bootstrap,
            worker.topic(topic),
            until=lambda m: {orjson.loads(x.value)[field] for x in m} >= want,
            timeout=60,
        )
        return {orjson.loads(m.value)[field] for m in msgs}

    live_alerts = ids("aml.alerts", "alert_id", expected_alerts)
    live_tasks = ids("aml.reid-tasks", "task_id", expected_tasks)

    settings = load_settings(
        kafka_bootstrap=worker.bootstrap,
        rules=pack_path,
        **{k.lower()[8:]: v for k, v in worker.env.items() if k.startswith("MONITOR_TOPIC_")},
    )
    out = tmp_path / "replay"
    replay(
        settings,
        load_pack(pack_path),
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        out,
        show_progress=False,
    )
    replayed = [orjson.loads(x) for x in (out / "alerts.jsonl").read_bytes().splitlines()]
    replayed_tasks = [orjson.loads(x) for x in (out / "reid-tasks.jsonl").read_bytes().splitlines()]

    rules = sorted(a["rule_id"] for a in replayed)
    assert rules == ["KYC_PEP", "REMIT_MISSING_INFO"]  # no KYC_ID_EXPIRED, no UNRESOLVED
    assert {a["alert_id"] for a in replayed} == expected_alerts
    assert {t["task_id"] for t in replayed_tasks} == expected_tasks
    assert live_alerts == expected_alerts, worker.log_text()
    assert live_tasks == expected_tasks, worker.log_text()
    assert _metric(worker.metrics_port, "monitor_early_dropped_total") == 1
