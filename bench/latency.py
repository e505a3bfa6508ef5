"""The latency phase: paced cash events, the time to each `LV_CASH` alert from the worker,
and a raw consumer on the same paced stream as the floor."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any

import orjson

from bench.context import TOPIC_KINDS, Run, log
from bench.kafka_io import create_topics, topic_partitions
from bench.proc import peak_rss
from bench.throughput import worker_process

__all__ = [
    "AlertClock",
    "floor_run",
    "latency_phase",
    "median_run",
    "no_collection",
    "pace",
    "percentiles",
    "worker_latency_run",
]


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    """Nearest-rank p50/p99/p99.9 and max, in seconds (values are ms)."""
    if not values:
        return {"n": 0, "p50_s": None, "p99_s": None, "p999_s": None, "max_s": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        index = max(0, min(len(ordered) - 1, int(-(-q * len(ordered) // 1)) - 1))
        return round(ordered[index] / 1000, 4)

    return {
        "n": len(ordered),
        "p50_s": rank(0.50),
        "p99_s": rank(0.99),
        "p999_s": rank(0.999),
        "max_s": round(ordered[-1] / 1000, 4),
    }


def _cash(txn: str, customer: str, amount: str, seq: int) -> bytes:
    second = seq // 1000 % 36_000
    clock = f"{1 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
    occurred = f"2026-03-10T{clock}.{seq % 1000:03d}Z"
    return orjson.dumps(
        {
            "event_id": f"ev-{txn}",
            "txn_id": txn,
            "customer_id": customer,
            "account_id": f"A{customer[1:]}",
            "occurred_at": occurred,
            "direction": "in",
            "amount": amount,
            "currency": "CNY",
            "service": "deposit",
            "conductor": None,
            "branch_code": "BR001",
        }
    )


async def pace(
    bootstrap: str,
    topic: str,
    rate: int,
    seconds: float,
    tag: str,
    big_every: int,
    sent: dict[str, int],
) -> dict[str, Any]:
    """Send `rate` cash events per second for `seconds`; every `big_every`-th is a single
    CNY 60,000 deposit of a fresh customer (an LV_CASH alert at once), recorded in `sent`
    (txn id -> the message timestamp in ms). The rest are CNY 100 deposits of a pool of
    customers, far below every threshold."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        total = int(rate * seconds)
        pool = 5000
        pending = []
        started = time.perf_counter()
        i = 0
        while i < total:
            due = min(total, int((time.perf_counter() - started) * rate) + 1)
            while i < due:
                txn = f"{tag}-{i:08d}"
                big = i % big_every == 0
                customer = f"L{tag}-{i:08d}" if big else f"P{tag}-{i % pool:05d}"
                value = _cash(txn, customer, "60000.00" if big else "100.00", i)
                ts = int(time.time() * 1000)
                pending.append(
                    await producer.send(topic, value, key=customer.encode(), timestamp_ms=ts)
                )
                if big:
                    sent[txn] = ts
                i += 1
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - started
        await asyncio.gather(*pending)
        return {
            "sent": total,
            "seconds": round(elapsed, 2),
            "achieved_rate": round(total / elapsed),
        }
    finally:
        await producer.stop()


async def _assigned_consumer(bootstrap: str, topic: str) -> Any:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_wait_ms=10,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in await topic_partitions(consumer, topic)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    await consumer.getmany(timeout_ms=100)
    return consumer


async def floor_run(
    bootstrap: str, topic: str, rate: int, seconds: float, tag: str, big_every: int
) -> dict[str, Any]:
    """The raw client: receive time minus message timestamp of every paced message."""
    consumer = await _assigned_consumer(bootstrap, topic)
    latencies: list[float] = []
    stop = asyncio.Event()

    async def consume() -> None:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100)
            now = time.time() * 1000
            for records in batch.values():
                latencies.extend(now - r.timestamp for r in records)

    task = asyncio.create_task(consume())
    try:
        pacing = await pace(bootstrap, topic, rate, seconds, tag, big_every, {})
        deadline = time.monotonic() + 30
        while len(latencies) < pacing["sent"] and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
        await consumer.stop()
    return {**pacing, "received": len(latencies), **percentiles(latencies)}


