"""Replay's input: the input topics' history read from Kafka and merged into event-time
order, optionally only the customers of one shard."""

from __future__ import annotations

import heapq
import zlib
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from monitor.core.decode import Decoder, Rejection
from monitor.io.settings import Settings
from monitor.tools.offline import KEY_MS_SHIFT, TOPIC_RANK, Item, RunStats, key_base
from schemas import InputEvent

__all__ = ["MergedHistory", "owner_of", "shard_of"]


def shard_of(customer_id: str, shards: int) -> int:
    """The replay shard a customer belongs to (stable across runs and machines)."""
    return zlib.crc32(customer_id.encode()) % shards


def owner_of(
    data: Any, shards: int, validate: Callable[[dict[str, Any]], InputEvent | Rejection]
) -> tuple[int, InputEvent | Rejection | None]:
    """(shard, event or None) of a parsed input: the shard of its `customer_id` as the
    rules will see it. Validation strips surrounding whitespace from the id, so an id with
    any is validated first (in every shard, so all agree; the event is returned for reuse)
    and sharded by the validated id; inputs without a usable id belong to shard 0, which
    counts them once."""
    customer = data.get("customer_id") if isinstance(data, dict) else None
    if not isinstance(customer, str) or not customer:
        return 0, None
    if not (customer[0].isspace() or customer[-1].isspace()):
        return shard_of(customer, shards), None
    event = validate(data)
    if isinstance(event, Rejection):
        return 0, event
    return shard_of(event.customer_id, shards), event


class MergedHistory:
    """The input history of one run in merge order, batch by batch (`batches`); `total` is
    the number of messages in range, known once the end offsets are read.

    Each partition is read into its own buffer; a heap of the partitions' next keys merges
    them (each partition is roughly in event-time order), and a bounded reorder heap of
    `reorder_window` items absorbs the disorder inside a partition. Merge keys are ints
    (`monitor.tools.offline.merge_key`) and unique (one key per topic, partition and offset),
    so the heaps never compare events. Memory: one fetch per partition plus the heap.

    With `shard=(i, n)` only customers of shard i are validated and kept (the others are
    parsed, not validated); inputs that are not a JSON object with a customer id belong
    to shard 0, so each invalid input is counted once."""

    def __init__(
        self,
        settings: Settings,
        decoder: Decoder,
        stats: RunStats,
        batch: int = 2000,
        reorder_window: int = 100_000,
        shard: tuple[int, int] = (0, 1),
        out_batch: int = 1000,
    ) -> None:
        self.settings, self.decoder, self.stats = settings, decoder, stats
        self.batch, self.reorder_window, self.shard, self.out_batch = (
            batch,
            reorder_window,
            shard,
            out_batch,
        )
        self.total = 0

    async def batches(self) -> AsyncGenerator[list[Item], None]:
        from monitor.io.kafka_security import aiokafka_options

        settings, decoder, stats = self.settings, self.decoder, self.stats
        topics = settings.input_topics
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            enable_auto_commit=False,
            group_id=None,
            fetch_max_wait_ms=50,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **aiokafka_options(settings),
        )
        await consumer.start()
        try:
            tps: list[tuple[TopicPartition, str]] = []
            for kind, topic in topics.items():
                for p in sorted(
                    consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
                ):
                    tps.append((TopicPartition(topic, p), kind))
            consumer.assign([tp for tp, _ in tps])
            begin = await consumer.beginning_offsets([tp for tp, _ in tps])
            end = await consumer.end_offsets([tp for tp, _ in tps])
            self.total = sum(end[tp] - begin[tp] for tp, _ in tps)
            for tp, _ in tps:
                consumer.seek(tp, begin[tp])
            buffers: dict[TopicPartition, deque[Item]] = {tp: deque() for tp, _ in tps}
            kinds = dict(tps)
            position = {tp: begin[tp] for tp, _ in tps}
            mine, shards = self.shard
            parse, validate, batch = decoder.parse, decoder.validate, self.batch

            async def refill(tp: TopicPartition) -> None:
                kind, stop, buffer = kinds[tp], end[tp], buffers[tp]
                base = key_base(TOPIC_RANK[kind], tp.partition, stop)
                append = buffer.append
                while not buffer and position[tp] < stop:
                    records = (await consumer.getmany(tp, timeout_ms=1000, max_records=batch)).get(
                        tp, []
                    )
                    for r in records:
                        offset = r.offset
                        if offset >= stop:
                            position[tp] = stop
                            break
                        position[tp] = offset + 1
                        value = r.value
                        data = parse(value)
                        event = None
                        if shards > 1:

                            def check(
                                d: dict[str, Any], value: bytes = value
                            ) -> InputEvent | Rejection:
                                return validate(kind, d, value)

                            owner, event = owner_of(data, shards, check)
                            if owner != mine:
                                continue
                        if event is None:
                            event = (
                                data if isinstance(data, Rejection) else validate(kind, data, value)
                            )
                        if isinstance(event, Rejection):
                            stats.invalid += 1
                            by_reason = stats.invalid_by_reason
                            by_reason[event.reason] = by_reason.get(event.reason, 0) + 1
                            continue
                        ms = int(event.event_time.timestamp() * 1000)
                        append(((ms << KEY_MS_SHIFT) | base | offset, event))

            heads: list[tuple[int, int]] = []  # (key of a partition's next item, partition index)
            order = [tp for tp, _ in tps]
            for index, tp in enumerate(order):
                await refill(tp)
                if buffers[tp]:
                    heads.append((buffers[tp][0][0], index))
            heapq.heapify(heads)
            heap: list[Item] = []
            window, size = self.reorder_window, self.out_batch
            out: list[Item] = []
            push, pop, replace = heapq.heappush, heapq.heappop, heapq.heapreplace
            while heads:
                index = heads[0][1]
                buffer = buffers[order[index]]
                push(heap, buffer.popleft())
                if not buffer:
                    await refill(order[index])
                if buffer:
                    replace(heads, (buffer[0][0], index))
                else:
                    pop(heads)
                if len(heap) > window:
                    out.append(pop(heap))
                    if len(out) >= size:
                        yield out
                        out = []
            while heap:
                out.append(pop(heap))
                if len(out) >= size:
                    yield out
                    out = []
            if out:
                yield out
        finally:
            await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()  # noqa: SLF001 - no public refresh
    return consumer.partitions_for_topic(topic) or set()
