"""A back-fill of the names index through the real worker on Apache Kafka: customers known
only from the bank's customer file (never sent as openings) are written to the names topic
on their home partitions, a running worker merges them, and a list update re-screens them
with deterministic ids; a customer the worker indexed from a later event keeps its record,
and a second back-fill writes and raises nothing new."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import orjson
import pytest
from aiokafka.partitioner import murmur2

from monitor.core.ids import stable_id
from monitor.core.screening.index import BACKFILL_HEADER, decode_record
from tests.integration.test_rescreen import (
    ADDED,
    SAMPLE,
    digest,
    opening,
    replace,
    wait_for_log,
    watchlist_findings,
)
from tests.support.kafka_io import produce, read_topic
from tests.support.packs import write_pack
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def filed(customer: str, name: str, opened_at: str, **extra: object) -> bytes:
    """A line of the bank's customer file: an account opening in the contract's fields."""
    _, value = opening(customer, name, **extra)
    return orjson.dumps({**orjson.loads(value), "opened_at": opened_at})


def backfill(worker, *argv: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "screening", "backfill", *map(str, argv)],
        env={
            **worker.env,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_backfilled_book_is_rescreened_on_a_list_update(worker_factory, tmp_path):
    listed = tmp_path / "list.yaml"
    listed.write_text(SAMPLE, encoding="utf-8")
    pack = write_pack(tmp_path, {"rules.WATCHLIST_MATCH.file": str(listed)})
    env = {"rules": str(pack), "list_reload_interval_s": "1", "store": "memory", "partitions": "4"}
    worker = worker_factory(**env).start()
    # one customer the worker indexes from its own (later) opening
    produce(
        worker.bootstrap,
        [(worker.topic("kyc.account-openings"), *opening("LIVE-1", "Zhou Lan"), None)],
    )
    wait_consumed(worker, 1)
    wait_for_log(worker, "names index of partitions", 1)

    book = tmp_path / "customers.jsonl"
    book.write_bytes(
        b"\n".join(
            [
                filed("BF-1", "Su Zhenhua", "2018-06-01T09:00:00+08:00", birth_date="1979-04-18"),
                filed("BF-2", "Natalia Kowalczyk", "2017-01-09T10:00:00+08:00", nationality="PL"),
                filed("BF-3", "Chen Jie", "2016-11-30T15:30:00+08:00"),
                filed("LIVE-1", "Zhou Lan Old", "2015-03-02T09:00:00+08:00"),  # older: loses
            ]
        )
        + b"\n"
    )
    result = backfill(worker, book)
    assert result.returncode == 0, result.stderr
    assert "3 records written" in result.stdout and "1 already indexed" in result.stdout
    assert "Su Zhenhua" not in result.stdout + result.stderr

    topic = f"{worker.prefix}-app-screening-names"
    records = read_topic(
        worker.bootstrap,
        topic,
        until=lambda m: {b"BF-1", b"BF-2", b"BF-3"} <= {x.key for x in m},
        timeout=30,
    )
    for record in records:
        if record.key.startswith(b"BF-"):
            assert record.partition == (murmur2(record.key) & 0x7FFFFFFF) % 4
            assert (BACKFILL_HEADER, b"1") in list(record.headers)
    live = [decode_record(r.value) for r in records if r.key == b"LIVE-1"]
    assert [n.name for _, names in live for n in names] == ["Zhou Lan"]  # never overwritten
    wait_for_log(worker, "back-filled customers merged into the names index", 1)

    replace(listed, SAMPLE + ADDED)
    added = digest("TEST-900", ("苏振华", "Su Zhenhua"), date(1979, 4, 18), "CN")
    alert_id = stable_id(
        "alert", "WATCHLIST_MATCH", "BF-1", "rescreen", "customer", "TEST-900", added
    )
    task_id = stable_id(
        "task", "WATCHLIST_MATCH", "BF-1", "rescreen", "customer", "TEST-900", added
    )
    read_topic(
        worker.bootstrap,
        worker.topic("aml.reid-tasks"),
        until=lambda m: task_id in {orjson.loads(x.value)["task_id"] for x in m},
        timeout=60,
    )
    alerts = watchlist_findings(worker, "aml.alerts", "alert_id")
    tasks = watchlist_findings(worker, "aml.reid-tasks", "task_id")
    assert set(alerts) == {alert_id}, worker.log_text()
    assert set(tasks) == {task_id}
    assert alerts[alert_id]["customer_id"] == "BF-1" and "TEST-900" in alerts[alert_id]["summary"]
    assert tasks[task_id]["alert_ids"] == [alert_id]

    # the same file again: nothing to write, nothing raised
    again = backfill(worker, book)
    assert again.returncode == 0, again.stderr
    assert "0 records written" in again.stdout and "4 already indexed" in again.stdout
    time.sleep(4)  # a few more checks
    assert watchlist_findings(worker, "aml.alerts", "alert_id") == alerts
    assert watchlist_findings(worker, "aml.reid-tasks", "task_id") == tasks
    assert "Su Zhenhua" not in worker.log_text(100_000)


def test_an_upgraded_deployment_backfills_from_the_topics(worker_factory, tmp_path):
    """Customers a worker without the index applied (the version before) are back-filled
    from the openings and updates topics, an update's new name included."""
    listed = tmp_path / "list.yaml"
    listed.write_text(SAMPLE, encoding="utf-8")
    before = write_pack(
        tmp_path,
        {"rules.WATCHLIST_MATCH.file": str(listed), "rules.WATCHLIST_MATCH.enabled": False},
    )
    env = {
        "rules": str(before),
        "list_reload_interval_s": "1",
        "store": "memory",
        "partitions": "4",
    }
    old = worker_factory(**env).start()
    renamed = {
        "event_id": "upd-UP-2",
        "customer_id": "UP-2",
        "updated_at": "2026-03-05T10:00:00+08:00",
        "changes": {"name": "Su Zhenhua", "birth_date": "1979-04-18"},
    }
    produce(
        old.bootstrap,
        [
            (old.topic("kyc.account-openings"), *opening("UP-1", "Zhou Lan"), None),
            (old.topic("kyc.account-openings"), *opening("UP-2", "Chen Jie"), None),
            (old.topic("kyc.customer-updates"), b"UP-2", orjson.dumps(renamed), None),
        ],
    )
    wait_consumed(old, 3)
    old.stop()

    pack = write_pack(tmp_path, {"rules.WATCHLIST_MATCH.file": str(listed)})
    worker = worker_factory(**{**env, "rules": str(pack)}).start()  # the upgrade
    wait_for_log(worker, "names index of partitions", 1)
    result = backfill(worker, "--from-topic")
    assert result.returncode == 0, result.stderr
    assert "2 customers from 3 events: 2 records written" in result.stdout, result.stdout
    wait_for_log(worker, "back-filled customers merged into the names index", 1)

    replace(listed, SAMPLE + ADDED)
    added = digest("TEST-900", ("苏振华", "Su Zhenhua"), date(1979, 4, 18), "CN")
    alert_id = stable_id(
        "alert", "WATCHLIST_MATCH", "UP-2", "rescreen", "customer", "TEST-900", added
    )
    read_topic(
        worker.bootstrap,
        worker.topic("aml.alerts"),
        until=lambda m: alert_id in {orjson.loads(x.value)["alert_id"] for x in m},
        timeout=60,
    )
    assert set(watchlist_findings(worker, "aml.alerts", "alert_id")) == {alert_id}
    again = backfill(worker, "--from-topic")
    assert "0 records written" in again.stdout and "2 already indexed" in again.stdout
