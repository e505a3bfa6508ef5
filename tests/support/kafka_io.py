"""Plain aiokafka helpers for tests: produce, read a topic, create topics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


def produce(bootstrap: str, records: Iterable[tuple[str, bytes | None, bytes, int | None]]) -> int:
    """Send (topic, key, value, partition) records and wait for every acknowledgement."""

    async def _run() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
        await producer.start()
        try:
            futures = [
                await producer.send(topic, key=key, value=value, partition=partition)
                for topic, key, value, partition in records
            ]
            await asyncio.gather(*futures)
            return len(futures)
        finally:
            await producer.stop()

    return asyncio.run(_run())


def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list], bool] = lambda msgs: False,
    timeout: float = 60.0,
) -> list:
    """All messages of `topic` from the beginning, read until `until(messages)` is true or
    `timeout` passes (then whatever was read is returned)."""

    async def _run() -> list:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=50,
        )
        await consumer.start()
        try:
            deadline = time.monotonic() + timeout
            partitions = None
            while partitions is None and time.monotonic() < deadline:
                partitions = consumer.partitions_for_topic(topic)
                if partitions is None:
                    await consumer._client.force_metadata_update()  # noqa: SLF001
                    await asyncio.sleep(0.2)
            if partitions is None:
                return []
            consumer.assign([TopicPartition(topic, p) for p in partitions])
            await consumer.seek_to_beginning()
            messages: list = []
            while time.monotonic() < deadline and not until(messages):
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    messages.extend(records)
            return messages
        finally:
            await consumer.stop()

    return asyncio.run(_run())


def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    async def _run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics(
                [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
            )
        finally:
            await admin.close()

    asyncio.run(_run())
