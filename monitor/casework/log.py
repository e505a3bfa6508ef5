"""The case record on Kafka: append events to `aml.case-events` (key = case id, kept for
ever) and read the whole topic back; an in-memory log with the same methods for tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from monitor.casework.events import CaseEvent, canonical_json
from monitor.core.errors import ConfigurationError
from monitor.io.settings import Settings

__all__ = [
    "CASE_TOPIC_CONFIGS",
    "CaseLog",
    "KafkaCaseLog",
    "MemoryCaseLog",
    "RawRecord",
    "decode_events",
]

logger = logging.getLogger(__name__)

#: append-only, never expired
CASE_TOPIC_CONFIGS = {"cleanup.policy": "delete", "retention.ms": "-1"}


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One message of the case topic as stored."""

    key: str
    value: bytes
    partition: int = 0
    offset: int = 0


class CaseLog(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def append(self, event: CaseEvent) -> None: ...
    async def publish_report(self, case_id: str, record: dict[str, Any]) -> None: ...
    async def read_raw(self) -> list[RawRecord]: ...


def encode(event: CaseEvent) -> bytes:
    return canonical_json(event.model_dump(mode="json"))


def decode_events(records: list[RawRecord]) -> Iterator[tuple[str, CaseEvent | None]]:
    """(case id, event) per record in log order; event None when the value is not one."""
    for record in records:
        try:
            yield record.key, CaseEvent.model_validate(orjson.loads(record.value))
        except ValueError:
            yield record.key, None


class MemoryCaseLog:
    """The log in a list (tests and the browser demo without Kafka)."""

    def __init__(self) -> None:
        self.records: list[RawRecord] = []
        self.reports: list[dict[str, Any]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def append(self, event: CaseEvent) -> None:
        self.records.append(RawRecord(event.case_id, encode(event), 0, len(self.records)))

    async def publish_report(self, case_id: str, record: dict[str, Any]) -> None:
        self.reports.append(record)

    async def read_raw(self) -> list[RawRecord]:
        return list(self.records)


class KafkaCaseLog:
    """`aml.case-events` and `aml.reports` on Kafka. `append` returns once the broker has
    the event (acks=all, idempotent producer): a decision is recorded before it is shown."""

    def __init__(
        self,
        settings: Settings,
        topic: str = "aml.case-events",
        reports_topic: str = "aml.reports",
        idempotent: bool = True,
    ) -> None:
        self.settings, self.topic, self.reports_topic = settings, topic, reports_topic
        self.idempotent = idempotent  # off only for brokers without InitProducerId (Tansu)
        self._producer: AIOKafkaProducer | None = None

    def _options(self) -> dict[str, Any]:
        from monitor.io.kafka_security import aiokafka_options

        return {
            "bootstrap_servers": self.settings.kafka_bootstrap,
            **aiokafka_options(self.settings),
        }

    async def ensure_topics(self) -> None:
        from monitor.io.topics import TopicSpec, ensure_topics

        n = self.settings.partitions
        await ensure_topics(
            self.settings,
            [
                TopicSpec(self.topic, n, CASE_TOPIC_CONFIGS),
                TopicSpec(self.reports_topic, n, CASE_TOPIC_CONFIGS),
            ],
        )

    async def start(self) -> None:
        await self.ensure_topics()
        self._producer = AIOKafkaProducer(
            acks="all", enable_idempotence=self.idempotent, client_id="aml-inbox", **self._options()
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def append(self, event: CaseEvent) -> None:
        assert self._producer is not None, "start() the log first"
        await self._producer.send_and_wait(self.topic, encode(event), key=event.case_id.encode())

    async def publish_report(self, case_id: str, record: dict[str, Any]) -> None:
        assert self._producer is not None, "start() the log first"
        await self._producer.send_and_wait(
            self.reports_topic, canonical_json(record), key=case_id.encode()
        )

    async def read_raw(self) -> list[RawRecord]:
        return await read_topic(self.settings, self.topic, self._options())


async def read_topic(settings: Settings, topic: str, options: dict[str, Any]) -> list[RawRecord]:
    """Every message of `topic` up to its end when called, per partition in offset order."""
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [d for d in described if d["topic"] == topic and not d.get("error_code")]
    if not found:
        raise ConfigurationError(f"topic {topic} does not exist on {settings.kafka_bootstrap}")
    consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None, **options)
    await consumer.start()
    try:
        partitions = {p["partition"] for p in found[0]["partitions"]}
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: list[RawRecord] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batch.items():
                for m in messages:
                    if m.offset < ends[tp]:
                        key = m.key.decode() if m.key else ""
                        out.append(RawRecord(key, m.value or b"", tp.partition, m.offset))
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return out
    finally:
        await consumer.stop()
