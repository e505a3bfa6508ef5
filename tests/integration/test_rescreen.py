"""A watch-list reload re-screens existing customers through the real worker on Apache Kafka:
the new entry's alert and task come out with their deterministic ids, and neither a reload
of the same entries nor a restart raises anything new; a list changed while the worker was
down is caught up at the restart."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import orjson
import pytest

from monitor.core.ids import stable_id
from monitor.core.screening import WatchlistEntry
from monitor.core.screening.index import entry_digest
from tests.support.kafka_io import produce, read_topic
from tests.support.packs import CONFIG, write_pack
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration

SAMPLE = (CONFIG / "watchlists" / "sample.yaml").read_text(encoding="utf-8")
ADDED = """
  - {id: TEST-900, names: [苏振华, Su Zhenhua], birth_date: 1979-04-18, country: CN,
     list: test-list, reason: "fictional: added by a list update"}
"""
ADDED_LATER = """
  - {id: TEST-901, names: [Natalia Kowalczyk], country: PL,
     list: test-list, reason: "fictional: added while the worker was down"}
"""


def digest(entry_id: str, names: tuple[str, ...], born: date | None, country: str) -> str:
    entry = WatchlistEntry(entry_id, names, born, country, "test-list", "")
    return entry_digest(entry)


def replace(path: Path, text: str) -> None:
    """Write the new version beside the list and rename it over (what a list feed does)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def opening(customer: str, name: str, **extra: object) -> tuple[bytes, bytes]:
    event = {
        "event_id": f"open-{customer}",
        "customer_id": customer,
        "account_id": f"A-{customer}",
        "opened_at": "2026-03-02T09:00:00+08:00",
        "customer_type": "individual",
        "name": name,
        "nationality": "CN",
        "id_document": {"type": "passport", "number": f"P{customer}", "expires_on": None},
        "branch_code": "BR001",
        **extra,
    }
    return customer.encode(), orjson.dumps(event)


def watchlist_findings(worker, topic: str, field: str) -> dict[str, dict]:
    messages = read_topic(worker.bootstrap, worker.topic(topic), timeout=3)
    found = [orjson.loads(m.value) for m in messages]
    if field == "alert_id":
        found = [a for a in found if a["rule_id"] == "WATCHLIST_MATCH"]
    else:
        found = [t for t in found if t["trigger"] == "WATCHLIST_MATCH"]
    return {f[field]: f for f in found}


def wait_for_log(worker, text: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while worker.log_text(100_000).count(text) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{text!r} not seen {count} times:\n{worker.log_text()}")
        time.sleep(0.2)


def test_a_list_reload_rescreens_existing_customers_once(worker_factory, tmp_path):
    listed = tmp_path / "list.yaml"
    listed.write_text(SAMPLE, encoding="utf-8")
    pack = write_pack(tmp_path, {"rules.WATCHLIST_MATCH.file": str(listed)})
    env = {"rules": str(pack), "list_reload_interval_s": "1", "store": "memory", "partitions": "4"}
    worker = worker_factory(**env).start()
    openings = [
        opening("RS-1", "Su Zhenhua", birth_date="1979-04-18"),
        opening("RS-2", "Zhou Lan"),
        opening("RS-3", "Natalia Kowalczyk", nationality="PL"),
    ]
    topic = worker.topic("kyc.account-openings")
    produce(worker.bootstrap, [(topic, k, v, None) for k, v in openings])
    wait_consumed(worker, len(openings))
    # applied on their home partitions: their names are in the index
    names = read_topic(
        worker.bootstrap,
        f"{worker.prefix}-app-screening-names",
        until=lambda m: len({x.key for x in m if not x.key.startswith(b"\x00")}) >= 3,
        timeout=60,
    )
    assert {m.key for m in names if not m.key.startswith(b"\x00")} == {b"RS-1", b"RS-2", b"RS-3"}
    assert watchlist_findings(worker, "aml.alerts", "alert_id") == {}  # not listed yet

    replace(listed, SAMPLE + ADDED)
    added = digest("TEST-900", ("苏振华", "Su Zhenhua"), date(1979, 4, 18), "CN")
    alert_id = stable_id(
        "alert", "WATCHLIST_MATCH", "RS-1", "rescreen", "customer", "TEST-900", added
    )
    task_id = stable_id(
        "task", "WATCHLIST_MATCH", "RS-1", "rescreen", "customer", "TEST-900", added
    )
    messages = read_topic(
        worker.bootstrap,
        worker.topic("aml.alerts"),
        until=lambda m: alert_id in {orjson.loads(x.value)["alert_id"] for x in m},
        timeout=60,
    )
    alerts = {a["alert_id"]: a for a in (orjson.loads(m.value) for m in messages)}
    assert alert_id in alerts, worker.log_text()
    alert = alerts[alert_id]
    assert (alert["customer_id"], alert["queue"]) == ("RS-1", "sanctions")
    assert "TEST-900" in alert["summary"] and "Su Zhenhua" not in alert["summary"]
    tasks = read_topic(
        worker.bootstrap,
        worker.topic("aml.reid-tasks"),
        until=lambda m: task_id in {orjson.loads(x.value)["task_id"] for x in m},
        timeout=30,
    )
    task = {t["task_id"]: t for t in (orjson.loads(m.value) for m in tasks)}[task_id]
    assert task["alert_ids"] == [alert_id] and task["trigger"] == "WATCHLIST_MATCH"
    wait_for_log(worker, "re-screened against 1 new or changed entries", 1)
    before = (
        watchlist_findings(worker, "aml.alerts", "alert_id"),
        watchlist_findings(worker, "aml.reid-tasks", "task_id"),
    )
    assert set(before[0]) == {alert_id} and set(before[1]) == {task_id}

    # the same entries in a new file version (another comment): reloaded, nothing new
    replace(listed, "# reissued\n" + SAMPLE + ADDED)
    wait_for_log(worker, "watch list reloaded", 2)
    time.sleep(3)  # a few more checks
    assert (
        watchlist_findings(worker, "aml.alerts", "alert_id"),
        watchlist_findings(worker, "aml.reid-tasks", "task_id"),
    ) == before
    assert "Su Zhenhua" not in worker.log_text(100_000)

    # a restart screens nothing again; an entry added while it was down is caught up
    worker.stop()
    replace(listed, SAMPLE + ADDED + ADDED_LATER)
    restarted = worker_factory(**env).start()
    later = digest("TEST-901", ("Natalia Kowalczyk",), None, "PL")
    late_id = stable_id(
        "alert", "WATCHLIST_MATCH", "RS-3", "rescreen", "customer", "TEST-901", later
    )
    messages = read_topic(
        worker.bootstrap,
        worker.topic("aml.alerts"),
        until=lambda m: late_id in {orjson.loads(x.value)["alert_id"] for x in m},
        timeout=90,
    )
    assert late_id in {orjson.loads(m.value)["alert_id"] for m in messages}, restarted.log_text()
    wait_for_log(restarted, "re-screened against 1 new or changed entries", 1)
    time.sleep(3)  # a few more checks
    alerts = read_topic(worker.bootstrap, worker.topic("aml.alerts"), timeout=3)
    listed_ids = [
        a["alert_id"]
        for a in (orjson.loads(m.value) for m in alerts)
        if a["rule_id"] == "WATCHLIST_MATCH"
    ]
    assert sorted(listed_ids) == sorted([alert_id, late_id])  # each written once
    tasks = watchlist_findings(restarted, "aml.reid-tasks", "task_id")
    assert len(tasks) == 2 and task_id in tasks
