"""A write Kafka refuses (agents/rules.py): the batch is kept, nothing of it is stored or
committed, the consumer goes back to its first offsets, and applied again it gives exactly
the offline run's alerts and states.

The rule service runs in this process against the session's Apache Kafka; the faults are
injected at the writer: the records of the first refused write never reach Kafka, those of
the second do and are written again."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka.errors import KafkaConnectionError
from prometheus_client import CollectorRegistry

from agents.rules import RulesService
from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.core.state import CustomerState
from monitor.io.metrics import Metrics
from monitor.io.settings import load_settings
from monitor.io.topics import ensure_topics
from monitor.tools.offline import OfflineRun
from tests.support.kafka_io import produce, read_topic

CUSTOMERS = 12
DEPOSITS = 6  # CNY 20,000 each on one day: the same-day cumulative rule fires


def _deposit(customer: int, n: int) -> dict[str, Any]:
    return {
        "event_id": f"e-{customer}-{n}",
        "txn_id": f"t-{customer}-{n}",
        "customer_id": f"W{customer:03d}",
        "account_id": f"A{customer:03d}",
        "occurred_at": f"2026-03-02T{9 + n:02d}:00:00+08:00",
        "direction": "in",
        "amount": "20000.00",
        "currency": "CNY",
        "service": "deposit",
    }


def test_a_refused_write_keeps_the_batch_and_loses_nothing(kafka):
    prefix = f"wif{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        kafka_bootstrap=kafka.bootstrap,
        app_id=f"{prefix}-app",
        store="memory",
        partitions=2,
        batch_max=5,
        metrics_port=0,
        **{
            f"topic_{name}": f"{prefix}.{name}"
            for name in (
                "account_openings",
                "customer_updates",
                "cash",
                "remittances",
                "alerts",
                "reid_tasks",
                "dead_letters",
            )
        },
    )
    pack = load_pack()
    docs = [_deposit(c, n) for n in range(DEPOSITS) for c in range(CUSTOMERS)]
    asyncio.run(ensure_topics(settings))
    produce(
        kafka.bootstrap,
        [(settings.topic_cash, d["customer_id"].encode(), orjson.dumps(d), None) for d in docs],
    )

    # what the rules give with every event applied once, in order
    decoder = Decoder(pack.fx)
    found: list[Any] = []
    offline = OfflineRun(pack, found.append, datetime.now(UTC))
    for doc in docs:
        event = decoder.decode("cash", orjson.dumps(doc))
        offline.apply(event, int(event.event_time.timestamp() * 1000))
    expected_alerts = {a.alert_id for f in found for a in f.alerts}
    assert expected_alerts, "the data must raise alerts"

    service = RulesService(settings, Engine(pack), decoder, Metrics.create(CollectorRegistry()))
    flushes: list[int] = []
    refused: list[int] = []  # the flushes refused
    real_flush = service.writer.flush

    async def flush() -> Any:
        # refuse the 4th write (nothing reaches Kafka) and the 9th (written, then reported
        # as failed): an output write or a changelog write, whichever comes
        flushes.append(len(flushes) + 1)
        if len(flushes) == 4:
            refused.append(4)
            service.writer.discard()
            raise KafkaConnectionError("injected: write refused")
        written = await real_flush()
        if len(flushes) == 9:
            refused.append(9)
            raise KafkaConnectionError("injected: write reported as failed")
        return written

    service.writer.flush = flush  # type: ignore[method-assign]

    async def run() -> None:
        await service.start()
        try:
            deadline = time.monotonic() + 90
            while sum(
                offset
                for tp, offset in service.committed.items()
                if tp.topic == settings.topic_cash
            ) < len(docs):
                assert time.monotonic() < deadline, f"committed {service.committed}"
                await asyncio.sleep(0.1)
        finally:
            await service.stop()

    asyncio.run(run())

    assert refused == [4, 9], flushes
    assert service.metrics.kafka_errors._value.get() == 2  # noqa: SLF001
    alerts = read_topic(
        kafka.bootstrap,
        settings.topic_alerts,
        until=lambda msgs: {orjson.loads(m.value)["alert_id"] for m in msgs} >= expected_alerts,
        timeout=30,
    )
    assert {orjson.loads(m.value)["alert_id"] for m in alerts} == expected_alerts
    changelog = read_topic(
        kafka.bootstrap,
        settings.changelog_topic,
        until=lambda msgs: len({m.key for m in msgs}) >= CUSTOMERS,
        timeout=30,
    )
    last = {m.key.decode(): CustomerState.from_bytes(m.value) for m in changelog}
    assert set(last) == set(offline.states)
    for customer, state in offline.states.items():
        assert last[customer].to_bytes() == state.to_bytes(), customer
