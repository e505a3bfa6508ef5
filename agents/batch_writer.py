"""Kafka writes of one processing batch, as one record batch per topic partition.

Faust's `Topic.send` and table writes cost several hundred microseconds per message on
this kind of machine (a FutureMessage, the ProducerBuffer task, callbacks, one accumulator
append and often one produce request each). The worker writes many messages per batch
of events: its alerts, tasks, dead letters, forwards and one changelog record per
customer touched. `BatchWriter` packs them into aiokafka `BatchBuilder`s, one per
(topic, partition), sends each with `send_batch` and waits for all acknowledgements at
once. Nothing is left in flight when `flush` returns, so the batch's events may be acked.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from monitor.io.kafka_security import aiokafka_options
from monitor.io.settings import Settings

__all__ = ["BatchWriter"]

Headers = list[tuple[str, bytes]]


class BatchWriter:
    """One aiokafka producer (acks=all), started on first use. Not the idempotent producer:
    some Kafka-protocol brokers (the demo's Tansu) refuse InitProducerId, and it is not
    needed for order, since `flush` waits for every batch before the next is sent (one
    batch in flight per partition); a retried batch can only repeat records, which the
    deterministic ids and the state's redelivery guard absorb."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()
        self._batches: dict[tuple[str, int], Any] = {}
        self._futures: list[tuple[tuple[str, int], int, asyncio.Future]] = []

    async def start(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    client_id=f"{self.settings.app_id}-writer",
                    acks="all",
                    max_batch_size=1_048_576,
                    request_timeout_ms=30_000,
                    **aiokafka_options(self.settings),
                )
                await producer.start()
                self._producer = producer
        return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()

    def discard(self) -> None:
        """Forget what was queued and not flushed (the batch will be applied again)."""
        self._batches.clear()
        self._futures.clear()

    def add(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        timestamp_ms: int | None = None,
        headers: Headers | None = None,
    ) -> None:
        """Queue one record (a None value: a tombstone); nothing is sent before `flush`."""
        assert self._producer is not None, "BatchWriter.start() first"
        slot = (topic, partition)
        batch = self._batches.get(slot)
        if batch is None:
            batch = self._batches[slot] = self._producer.create_batch()
        if (
            batch.append(key=key, value=value, timestamp=timestamp_ms, headers=headers or [])
            is None
        ):
            # full: send it now and carry on in a fresh one
            self._send(slot, batch)
            batch = self._batches[slot] = self._producer.create_batch()
            if (
                batch.append(key=key, value=value, timestamp=timestamp_ms, headers=headers or [])
                is None
            ):
                raise ValueError(f"a record of {len(value or b''):,} bytes does not fit a batch")

    def _send(self, slot: tuple[str, int], batch: Any) -> None:
        assert self._producer is not None
        count = batch.record_count()
        future = asyncio.ensure_future(self._producer.send_batch(batch, slot[0], partition=slot[1]))
        self._futures.append((slot, count, future))

    async def flush(self) -> dict[tuple[str, int], int]:
        """Send everything queued and wait until Kafka acknowledged all of it. Returns the
        last offset written per (topic, partition). Raises if any write failed."""
        for slot, batch in self._batches.items():
            if batch.record_count():
                self._send(slot, batch)
        self._batches.clear()
        futures, self._futures = self._futures, []
        if not futures:
            return {}
        # send_batch resolves to the delivery future, which resolves to the metadata
        delivered = await asyncio.gather(*(f for _, _, f in futures))
        metadata = await asyncio.gather(*delivered)
        last: dict[tuple[str, int], int] = {}
        for (slot, count, _), meta in zip(futures, metadata, strict=True):
            offset = meta.offset + count - 1
            if offset > last.get(slot, -1):
                last[slot] = offset
        return last
