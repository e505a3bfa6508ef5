"""The case record on real Apache Kafka: `monitor audit verify` finds an altered or removed
event and names its case; losing Redis or the inbox process loses no decision."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from monitor.casework.intake import consume_alerts
from monitor.casework.log import KafkaCaseLog
from monitor.casework.readmodel import RedisReadModel
from monitor.casework.service import CaseService
from monitor.casework.web.auth import hash_password
from monitor.core.pack import load_pack
from monitor.io.devservers import RedisServer, free_port, wait_for_port
from monitor.io.settings import load_settings
from monitor.io.topics import TopicSpec, ensure_topics
from monitor.tools.cli import main
from tests.casework_samples import alert, large_value, reid_task

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

NOW = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)
REPORT = {
    "disposition": "report",
    "narrative": "Structured cash deposits.",
    "measures": ["enhanced_monitoring", "customer_reidentified"],
}


def _service(settings, topic: str, redis_url: str) -> CaseService:
    pack = load_pack()
    model = RedisReadModel(aioredis.Redis.from_url(redis_url), pack.calendar, pack.tz)
    log = KafkaCaseLog(settings, topic=topic, reports_topic=f"{topic}.reports")
    return CaseService(log, model, clock=lambda: NOW)


async def _decide(service: CaseService) -> dict[str, str]:
    await service.log.start()
    try:
        await service.rebuild()
        one = await service.add_alert(alert(1, "CUST-0001"))
        two = await service.add_alert(large_value(2, "CUST-0002"))
        assert await service.add_alert(alert(3, "CUST-0001")) == one  # grouped by customer
        assert await service.add_alert(alert(1, "CUST-0001")) == one  # redelivery: no event
        await service.act(one, "claim", "ana", "analyst", {})
        await service.act(one, "propose", "ana", "analyst", REPORT)
        await service.act(one, "approve", "rita", "reviewer", {})
        await service.act(two, "claim", "ana", "analyst", {})
        await service.act(two, "note", "ana", "analyst", {"text": "asked the branch"})
        return {"one": one, "two": two}
    finally:
        await service.log.stop()


def _verify(monkeypatch, capsys, kafka, topic: str) -> tuple[int, str]:
    monkeypatch.setenv("MONITOR_KAFKA_BOOTSTRAP", kafka.bootstrap)
    code = main(["audit", "verify", "--topic", topic])
    return code, capsys.readouterr().out


async def _copy(settings, records, topic: str) -> None:
    """The topic rewritten by a forger: `records` (key, value) to a new topic."""
    await KafkaCaseLog(settings, topic=topic, reports_topic=topic + ".reports").ensure_topics()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


def test_audit_verify_names_the_case_of_an_altered_or_removed_event(
    kafka, redis_server, monkeypatch, capsys
):
    settings = load_settings(kafka_bootstrap=kafka.bootstrap, partitions=2)
    topic = f"t{uuid.uuid4().hex[:8]}.case-events"
    service = _service(settings, topic, redis_server.url)
    cases = asyncio.run(_decide(service))
    code, out = _verify(monkeypatch, capsys, kafka, topic)
    assert code == 0, out
    assert "9 events, 2 cases: chains intact" in out

    from monitor.casework.log import read_topic

    reports = asyncio.run(
        read_topic(settings, f"{topic}.reports", {"bootstrap_servers": kafka.bootstrap})
    )
    assert [r.key for r in reports] == [cases["one"]]  # the approved report's record
    record = orjson.loads(reports[0].value)
    assert record["suspicion"]["description"] == REPORT["narrative"]
    assert record["suspicion"]["measures_taken"] == [
        "加强持续监测 (enhanced ongoing monitoring)",
        "重新识别客户身份 (customer re-identified)",
    ]
    assert "suspicion.measures_taken" not in record["missing_elements"]
    assert record["customer"]["customer_id"] == "CUST-0001"
    assert {t["txn_id"] for t in record["transactions"]} >= {"T-1-1", "T-3-1"}

    raw = asyncio.run(read_topic(settings, topic, {"bootstrap_servers": kafka.bootstrap}))
    records = [(r.key, r.value) for r in raw]
    approved = next(n for n, (_, v) in enumerate(records) if b'"kind":"approved"' in v)
    event = orjson.loads(records[approved][1])
    event["user"] = "ana"  # the proposer as approver: exactly what four eyes forbids
    altered = list(records)
    altered[approved] = (records[approved][0], orjson.dumps(event))
    asyncio.run(_copy(settings, altered, topic + ".altered"))
    code, out = _verify(monkeypatch, capsys, kafka, topic + ".altered")
    assert code == 1
    assert f"case {cases['one']}: event {event['seq']}: altered" in out
    assert cases["two"] not in out

    note = next(n for n, (_, v) in enumerate(records) if b'"kind":"note"' in v)
    removed = records[: note - 1] + records[note:]  # the claim before the note is gone
    asyncio.run(_copy(settings, removed, topic + ".removed"))
    code, out = _verify(monkeypatch, capsys, kafka, topic + ".removed")
    assert code == 1 and f"case {cases['two']}" in out and cases["one"] not in out

    with pytest.raises(SystemExit) as exited:  # a bad argument: one line, exit 2
        main(["audit", "verify", "--topic", topic, "--bogus"])
    assert exited.value.code == 2


def test_a_lost_redis_or_inbox_loses_no_decision(kafka):
    prefix = f"t{uuid.uuid4().hex[:8]}."
    settings = load_settings(
        kafka_bootstrap=kafka.bootstrap,
        partitions=2,
        topic_alerts=prefix + "aml.alerts",
        topic_reid_tasks=prefix + "aml.reid-tasks",
    )
    topic = prefix + "aml.case-events"
    first = RedisServer().start()
    try:
        service = _service(settings, topic, first.url)

        async def run() -> tuple[dict[str, str], dict, list]:
            cases = await _decide(service)
            return (
                cases,
                await service.inbox({"status": ""}),
                await service.model.events(cases["one"]),
            )

        cases, before, events_before = asyncio.run(run())
    finally:
        first.kill()  # Redis is gone, with the whole read model

    second = RedisServer().start()
    try:
        restarted = _service(settings, topic, second.url)  # a new inbox process

        async def again() -> tuple[dict, list, str]:
            await restarted.log.start()
            try:
                assert not await restarted.model.is_ready()
                await restarted.ensure_ready()  # rebuilt from the topic
                case = await restarted.case(cases["one"])
                # decisions continue on the rebuilt chain, and alerts still flow in
                await restarted.act(cases["two"], "propose", "ana", "analyst", REPORT)
                await ensure_topics(
                    settings,
                    [
                        TopicSpec(t, 2, {})
                        for t in (settings.topic_alerts, settings.topic_reid_tasks)
                    ],
                )
                producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
                await producer.start()
                await producer.send_and_wait(
                    settings.topic_alerts,
                    orjson.dumps(large_value(9, "CUST-0009")),
                    key=b"CUST-0009",
                )
                await producer.send_and_wait(
                    settings.topic_reid_tasks,
                    orjson.dumps(reid_task("CUST-0009")),
                    key=b"CUST-0009",
                )
                await producer.stop()
                task = asyncio.create_task(consume_alerts(settings, restarted, group=prefix))
                for _ in range(200):
                    rows = await restarted.inbox()
                    tasks = await restarted.model.tasks("CUST-0009")
                    if tasks and any(r["customer_id"] == "CUST-0009" for r in rows):
                        break
                    await asyncio.sleep(0.1)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                return (
                    await restarted.inbox({"status": ""}),
                    await restarted.model.events(cases["one"]),
                    case.status,
                )
            finally:
                await restarted.log.stop()

        after, events_after, status = asyncio.run(again())
    finally:
        second.stop()
    assert status == "reported"
    assert events_after == events_before
    by_id = {r["case_id"]: r for r in after}
    for row in before:
        if row["case_id"] != cases["two"]:
            assert by_id[row["case_id"]] == row
    assert by_id[cases["two"]]["status"] == "proposed"
    assert any(r["customer_id"] == "CUST-0009" for r in after)


# ------------------------------------------------------------- the inbox as a process


class _InboxProcess:
    """`monitor inbox` as a subprocess on the test's Kafka topics and a given Redis."""

    def __init__(self, kafka, redis_url: str, prefix: str, users: Path, workdir: Path) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "MONITOR_KAFKA_BOOTSTRAP": kafka.bootstrap,
            "MONITOR_REDIS_URL": redis_url,
            "MONITOR_APP_ID": prefix.rstrip("."),
            "MONITOR_PARTITIONS": "2",
            "MONITOR_TOPIC_ALERTS": prefix + "aml.alerts",
            "MONITOR_TOPIC_CASE_EVENTS": prefix + "aml.case-events",
            "MONITOR_TOPIC_REPORTS": prefix + "aml.reports",
            "MONITOR_INBOX_SECRET": "test-secret",
        }
        self.log = (workdir / f"inbox-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor.tools.cli",
                "inbox",
                "--users",
                str(users),
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, 60, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.log.close()


def _client(inbox: _InboxProcess, name: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=inbox.url, timeout=30, follow_redirects=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post(
        "/login", data={"csrf_token": token, "username": name, "password": f"pw-{name}"}
    )
    assert answer.status_code == 200 and f">{name} <" in answer.text, answer.text[:500]
    return client, re.search(r'name="csrf_token" value="([^"]+)"', answer.text).group(1)


def test_killing_the_inbox_process_and_redis_loses_no_decision(kafka, tmp_path):
    prefix = f"t{uuid.uuid4().hex[:8]}."
    settings = load_settings(
        kafka_bootstrap=kafka.bootstrap, partitions=2, topic_alerts=prefix + "aml.alerts"
    )
    asyncio.run(ensure_topics(settings, [TopicSpec(settings.topic_alerts, 2, {})]))
    asyncio.run(_copy_alerts(settings, [alert(1, "CUST-0001"), large_value(2, "CUST-0002")]))
    users = tmp_path / "users.yaml"
    users.write_text(
        "users:\n"
        + "".join(
            f"  - {{name: {n}, role: {n}, password_hash: '{hash_password('pw-' + n)}'}}\n"
            for n in ("analyst", "reviewer")
        )
    )
    first_redis = RedisServer().start()
    inbox = _InboxProcess(kafka, first_redis.url, prefix, users, tmp_path)
    try:
        analyst, token = _client(inbox, "analyst")
        case_id = None
        for _ in range(100):  # the inbox consumes the alerts topic
            if len(re.findall(r'href="/cases/(C-[0-9A-F]+)"', analyst.get("/").text)) == 2:
                page = analyst.get("/", params={"rule": "STRUCTURING"}).text
                case_id = re.findall(r'href="/cases/(C-[0-9A-F]+)"', page)[0]
                break
            time.sleep(0.2)
        assert case_id, "the inbox opened no cases from aml.alerts"
        assert analyst.post(f"/cases/{case_id}/claim", data={"csrf_token": token}).is_success
        proposed = analyst.post(
            f"/cases/{case_id}/propose",
            data={
                "csrf_token": token,
                "disposition": "report",
                "narrative": "Structuring.",
                "measures": ["enhanced_monitoring", "transactions_restricted"],
            },
        )
        assert proposed.is_success
        reviewer, rtoken = _client(inbox, "reviewer")
        assert reviewer.post(f"/cases/{case_id}/approve", data={"csrf_token": rtoken}).is_success
    finally:
        inbox.kill()  # SIGKILL: no shutdown of any kind
        first_redis.kill()

    second_redis = RedisServer().start()
    inbox = _InboxProcess(kafka, second_redis.url, prefix, users, tmp_path)
    try:
        reviewer, _ = _client(inbox, "reviewer")  # same secret: the session survives too
        page = reviewer.get(f"/cases/{case_id}").text
        assert '<dd class="status">reported</dd>' in page
        assert "Structuring." in page and "Approved by <strong>reviewer</strong>" in page
        record = reviewer.get(f"/cases/{case_id}/report.json").json()
        assert record["suspicion"]["description"] == "Structuring."
        assert len(record["suspicion"]["measures_taken"]) == 2  # rebuilt from the topic
        assert "限制或中止交易" in page  # the case view shows the measures after the rebuild
        assert record["approved_by"] == "reviewer"
    finally:
        inbox.kill()
        second_redis.stop()
    audit = subprocess.run(
        [sys.executable, "-m", "monitor.tools.cli", "audit", "verify"],
        env=inbox.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "chains intact" in audit.stdout


async def _copy_alerts(settings, alerts: list[dict]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        for a in alerts:
            await producer.send_and_wait(
                settings.topic_alerts, orjson.dumps(a), key=a["customer_id"].encode()
            )
    finally:
        await producer.stop()
