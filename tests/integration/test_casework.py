"""The case record on real Apache Kafka: `monitor audit verify` finds an altered or removed
event and names its case; losing Redis or the inbox process loses no decision."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from monitor.casework.intake import consume_alerts
from monitor.casework.log import KafkaCaseLog
from monitor.casework.readmodel import RedisReadModel
from monitor.casework.service import CaseService
from monitor.core.pack import load_pack
from monitor.io.devservers import RedisServer
from monitor.io.settings import load_settings
from monitor.io.topics import TopicSpec, ensure_topics
from monitor.tools.cli import main
from tests.casework_samples import alert, large_value

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)
REPORT = {"disposition": "report", "narrative": "Structured cash deposits."}


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
        kafka_bootstrap=kafka.bootstrap, partitions=2, topic_alerts=prefix + "aml.alerts"
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
                await ensure_topics(settings, [TopicSpec(settings.topic_alerts, 2, {})])
                producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap)
                await producer.start()
                await producer.send_and_wait(
                    settings.topic_alerts,
                    orjson.dumps(large_value(9, "CUST-0009")),
                    key=b"CUST-0009",
                )
                await producer.stop()
                task = asyncio.create_task(consume_alerts(settings, restarted, group=prefix))
                for _ in range(200):
                    if any(r["customer_id"] == "CUST-0009" for r in await restarted.inbox()):
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
