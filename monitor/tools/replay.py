"""`monitor replay`: the rule core over the input topics' history, in event-time order.

Every partition of the four input topics is read from its earliest retained offset up to
its end offset at start (customer state needs the history before `--from`: openings may be
years old), merged by (event time, topic, partition, offset) through a bounded reorder
buffer, and run through the same `Engine` as the worker. Only findings of events whose
event time lies in [from, to) are written: to JSONL files, or to topics with a prefix.
It never writes to the live output topics unless told to."""

from __future__ import annotations

import asyncio
import heapq
import multiprocessing
import shutil
import sys
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from monitor.core.decode import Decoder, Rejection
from monitor.core.pack import Pack
from monitor.core.rules import Findings
from monitor.io.gctune import tuned_gc
from monitor.io.settings import Settings
from monitor.tools.offline import (
    KEY_MS_SHIFT,
    TOPIC_RANK,
    Item,
    JsonlWriter,
    OfflineRun,
    RunStats,
    key_base,
    key_ms,
)
from schemas import InputEvent

__all__ = ["owner_of", "replay", "shard_of"]


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


class _Merged:
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

    async def batches(self) -> AsyncIterator[list[Item]]:
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
                            owner, event = owner_of(
                                data, shards, lambda d: validate(kind, d, value)
                            )
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


class _TopicWriter:
    def __init__(self, settings: Settings, prefix: str) -> None:
        self.settings = settings
        self.prefix = prefix
        self.producer: AIOKafkaProducer | None = None
        self.pending: list = []

    async def start(self) -> None:
        from monitor.io.kafka_security import aiokafka_options

        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            acks="all",
            linger_ms=20,
            **aiokafka_options(self.settings),
        )
        await self.producer.start()

    def __call__(self, findings: Findings) -> None:
        assert self.producer is not None
        for alert in findings.alerts:
            self.pending.append(
                self.producer.send(
                    f"{self.prefix}{self.settings.topic_alerts}",
                    alert.model_dump_json().encode(),
                    key=alert.customer_id.encode(),
                )
            )
        for task in findings.tasks:
            self.pending.append(
                self.producer.send(
                    f"{self.prefix}{self.settings.topic_reid_tasks}",
                    task.model_dump_json().encode(),
                    key=task.customer_id.encode(),
                )
            )

    async def stop(self) -> None:
        assert self.producer is not None
        for fut in self.pending:
            await (await fut)
        await self.producer.stop()


def _progress(stats: RunStats, total: int) -> None:
    rate = stats.events_per_s
    eta = (total - stats.events) / rate if rate else 0
    width = 30
    done = int(width * min(stats.events / total, 1)) if total else width
    sys.stderr.write(
        f"\r[{'#' * done}{'.' * (width - done)}] {stats.events:,}/{total:,} events "
        f"{rate:,.0f}/s ETA {eta:,.0f}s   "
    )
    sys.stderr.flush()


def replay(
    settings: Settings,
    pack: Pack,
    start: datetime,
    end: datetime,
    out: Path | None,
    topic_prefix: str | None = None,
    allow_live_topics: bool = False,
    show_progress: bool = True,
    workers: int = 1,
) -> RunStats:
    """Replay [start, end) and write its findings; returns the run's statistics.

    `workers` > 1 splits the customers into that many shards (`shard_of`), one process
    each: every process reads all partitions, validates and applies only its customers'
    events. Customers are independent, so the findings are the same as with one process;
    with `out`, the shards' files are merged in (event time, id) order."""
    if out is None and topic_prefix is None:
        raise ValueError("give --out DIR or --topic-prefix PREFIX")
    if topic_prefix is not None and topic_prefix == "" and not allow_live_topics:
        raise ValueError(
            "an empty --topic-prefix writes to the live aml.* topics: add --live-topics"
        )
    if workers < 1:
        raise ValueError("--workers must be at least 1")
    with tuned_gc():  # every customer's state stays in memory: a large, long-lived heap
        if workers == 1:
            return asyncio.run(
                _replay(settings, pack, start, end, out, topic_prefix, show_progress)
            )
        return _replay_sharded(settings, pack, start, end, out, topic_prefix, workers)


#: the shard jobs of the running sharded replay; forked children read them from here
_JOBS: list[tuple] = []  # type: ignore[type-arg]


def _shard_main(index: int) -> RunStats:
    settings, pack, start, end, out, topic_prefix, shard, sync = _JOBS[index]
    try:
        return asyncio.run(
            _replay(settings, pack, start, end, out, topic_prefix, False, shard, sync)
        )
    except BaseException:
        sync.abort()  # the other shards stop waiting for this one
        raise