class AlertClock:
    """Reads the worker's `aml.alerts` from the start and times each `LV_CASH` alert of the
    paced runs: the alert's Kafka timestamp (when the worker queued it) and when this
    consumer had it (`fetch_max_wait_ms=10`)."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.alerted: dict[str, int] = {}  # txn id -> the alert's Kafka timestamp
        self.received: dict[str, float] = {}  # txn id -> when this consumer read the alert (ms)
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        while not self._stop.is_set():
            batch = await self.consumer.getmany(timeout_ms=100)
            now_ms = time.time() * 1000
            for records in batch.values():
                for r in records:
                    alert = orjson.loads(r.value)
                    if alert.get("rule_id") == "LV_CASH":
                        for txn in alert.get("evidence", []):
                            self.alerted.setdefault(txn, r.timestamp)
                            self.received.setdefault(txn, now_ms)

    async def wait_for(self, sent: dict[str, int], timeout: float) -> float:
        """Wait until every txn of `sent` has its alert or `timeout` passes; the seconds waited."""
        began = time.monotonic()
        while not set(sent) <= set(self.alerted) and time.monotonic() - began < timeout:
            await asyncio.sleep(0.05)
        return time.monotonic() - began

    async def close(self) -> None:
        self._stop.set()
        await self._task
        await self.consumer.stop()


async def worker_latency_run(
    bootstrap: str,
    cash_topic: str,
    clock: AlertClock,
    rate: int,
    seconds: float,
    big_every: int,
    tag: str,
) -> dict[str, Any]:
    sent: dict[str, int] = {}
    pacing = await pace(bootstrap, cash_topic, rate, seconds, tag, big_every, sent)
    drain = await clock.wait_for(sent, 60)
    # an alert not seen by the end of the drain counts with a lower bound of its latency
    # (drain end minus its input time): percentiles above the share of missing alerts are
    # then lower bounds, and flagged so
    now_ms = time.time() * 1000

    def since_input(at: dict[str, Any]) -> list[float]:
        return [at[t] - ts if t in at else now_ms - ts for t, ts in sent.items()]

    missing = sum(1 for t in sent if t not in clock.alerted)
    # `received`: the same alerts, timed to when a consumer of aml.alerts had them (the
    # worker's acknowledged write and one more Kafka hop on top)
    return {
        **pacing,
        "alerts_expected": len(sent),
        "alerts_seen": len(sent) - missing,
        "alerts_missing": missing,
        "percentiles_are_lower_bounds": missing > 0,
        "drain_seconds": round(drain, 2),
        **percentiles(since_input(clock.alerted)),
        "read_by_consumer": percentiles(since_input(clock.received)),
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' median of each percentile (and of the alert-read percentiles), with the
    runs themselves under `runs`."""

    def middle(values: list[Any]) -> Any:
        values = sorted(v for v in values if v is not None)
        return values[(len(values) - 1) // 2] if values else None

    out: dict[str, Any] = {
        key: middle([r.get(key) for r in runs]) for key in ("p50_s", "p99_s", "p999_s", "max_s")
    }
    if any("read_by_consumer" in r for r in runs):
        out["read_by_consumer"] = {
            key: middle([(r.get("read_by_consumer") or {}).get(key) for r in runs])
            for key in ("p50_s", "p99_s", "p999_s", "max_s")
        }
    for key in ("alerts_expected", "alerts_seen", "alerts_missing", "sent", "received"):
        if any(key in r for r in runs):
            out[key] = sum(r.get(key, 0) for r in runs)
    out["percentiles_are_lower_bounds"] = any(r.get("percentiles_are_lower_bounds") for r in runs)
    out["runs"] = runs
    return out


@contextlib.contextmanager
def no_collection() -> Iterator[None]:
    """No garbage collection inside a timed latency run: the paced producer and the
    measuring consumers share this process, and a full collection of its heap would stop
    the producer, which then catches up with a burst. One collection before the run, none
    in it (a run allocates a few hundred MB at most), so the load is the steady rate the
    phase claims."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def latency_phase(run: Run, limit: float) -> dict[str, Any]:
    """Each rate `--latency-repeats` times, the raw client's floor and the worker one right
    after the other, so both see the same minute of this machine; each percentile is the
    median of the repeats (p99 swings widely between runs of the same code)."""
    deadline = time.monotonic() + limit
    rates, repeats = run.args.rates, run.args.latency_repeats
    seconds = run.args.latency_seconds
    big_every = 20
    lprefix = f"{run.prefix}l"
    result: dict[str, Any] = {
        "seconds_per_rate": seconds,
        "repeats": repeats,
        "large_deposit_every": big_every,
        "producer_linger_ms": 5,
        "floor": {},
        "worker": {},
    }
    # one fresh topic per floor run: the floor consumer reads its topic from the beginning
    floor_topics = {
        (rate, i): f"{lprefix}.floor{rate}x{i}.txn.cash" for rate in rates for i in range(repeats)
    }
    asyncio.run(
        create_topics(
            run.bootstrap,
            [*floor_topics.values(), *(run.topic(t, lprefix) for t in TOPIC_KINDS)],
            run.args.partitions,
        )
    )
    worker = worker_process(
        run, "latency", 0, "memory", f"{lprefix}-app", prefix=lprefix, outputs=f"{lprefix}.out"
    )
    worker.start()
    floors: dict[int, list[dict[str, Any]]] = {rate: [] for rate in rates}
    workers: dict[int, list[dict[str, Any]]] = {rate: [] for rate in rates}

    async def measure() -> None:
        cash = run.topic("txn.cash", lprefix)
        clock = AlertClock(await _assigned_consumer(run.bootstrap, f"{lprefix}.out.aml.alerts"))
        try:
            # warm-up: the worker is assigned and its agents running before anything is timed
            warm: dict[str, int] = {}
            await pace(run.bootstrap, cash, 20, 1.0, f"{lprefix}w", 1, warm)
            await clock.wait_for(warm, 120)
            if not set(warm) <= set(clock.alerted):
                raise TimeoutError("the worker raised no warm-up alert within 120s")
            for i in range(repeats):
                for rate in rates:
                    with no_collection():
                        floor = await floor_run(
                            run.bootstrap,
                            floor_topics[(rate, i)],
                            rate,
                            seconds,
                            f"F{rate}x{i}",
                            big_every,
                        )
                    floors[rate].append(floor)
                    log(f"raw-client floor at {rate}/s (run {i + 1}/{repeats}): {floor}")
                    with no_collection():
                        timed = await worker_latency_run(
                            run.bootstrap,
                            cash,
                            clock,
                            rate,
                            seconds,
                            big_every,
                            f"{lprefix}r{rate}x{i}",
                        )
                    workers[rate].append(timed)
                    log(f"worker latency at {rate}/s (run {i + 1}/{repeats}): {timed}")
                    await asyncio.sleep(2)
        finally:
            await clock.close()

    try:
        worker.wait_ready(timeout=min(120, deadline - time.monotonic()))
        asyncio.run(asyncio.wait_for(measure(), deadline - time.monotonic()))
        result["worker_peak_rss_bytes"] = peak_rss(worker.proc.pid)
    finally:
        worker.stop()
        for rate in rates:
            if floors[rate]:
                result["floor"][str(rate)] = median_run(floors[rate])
            if workers[rate]:
                result["worker"][str(rate)] = median_run(workers[rate])
    return result
