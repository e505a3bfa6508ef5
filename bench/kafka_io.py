"""The benchmark's Kafka clients: topics created, partitions looked up, records produced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["create_topics", "produce", "topic_partitions"]


async def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=partitions,
                    replication_factor=1,
                    topic_configs={"cleanup.policy": "delete", "retention.ms": "-1"},
                )
                for name in names
            ]
        )
    finally:
        await admin.close()


async def topic_partitions(consumer: Any, topic: str, timeout: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        await consumer._client.force_metadata_update()  # noqa: SLF001 - no public refresh
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no metadata for topic {topic}")


async def produce(
    bootstrap: str, records: Iterable[tuple[str, bytes, bytes]], linger_ms: int = 20
) -> tuple[int, float]:
    """Send (topic, key, value) with acks=all; returns (count, seconds until all acked)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=linger_ms)
    await producer.start()
    try:
        started = time.perf_counter()
        pending: list = []
        count = 0
        for topic, key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            count += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return count, time.perf_counter() - started
    finally:
        await producer.stop()
