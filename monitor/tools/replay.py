"""`monitor replay`: the rule core over the input topics' history, in event-time order.

Every partition of the four input topics is read from its earliest retained offset up to
its end offset at start (customer state needs the history before `--from`: openings may be
years old), merged by (event time, topic, partition, offset) through a bounded reorder
buffer, and run through the same `Engine` as the worker. Only findings of events whose
event time lies in [from, to) are written: to JSONL files, or to topics with a prefix.
It never writes to the live output topics unless told to."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import Pack
from monitor.core.rules import Findings
from monitor.io.gctune import tuned_gc
from monitor.io.settings import Settings
from monitor.tools.offline import JsonlWriter, OfflineRun, RunStats, key_ms
from monitor.tools.replay_accounts import RekeySpill, apply_spills, shard_results, waiter
from monitor.tools.replay_merge import MergedHistory, owner_of, shard_of

__all__ = ["owner_of", "replay", "shard_of"]

logger = logging.getLogger(__name__)


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
    with `out`, the shards' files are merged in (event time, id) order. A pack that
    aggregates cash per conductor (`monitor.core.conductor`) or has rules across customers
    on account records (`monitor.core.network`) has a second pass too, in this process
    while the shards run: the shards write what they re-key, and the second pass applies
    it to the conductors' and accounts' records in the order one process would
    (`monitor.tools.replay_accounts`)."""
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
_JOBS: list[dict[str, Any]] = []


def _shard_main(index: int) -> RunStats:
    job = _JOBS[index]
    try:
        return asyncio.run(_replay(**job))
    except BaseException:
        job["sync"].abort()  # the other shards stop waiting for this one
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

    def latest_of_all(self) -> int | None:
        """The latest stream time of all shards, once they have ended."""
        latest = max(self.times)
        return None if latest == self._NONE else int(latest)


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
    parts = [out / f".shard-{i}" for i in range(workers + 1)] if out is not None else []
    engine = Engine(pack)
    spill_dir = (
        Path(tempfile.mkdtemp(prefix="monitor-replay-"))
        if engine.conductors or engine.network
        else None
    )
    spills = [spill_dir / f"rekeyed-{i}" if spill_dir else None for i in range(workers)]
    detected_at = datetime.now(UTC)  # one for every pass, as in one process
    # fork: the children inherit the loaded pack (no second parse, nothing to pickle)
    context = multiprocessing.get_context("fork")
    sync = _SharedStreamTime(context, workers)  # one process per shard (fork starts them all)
    common = {"settings": settings, "pack": pack, "start": start, "end": end}
    _JOBS[:] = [
        dict(
            common,
            out=parts[i] if parts else None,
            topic_prefix=topic_prefix,
            show_progress=False,
            shard=(i, workers),
            sync=sync,
            spill=spills[i],
            detected_at=detected_at,
        )
        for i in range(workers)
    ]
    results: list[RunStats] = []
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(_shard_main, i) for i in range(workers)]

            def ended() -> int | None:  # the shards' results, then their latest stream time
                results.extend(shard_results(futures))
                return sync.latest_of_all()

            if spill_dir is None:
                ended()
            else:  # the second pass, conductors' and accounts' records, as the shards run
                second = _second_pass(
                    settings, pack, start, parts[-1] if parts else None, topic_prefix,
                    [p for p in spills if p is not None], detected_at, waiter(futures), ended,
                )  # fmt: skip
                results.append(asyncio.run(second))
    finally:
        _JOBS.clear()
        if spill_dir is not None:
            shutil.rmtree(spill_dir, ignore_errors=True)
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

    rows: list[bytes] = []
    for part in parts:
        if part.exists():
            with part.open("rb") as handle:
                rows.extend(line for line in handle if line.strip())

    def order(line: bytes) -> tuple[str, str]:
        d = orjson.loads(line)
        when = d.get("event_time") or d.get("due_by") or ""
        return str(when), str(d.get("alert_id") or d.get("task_id") or "")

    rows.sort(key=order)
    with target.open("wb") as merged:
        merged.writelines(rows)


async def _second_pass(
    settings: Settings,
    pack: Pack,
    start: datetime,
    out: Path | None,
    topic_prefix: str | None,
    spills: list[Path],
    detected_at: datetime,
    wait: Callable[[], None],
    ended: Callable[[], int | None],
) -> RunStats:
    """The records that are no customer's over what the shards re-key (`replay_accounts`),
    read as the shards write it (`wait` between reads); `ended` waits for the shards and
    gives their latest stream time. Its stats count no input events (the shards did), only
    its records and findings. Findings for topics are produced once the pass is done (the
    pass blocks this process's event loop while it waits for the shards)."""
    held: list[Findings] = []
    runner = OfflineRun(pack, JsonlWriter(out) if out is not None else held.append, detected_at)
    start_ms = int(start.timestamp() * 1000)
    began = time.perf_counter()
    try:
        items = apply_spills(runner, spills, start_ms, wait)
        latest = ended()
        if latest is not None and (runner.stream_ms is None or latest > runner.stream_ms):
            runner.advance(latest, start_ms <= latest)  # as the shards end (none so far)
    finally:
        if isinstance(runner.on_findings, JsonlWriter):
            runner.on_findings.close()
    if out is None:
        writer = _TopicWriter(settings, topic_prefix or "")
        await writer.start()
        try:
            for findings in held:
                writer(findings)
        finally:
            await writer.stop()
    runner.stats.customers = len(runner.states)
    logger.info(
        "second pass: %s re-keyed items to %s records in %.1fs",
        items,
        len(runner.states),
        time.perf_counter() - began,
    )
    return runner.stats


async def _replay(
    settings,
    pack,
    start,
    end,
    out,
    topic_prefix,
    show_progress,
    shard=(0, 1),
    sync=None,
    spill=None,
    detected_at=None,
) -> RunStats:
    writer = JsonlWriter(out) if out is not None else _TopicWriter(settings, topic_prefix)
    if isinstance(writer, _TopicWriter):
        await writer.start()
    runner = OfflineRun(pack, writer, detected_at or datetime.now(UTC))
    # a shard of a pack across customers: what its events re-key goes to the second pass
    spilled = RekeySpill(spill) if spill is not None else None
    runner.across = spilled is None
    rekeyed = runner.rekeyed
    start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    decoder = Decoder(pack.fx, settings.max_message_bytes)
    stats = runner.stats
    began = time.perf_counter()
    last = began
    apply = runner.apply
    merged = MergedHistory(settings, decoder, stats, shard=shard)
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
                    if spilled is not None:
                        moved = rekeyed(event)
                        if moved:
                            spilled.add(key, moved)
                if past_end:
                    break
                if show_progress and time.perf_counter() - last > 0.5:
                    last = time.perf_counter()
                    stats.seconds = last - began
                    _progress(stats, merged.total)
        if spilled is not None:
            spilled.close()  # complete before this shard waits for the others
        if sync is not None:  # a shard: the deadlines up to the stream time of all shards
            latest = sync.latest(shard[0], runner.stream_ms)
            if latest is not None and (runner.stream_ms is None or latest > runner.stream_ms):
                runner.advance(latest, start_ms <= latest)
    finally:
        stats.seconds = time.perf_counter() - began
        stats.customers = len(runner.states)
        if spilled is not None:
            spilled.close()
        if isinstance(writer, _TopicWriter):
            await writer.stop()
        else:
            writer.close()
        if show_progress:
            _progress(stats, max(merged.total, stats.events))
            sys.stderr.write("\n")
    return stats