class _SharedStreamTime:
    """The merged stream's time across shards: each shard sees only its customers' events,
    so at its end it waits for the others and decides its deadlines up to the latest
    stream time of all (what one process's merged stream reaches)."""

    _NONE = -(2**63)

    def __init__(self, context: Any, shards: int) -> None:
        self.times = context.Array("q", shards, lock=False)
        self.barrier = context.Barrier(shards)

    def latest(self, index: int, stream_ms: int | None) -> int | None:
        self.times[index] = self._NONE if stream_ms is None else stream_ms
        self.barrier.wait()
        latest = max(self.times)
        return None if latest == self._NONE else int(latest)

    def abort(self) -> None:
        self.barrier.abort()


def _replay_sharded(
    settings: Settings,
    pack: Pack,
    start: datetime,
    end: datetime,
    out: Path | None,
    topic_prefix: str | None,
    workers: int,
) -> RunStats:
    from concurrent.futures import ProcessPoolExecutor

    began = time.perf_counter()
    parts = [out / f".shard-{i}" for i in range(workers)] if out is not None else [None] * workers
    # fork: the children inherit the loaded pack (no second parse, nothing to pickle)
    context = multiprocessing.get_context("fork")
    sync = _SharedStreamTime(context, workers)  # one process per shard (fork starts them all)
    _JOBS[:] = [
        (settings, pack, start, end, parts[i], topic_prefix, (i, workers), sync)
        for i in range(workers)
    ]
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            results = list(pool.map(_shard_main, range(workers)))
    finally:
        _JOBS.clear()
    total = RunStats()
    for stats in results:
        for name in ("events", "alerts", "tasks", "duplicates", "invalid", "customers"):
            setattr(total, name, getattr(total, name) + getattr(stats, name))
        for reason, count in stats.invalid_by_reason.items():
            total.invalid_by_reason[reason] = total.invalid_by_reason.get(reason, 0) + count
    if out is not None:
        for name in ("alerts.jsonl", "reid-tasks.jsonl"):
            _merge_jsonl([p / name for p in parts if p is not None], out / name)
        for part in parts:
            if part is not None:
                shutil.rmtree(part, ignore_errors=True)
    total.seconds = time.perf_counter() - began
    return total


def _merge_jsonl(parts: list[Path], target: Path) -> None:
    """Concatenate JSONL files in (event time, id) order (alerts: event_time, alert_id;
    tasks: due_by, task_id)."""
    import orjson

    rows = []
    for part in parts:
        if part.exists():
            with part.open("rb") as handle:
                rows.extend(line for line in handle if line.strip())

    def order(line: bytes) -> tuple[str, str]:
        d = orjson.loads(line)
        when = d.get("event_time") or d.get("due_by") or ""
        return str(when), str(d.get("alert_id") or d.get("task_id") or "")

    rows.sort(key=order)
    with target.open("wb") as handle:
        handle.writelines(rows)


async def _replay(
    settings, pack, start, end, out, topic_prefix, show_progress, shard=(0, 1), sync=None
) -> RunStats:
    writer = JsonlWriter(out) if out is not None else _TopicWriter(settings, topic_prefix)
    if isinstance(writer, _TopicWriter):
        await writer.start()
    runner = OfflineRun(pack, writer, datetime.now(UTC))
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    decoder = Decoder(pack.fx, settings.max_message_bytes)
    stats = runner.stats
    began = time.perf_counter()
    last = began
    apply = runner.apply
    merged = _Merged(settings, decoder, stats, shard=shard)
    try:
        async with aclosing(merged.batches()) as batches:
            async for items in batches:
                past_end = False
                for key, event in items:
                    event_ms = key_ms(key)
                    if (
                        event_ms >= end_ms
                    ):  # merge order is event time: the rest is out of range too
                        past_end = True
                        break
                    apply(event, event_ms, start_ms <= event_ms)  # state from all history
                if past_end:
                    break
                if show_progress and time.perf_counter() - last > 0.5:
                    last = time.perf_counter()
                    stats.seconds = last - began
                    _progress(stats, merged.total)
        if sync is not None:  # a shard: the deadlines up to the stream time of all shards
            latest = sync.latest(shard[0], runner.stream_ms)
            if latest is not None and (runner.stream_ms is None or latest > runner.stream_ms):
                runner.advance(latest, start_ms <= latest)
    finally:
        stats.seconds = time.perf_counter() - began
        stats.customers = len(runner.states)
        if isinstance(writer, _TopicWriter):
            await writer.stop()
        else:
            writer.close()
        if show_progress:
            _progress(stats, max(merged.total, stats.events))
            sys.stderr.write("\n")
    return stats
