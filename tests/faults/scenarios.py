"""Fault scenarios against real Apache Kafka and redis-server, shared by the full suite
(`make faults`, tests/faults) and the short subset of `make test`
(tests/integration/test_faults_quick.py).

Every scenario feeds a deterministic stream of cash transactions whose alerts are known in
advance (`expected_findings`: the same rule core, run offline), injects one fault, and then
compares what reached the compliance queues (Redis Streams) and `aml.alerts` with that
expectation. It returns a `Row`; the caller asserts on it and may record it in
tests/faults/results.json (the source of RELIABILITY.md).

Sizes come from the environment: `MONITOR_FAULT_EVENTS` (default 5,000: the short subset),
`MONITOR_FAULT_KILLS` (default 5 at 50,000 events or more, else 2), `MONITOR_FAULT_SEED`.
Every wait is bounded and every process a scenario starts is stopped in a `finally`."""

from __future__ import annotations

import asyncio
import fcntl
import functools
import json
import os
import random
import re
import shutil
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2

from monitor.core.pack import load_pack
from monitor.io.devservers import KafkaServer, RedisServer
from monitor.io.devworker import WorkerProcess
from monitor.tools.scenario import Message, expected_findings
from tests.support.worker import consumed

EVENTS = int(os.environ.get("MONITOR_FAULT_EVENTS", "5000"))
KILLS = int(os.environ.get("MONITOR_FAULT_KILLS", "5" if EVENTS >= 50_000 else "2"))
SEED = int(os.environ.get("MONITOR_FAULT_SEED", "20260303"))
RESULTS = Path(__file__).with_name("results.json")

ROUNDS = 10  # transactions per customer; round n of every customer, then round n + 1
DAY1, DAY2 = "2026-03-03", "2026-03-04"
#: rules whose alerts the queue folds into an open item: the stream would not show each id
SUPPRESSED = {"KYC_HIGH_RISK_COUNTRY", "WATCHLIST_MATCH", "CDD_ONE_OFF", "CDD_AGENT"}
#: the time a scenario waits for the worker to deliver everything, per 1,000 alerts
DRAIN_S_PER_1000 = 30.0


# ----------------------------------------------------------------------------- stream


@functools.lru_cache(maxsize=4)
def build_stream(events: int = EVENTS, seed: int = SEED) -> list[Message]:
    """`events` cash transactions of `events // 10` customers, ten each, in rounds (every
    customer's n-th transaction, then every customer's (n+1)-th), so each customer's
    history is spread over the whole stream. Customers, drawn with `seed`:

    - 50 % ten deposits of 5,500-7,000 CNY on one day: LV_CASH (cumulative) on the 8th to
      10th, never within the first five;
    - 10 % the same as withdrawals: LV_CASH out;
    - 10 % alternate two days, 10,500-12,000 CNY: an LV_CASH per day, on the 5th deposit
      of that day (rounds 8 and 9);
    - 10 % three deposits of 45,000-49,999 CNY (90-100 % of the threshold) in rounds 1, 4,
      7 among small ones: LV_CASH at round 4 and STRUCTURING at round 7;
    - 20 % small deposits (100-4,000 CNY): no alert.
    So every alert but one type's LV_CASH needs transactions from both halves of the stream."""
    rng = random.Random(seed)
    customers = max(1, events // ROUNDS)
    plans: list[tuple[str, list[tuple[str, str, str]]]] = []  # cid, [(day, direction, amount)]
    for c in range(customers):
        cid = f"F{c:06d}"
        draw = rng.random()
        if draw < 0.5:
            txns = [(DAY1, "in", _cny(rng, 5500, 7000)) for _ in range(ROUNDS)]
        elif draw < 0.6:
            txns = [(DAY1, "out", _cny(rng, 5500, 7000)) for _ in range(ROUNDS)]
        elif draw < 0.7:
            txns = [
                (DAY1 if n % 2 == 0 else DAY2, "in", _cny(rng, 10500, 12000)) for n in range(ROUNDS)
            ]
        elif draw < 0.8:
            txns = [
                (DAY1, "in", _cny(rng, 45000, 49999) if n in (1, 4, 7) else _cny(rng, 100, 1000))
                for n in range(ROUNDS)
            ]
        else:
            txns = [(DAY1, "in", _cny(rng, 100, 4000)) for _ in range(ROUNDS)]
        plans.append((cid, txns))
    out: list[Message] = []
    for n in range(ROUNDS):
        for c, (cid, txns) in enumerate(plans):
            day, direction, amount = txns[n]
            out.append(
                Message(
                    "cash",
                    cid.encode(),
                    orjson.dumps(
                        {
                            "event_id": f"ev-{cid}-{n}",
                            "txn_id": f"tx-{cid}-{n}",
                            "customer_id": cid,
                            "account_id": f"AC{c:06d}",
                            "occurred_at": f"{day}T{8 + n:02d}:{c % 60:02d}:00+08:00",
                            "direction": direction,
                            "amount": amount,
                            "currency": "CNY",
                        }
                    ),
                )
            )
    return out


def _cny(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randrange(low * 100, high * 100) / 100:.2f}"


def expected_alerts(messages: list[Message]) -> dict[str, dict[str, Any]]:
    """alert id -> the alert (as JSON-like dict) the rule core raises offline over `messages`
    (computed once per stream and kept: every scenario of a session uses the same one)."""
    key = (len(messages), messages[0] if messages else None, messages[-1] if messages else None)
    if key not in _EXPECTED:
        _EXPECTED[key] = _expected_alerts(messages)
    return dict(_EXPECTED[key])


_EXPECTED: dict[tuple, dict[str, dict[str, Any]]] = {}


def _expected_alerts(messages: list[Message]) -> dict[str, dict[str, Any]]:
    findings, invalid = expected_findings(load_pack(), messages)
    assert invalid == 0
    # a same-day large-value report grows: a later version of an id replaces the earlier one
    # (consumers keep the latest), and only ever by adding evidence
    alerts: dict[str, dict[str, Any]] = {}
    for alert in findings.alerts:
        previous = alerts.get(alert.alert_id)
        if previous is not None:
            assert set(previous["evidence"]) <= set(alert.evidence), (
                f"the offline run raised {alert.alert_id} twice without growing it"
            )
        latest = orjson.loads(alert.model_dump_json())
        latest["_versions"] = [*(previous or {}).get("_versions", []), _facts(latest)]
        alerts[alert.alert_id] = latest
    assert not {a["rule_id"] for a in alerts.values()} & SUPPRESSED
    return alerts


# ----------------------------------------------------------------------------- observing


def wait_until(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    worker: WorkerProcess | None = None,
    poll: float = 0.05,
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if worker is not None and worker.proc is not None and worker.proc.poll() is not None:
            raise RuntimeError(
                f"{what}: the worker exited {worker.proc.returncode}\n{worker.log_text(80)}"
            )
        if time.monotonic() > deadline:
            tail = f"\n{worker.log_text(80)}" if worker is not None else ""
            raise TimeoutError(f"{what}: not after {timeout:.0f}s{tail}")
        time.sleep(poll)


def queue_streams(client: redis.Redis, prefix: str) -> list[bytes]:
    return sorted(client.scan_iter(match=f"{prefix}:queue:*", _type="STREAM", count=1000))


@functools.lru_cache(maxsize=1)
def _queue_names() -> tuple[str, ...]:
    config = load_pack().config
    return tuple(sorted(set(config.queues.values()) | {r.queue for r in config.routing}))


def queued_count(client: redis.Redis, prefix: str) -> int:
    """Entries in the pack's queues (cheap enough to poll; `queued_ids` reads every stream)."""
    try:
        pipe = client.pipeline(transaction=False)
        for name in _queue_names():
            pipe.xlen(f"{prefix}:queue:{name}")
        return sum(pipe.execute())
    except redis.exceptions.ConnectionError:
        return -1


def queued_alerts(client: redis.Redis, prefix: str) -> list[dict[str, Any]]:
    """Every alert in the worker's queue streams, one per entry (the entry's `alert` JSON)."""
    alerts: list[dict[str, Any]] = []
    for key in queue_streams(client, prefix):
        last = "-"
        while True:
            batch = client.xrange(key, min=last, count=10_000)
            if last != "-":
                batch = batch[1:]
            if not batch:
                break
            alerts.extend(orjson.loads(f[b"alert"]) for _, f in batch)
            last = batch[-1][0]
    return alerts


def metric(worker: WorkerProcess, name: str) -> float | None:
    """Sum of a metric's samples on the worker's /metrics; None when it cannot be read."""
    try:
        url = f"http://127.0.0.1:{worker.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except OSError:
        return None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + " ") or line.startswith(name + "{")
    )


def published(bootstrap: str, topic: str) -> int:
    """Messages written to `topic` so far (the sum of its partitions' end offsets): how far
    the worker's rule path has got, which runs well ahead of the Redis delivery."""

    async def _run() -> int:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()  # noqa: SLF001
                partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in partitions]
            return sum((await consumer.end_offsets(tps)).values()) if tps else 0
        finally:
            await consumer.stop()

    return asyncio.run(_run())


def read_to_end(bootstrap: str, topic: str, timeout: float = 180) -> list[bytes]:
    """Every value of `topic` up to the end offsets at the time of the call."""

    async def _run() -> list[bytes]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        await consumer.start()
        try:
            deadline = time.monotonic() + timeout
            partitions = consumer.partitions_for_topic(topic)
            while not partitions:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no partitions for {topic}")
                await consumer._client.force_metadata_update()  # noqa: SLF001
                await asyncio.sleep(0.2)
                partitions = consumer.partitions_for_topic(topic)
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.seek_to_beginning(*tps)
            values: list[bytes] = []
            while True:
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                    return values
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{topic} read to {positions} of {ends} in {timeout}s")
                batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for records in batch.values():
                    values.extend(r.value for r in records)
        finally:
            await consumer.stop()

    return asyncio.run(_run())


def produce_stream(
    bootstrap: str, worker: WorkerProcess, messages: list[Message], partitions: int = 4
) -> None:
    """Send `messages` to the worker's cash topic keyed by customer, on the partition a
    keyed Java or aiokafka producer chooses (murmur2), in order, in large batches."""
    topic = worker.topic("txn.cash")

    async def _run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            max_batch_size=512 * 1024,
            request_timeout_ms=60_000,
        )
        await producer.start()
        try:
            by_partition: dict[int, list[Message]] = {}
            for m in messages:
                by_partition.setdefault((murmur2(m.key) & 0x7FFFFFFF) % partitions, []).append(m)
            pending = []
            for partition, items in sorted(by_partition.items()):
                batch = producer.create_batch()
                for m in items:
                    if batch.append(key=m.key, value=m.value, timestamp=None) is None:
                        pending.append(await producer.send_batch(batch, topic, partition=partition))
                        batch = producer.create_batch()
                        batch.append(key=m.key, value=m.value, timestamp=None)
                pending.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*pending)
        finally:
            await producer.stop()

    asyncio.run(_run())


class Trickle:
    """Produces `messages` a slice at a time over `seconds` in a background thread (in
    order: a customer's messages keep their order), so events keep flowing through a fault
    however fast the worker is. `sent` counts the messages acknowledged so far; `join`
    re-raises a production failure in the caller's thread."""

    def __init__(
        self,
        bootstrap: str,
        worker: WorkerProcess,
        messages: list[Message],
        seconds: float,
        slices: int = 30,
    ) -> None:
        self.bootstrap, self.worker, self.messages = bootstrap, worker, messages
        self.seconds, self.slices = seconds, slices
        self.sent = 0
        self.failures: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="trickle", daemon=True)

    def start(self) -> Trickle:
        self.thread.start()
        return self

    def _run(self) -> None:
        begin, n = time.monotonic(), len(self.messages)
        try:
            for k in range(self.slices):
                part = self.messages[k * n // self.slices : (k + 1) * n // self.slices]
                produce_stream(self.bootstrap, self.worker, part)
                self.sent += len(part)
                time.sleep(
                    max(0.0, begin + (k + 1) * self.seconds / self.slices - time.monotonic())
                )
        except BaseException as exc:
            self.failures.append(exc)

    def join(self) -> None:
        self.thread.join()
        if self.failures:
            raise self.failures[0]

    def stop(self) -> None:
        """Wait a bounded time for a thread still producing (a test that failed early)."""
        if self.thread.is_alive():
            self.thread.join(timeout=self.seconds + 60)


# ----------------------------------------------------------------------------- results


@dataclass
class Row:
    fault: str
    injected: str
    events: int
    expected_alerts: int
    seen_once: int = 0  # expected ids exactly once in the compliance queues
    missing: int = 0  # expected ids absent from the queues or from aml.alerts
    doubled: int = 0  # ids more than once in the queues
    unexpected: int = 0  # ids in the queues the offline run did not raise
    missing_on_topic: int = 0
    wrong_content: int = 0  # ids whose queued or published alert differs from the expected one
    topic_copies: int = 0  # extra copies on aml.alerts (same id: allowed, at-least-once)
    run_time_s: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        assert self.missing == 0, f"{self.fault}: {self.missing} expected alerts missing: {self}"
        assert self.doubled == 0, f"{self.fault}: {self.doubled} alerts doubled: {self}"
        assert self.unexpected == 0, f"{self.fault}: {self.unexpected} unexpected alerts: {self}"
        assert self.wrong_content == 0, f"{self.fault}: {self.wrong_content} alerts differ: {self}"
        assert self.seen_once == self.expected_alerts, self


def tally(
    row: Row,
    expected_alerts: dict[str, dict[str, Any]],
    queued_alerts: list[dict[str, Any]],
    on_topic: list[bytes],
) -> Row:
    """Count against the offline expectation. Ids are derived from the facts that define a
    finding (rule, customer, day, direction), not from the amount: an event counted twice
    would raise the same id with another amount or evidence, so every queued entry and
    every copy on `aml.alerts` is also compared field by field (`detected_at` aside)."""
    expected = set(expected_alerts)
    published = [orjson.loads(v) for v in on_topic]
    counts = Counter(a["alert_id"] for a in queued_alerts)
    topic_counts = Counter(a["alert_id"] for a in published)
    # the queue holds the latest version of each finding; the topic holds every version
    # written (a grown day report is published again under its id), each one the offline
    # run also produced
    wrong = {
        a["alert_id"]
        for a in queued_alerts
        if a["alert_id"] in expected_alerts and _facts(a) != _facts(expected_alerts[a["alert_id"]])
    } | {
        a["alert_id"]
        for a in published
        if a["alert_id"] in expected_alerts
        and _facts(a) not in expected_alerts[a["alert_id"]]["_versions"]
    }
    row.wrong_content = len(wrong)
    if wrong:
        row.details["wrong_content_sample"] = sorted(wrong)[:5]
    row.seen_once = sum(1 for i in expected if counts.get(i) == 1)
    missing_queue = expected - counts.keys()
    missing_topic = expected - topic_counts.keys()
    row.missing = len(missing_queue | missing_topic)
    row.missing_on_topic = len(missing_topic)
    row.doubled = sum(1 for c in counts.values() if c > 1)
    row.unexpected = len(counts.keys() - expected)
    row.topic_copies = sum(c - 1 for c in topic_counts.values())
    row.details.setdefault("alerts_on_topic", len(on_topic))
    if missing_queue:
        row.details["missing_in_queue_sample"] = sorted(missing_queue)[:5]
    return row


def record(row: Row, path: Path = RESULTS) -> None:
    """Replace the row of `row.fault` in the results file (a JSON object by fault name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with (Path(tempfile.gettempdir()) / "monitor-fault-results.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[row.fault] = dict(
            asdict(row), recorded_at=datetime.now(UTC).isoformat(timespec="seconds")
        )
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------- helpers


def _worker(
    bootstrap: str, redis_url: str, workdir: Path, prefix: str | None = None, **env: object
) -> WorkerProcess:
    extra = {"MONITOR_STORE": "rocksdb", "MONITOR_DATA_DIR": str(workdir / "state")}
    extra.update({f"MONITOR_{k.upper()}": str(v) for k, v in env.items()})
    worker = WorkerProcess(bootstrap, redis_url, workdir, extra_env=extra)
    if prefix:
        worker.prefix = prefix
    return worker


def _drain_timeout(alerts: int) -> float:
    return 120 + DRAIN_S_PER_1000 * alerts / 1000


def _start_and_apply(
    bootstrap: str,
    workers: tuple[WorkerProcess, ...],
    messages: list[Message],
    alerts: int,
    interval: float,
    until: Callable[[], bool] | None = None,
    what: str = "",
) -> None:
    """Start `workers` (one consumer group) in turn, produce `messages` and wait until
    `until` holds, by default until the first worker has applied them all (the part of a
    stream before a fault); `alerts` sizes the wait, `what` names it, and the wait fails
    early if the last worker dies."""
    for worker in workers:
        worker.start()
        worker.wait_ready(120)
    first = workers[0]
    produce_stream(bootstrap, first, messages)
    wait_until(
        until or (lambda: (consumed(first) or 0) >= len(messages)),
        _drain_timeout(alerts),
        what or f"{len(messages)} events applied",
        workers[-1],
        interval,
    )


def _finish(
    row: Row,
    client: redis.Redis,
    bootstrap: str,
    worker: WorkerProcess,
    expected: dict[str, Any],
    started: float,
    watch: WorkerProcess | None = None,
) -> Row:
    """Wait until every expected id is queued, let late copies arrive, and count."""
    want = len(expected)
    try:
        wait_until(
            lambda: queued_count(client, worker.prefix) >= want,
            _drain_timeout(want),
            f"{want} alerts in the queues",
            watch or worker,
            poll=0.5,
        )
    except TimeoutError as exc:  # count what did arrive: the row shows what is missing
        row.details["timed_out"] = str(exc).splitlines()[0]
    time.sleep(2)  # anything doubled would arrive now
    queued = queued_alerts(client, worker.prefix)
    on_topic = read_to_end(bootstrap, worker.topic("aml.alerts"))
    row.run_time_s = round(time.monotonic() - started, 1)
    return tally(row, expected, queued, on_topic)


# ----------------------------------------------------------------------------- scenarios


def sigkill_restarts(
    kafka: KafkaServer,
    redis_server: RedisServer,
    workdir: Path,
    events: int = EVENTS,
    kills: int = KILLS,
    seed: int = SEED,
) -> Row:
    """The worker SIGKILLed at `kills` seeded random points of the stream, restarted each
    time on the same data dir. The first half of the points (the earlier ones) are a
    fraction of the expected alerts published on `aml.alerts` (the rule path mid-stream),
    the rest a fraction delivered to Redis (the delivery mid-stream), all while the stream
    is still being produced."""
    started = time.monotonic()
    messages = build_stream(events, seed)
    expected = expected_alerts(messages)
    rng = random.Random(seed)
    points = sorted(rng.uniform(0.05, 0.9) for _ in range(kills))
    client = redis.Redis.from_url(redis_server.url)
    worker = _worker(kafka.bootstrap, redis_server.url, workdir)
    alerts_topic = worker.topic("aml.alerts")
    row = Row(
        "worker SIGKILL at random points",
        f"SIGKILL to the worker's process group at {kills} "
        "seeded random points (the earlier half a fraction of the expected alerts "
        "published, the rest a fraction in Redis), restart on the same RocksDB dir",
        len(messages),
        len(expected),
    )
    killed_at: list[dict[str, Any]] = []
    # produced over a while that outlasts the restarts (several seconds each), so every
    # kill finds the stream still flowing. Most alerts come from the last third of the
    # stream (same-day sums cross the threshold late): produced over 5 s, the batched
    # delivery had queued every alert by the time a restarted worker reached a second point
    feeder = Trickle(kafka.bootstrap, worker, messages, max(30.0 * kills, len(messages) / 2_000))
    try:
        worker.start()
        worker.wait_ready(120)
        feeder.start()
        for index, point in enumerate(points):
            target = int(point * len(expected))
            if index < (kills + 1) // 2:
                progress, what = (lambda: published(kafka.bootstrap, alerts_topic)), "published"
            else:
                progress, what = (lambda: queued_count(client, worker.prefix)), "queued"
            wait_until(
                lambda t=target, p=progress: p() >= t,
                _drain_timeout(len(expected)),
                f"progress to {target} alerts {what}",
                worker,
            )
            if queued_count(client, worker.prefix) >= len(expected):
                break
            worker.kill()
            killed_at.append(
                {
                    "trigger": what,
                    "produced": feeder.sent,
                    "published": published(kafka.bootstrap, alerts_topic),
                    "queued": queued_count(client, worker.prefix),
                }
            )
            worker.start()
            worker.wait_ready(120)
        feeder.join()
        row = _finish(row, client, kafka.bootstrap, worker, expected, started)
    finally:
        feeder.stop()
        worker.stop()
    row.details.update(
        kills=len(killed_at), killed_at=killed_at, kill_points=[round(p, 3) for p in points]
    )
    assert len(killed_at) == kills, (
        f"only {len(killed_at)} of {kills} kills: the stream ended first"
    )
    return row


def _pair(
    kafka: KafkaServer,
    redis_server: RedisServer,
    workdir: Path,
    events: int,
    seed: int,
    point_seed: int,
) -> tuple[
    list[Message], dict[str, dict[str, Any]], float, redis.Redis, WorkerProcess, WorkerProcess
]:
    """The stream, its expected alerts, a seeded point (20-60 %) of it, a Redis client and
    two workers (not started) of one consumer group, for the group scenarios."""
    messages = build_stream(events, seed)
    point = random.Random(point_seed).uniform(0.2, 0.6)
    first = _worker(kafka.bootstrap, redis_server.url, workdir / "a")
    second = _worker(kafka.bootstrap, redis_server.url, workdir / "b", prefix=first.prefix)
    return (
        messages,
        expected_alerts(messages),
        point,
        redis.Redis.from_url(redis_server.url),
        first,
        second,
    )


def group_member_killed(
    kafka: KafkaServer,
    redis_server: RedisServer,
    workdir: Path,
    events: int = EVENTS,
    seed: int = SEED,
) -> Row:
    """Two workers in one consumer group share the partitions; one is SIGKILLed mid-stream
    (a seeded fraction of the events applied by the two, so the rule path is mid-stream)
    and not restarted: the survivor takes its partitions (state from the changelog)."""
    started = time.monotonic()
    messages, expected, point, client, first, second = _pair(
        kafka, redis_server, workdir, events, seed, seed + 1
    )
    row = Row(
        "group member SIGKILL",
        "two workers, one group (same app id); SIGKILL to one "
        f"at a seeded random point ({point:.0%} of the events applied by the two), not "
        "restarted",
        len(messages),
        len(expected),
    )
    target = int(point * len(messages))
    try:
        _start_and_apply(
            kafka.bootstrap,
            (first, second),
            messages,
            len(expected),
            0.05,
            lambda: (
                (consumed(second) or 0) > 0
                and (consumed(first) or 0) > 0
                and (consumed(first) or 0) + (consumed(second) or 0) >= target
            ),
            "both workers consuming",
        )
        share = {"survivor": consumed(first), "killed": consumed(second)}
        second.kill()
        at = queued_count(client, first.prefix)
        mid_stream = sum(v or 0 for v in share.values()) < len(messages)
        if len(messages) >= 50_000:  # short smoke runs may overshoot; the measured run may not
            assert mid_stream, "the stream ended before the kill: raise MONITOR_FAULT_EVENTS"
        row.details.update(
            killed_at_alerts_queued=at, consumed_before_kill=share, rule_path_mid_stream=mid_stream
        )
        row = _finish(row, client, kafka.bootstrap, first, expected, started)
        assert first.proc is not None and first.proc.poll() is None, "the survivor died"
    finally:
        second.stop()
        first.stop()
    return row


def worker_joins(
    kafka: KafkaServer,
    redis_server: RedisServer,
    workdir: Path,
    events: int = EVENTS,
    seed: int = SEED,
    trickle_s: float = 30.0,
) -> Row:
    """Scaling out mid-stream: one worker applies the first part of the stream (a seeded
    fraction); the rest is then produced a slice at a time over `trickle_s` seconds while a
    second worker with the same app id starts and takes half the partitions (the first one
    gives them up with a batch in hand, the second rebuilds their state from the changelog).
    Producing the rest slowly keeps events flowing through the join however fast the rule
    path is (produced at once, the first worker finished before the second had started)."""
    started = time.monotonic()
    messages, expected, point, client, first, second = _pair(
        kafka, redis_server, workdir, events, seed, seed + 2
    )
    row = Row(
        "worker joins mid-stream",
        "one worker applies a seeded share of the stream "
        f"({point:.0%}); the rest is produced over {trickle_s:.0f} s while a second "
        "worker with the same app id starts: a rebalance moves half the partitions while "
        "events flow",
        len(messages),
        len(expected),
    )
    cut = int(point * len(messages))
    feeder: Trickle | None = None
    try:
        _start_and_apply(kafka.bootstrap, (first,), messages[:cut], len(expected), 0.05)
        before = consumed(first) or 0
        feeder = Trickle(kafka.bootstrap, first, messages[cut:], trickle_s).start()
        second.start()
        second.wait_ready(120)
        joined_at = consumed(first) or 0
        feeder.join()
        row = _finish(row, client, kafka.bootstrap, first, expected, started)
        row.details.update(
            applied_before_join=before,
            applied_when_second_ready=joined_at,
            second_applied=consumed(second),
            rule_path_mid_stream=joined_at < len(messages),
        )
        assert second.proc is not None and second.proc.poll() is None, "the new worker died"
        assert joined_at < len(messages), "the stream ended before the second worker was ready"
        assert (consumed(second) or 0) > 0, "the new worker got no events"
    finally:
        if feeder is not None:
            feeder.stop()
        second.stop()
        first.stop()
    return row


def kafka_restart(
    redis_server: RedisServer,
    workdir: Path,
    events: int = EVENTS,
    seed: int = SEED,
    down_s: float = 5.0,
) -> Row:
    """A dedicated Kafka (one KRaft JVM) stopped with SIGTERM mid-stream and started again
    on the same data dir after `down_s`; the first 60 % of the stream is produced before,
    the rest after. The worker is never restarted by the test."""
    started = time.monotonic()
    messages = build_stream(events, seed)
    expected = expected_alerts(messages)
    cut = int(len(messages) * 0.6)
    point = random.Random(seed + 2).uniform(0.2, 0.8)
    client = redis.Redis.from_url(redis_server.url)
    kafka = KafkaServer()
    worker: WorkerProcess | None = None
    row = Row(
        "Kafka restart",
        f"broker JVM stopped (SIGTERM), down {down_s:.0f}s, started "
        "again on the same ports and data dir; 60 % of the stream produced before, 40 % "
        "after",
        len(messages),
        len(expected),
    )
    try:
        kafka.start()
        worker = _worker(kafka.bootstrap, redis_server.url, workdir)
        target = int(point * cut)
        _start_and_apply(
            kafka.bootstrap,
            (worker,),
            messages[:cut],
            len(expected),
            0.1,
            lambda: (consumed(worker) or 0) >= target,
            f"{target} events consumed",
        )
        before = consumed(worker)
        restart_started = time.monotonic()
        kafka.restart(down_s=down_s)
        row.details.update(
            consumed_at_stop=before, broker_restart_s=round(time.monotonic() - restart_started, 1)
        )
        produce_stream(kafka.bootstrap, worker, messages[cut:])
        row = _finish(row, client, kafka.bootstrap, worker, expected, started)
        row.details["worker_survived"] = worker.proc is not None and worker.proc.poll() is None
        assert row.details["worker_survived"], f"the worker died:\n{worker.log_text(80)}"
    finally:
        if worker is not None:
            worker.stop()
        kafka.stop()
    return row


def redis_outage(
    kafka: KafkaServer,
    workdir: Path,
    events: int = EVENTS,
    seed: int = SEED,
    outage_s: float = 30.0,
) -> Row:
    """A dedicated redis-server shut down (SHUTDOWN SAVE, as a restart with persistence
    would) while the worker is delivering, kept away `outage_s`, started again on the same
    port and directory. The worker must stay up and `monitor_redis_backlog` must rise and
    fall back to 0."""
    started = time.monotonic()
    messages = build_stream(events, seed)
    expected = expected_alerts(messages)
    redis_srv = RedisServer()
    worker: WorkerProcess | None = None
    row = Row(
        f"Redis stopped {int(outage_s)}s",
        f"redis-server shut down (SHUTDOWN SAVE) at 10 % "
        f"of the alerts delivered, away {outage_s:.0f}s, restarted on the same port and "
        "dump",
        len(messages),
        len(expected),
    )
    try:
        redis_srv.start()
        client = redis.Redis.from_url(redis_srv.url)
        # gauges (backlog included) every 2 s instead of 15 so that the outage is seen; they
        # also read every open queue entry, so the other scenarios keep the default
        worker = _worker(kafka.bootstrap, redis_srv.url, workdir, gauges_interval_s=2)
        target = max(1, len(expected) // 10)
        _start_and_apply(
            kafka.bootstrap,
            (worker,),
            messages,
            len(expected),
            0.05,
            lambda: queued_count(client, worker.prefix) >= target,
            f"{target} alerts before the outage",
        )
        before = queued_count(client, worker.prefix)
        client.shutdown(save=True)
        redis_srv.proc.wait(30)
        outage_end = time.monotonic() + outage_s
        peak = 0.0
        backlog_series: list[float] = []
        while time.monotonic() < outage_end:
            assert worker.proc.poll() is None, f"the worker died:\n{worker.log_text(80)}"
            value = metric(worker, "monitor_redis_backlog")
            if value is not None:
                peak = max(peak, value)
                backlog_series.append(value)
            time.sleep(1)
        errors = metric(worker, "monitor_redis_errors_total") or 0
        redis_srv.start()
        client = redis.Redis.from_url(redis_srv.url)
        after_restart = queued_count(client, worker.prefix)
        assert after_restart >= before, "the dump did not come back"
        row = _finish(row, client, kafka.bootstrap, worker, expected, started)
        wait_until(
            lambda: metric(worker, "monitor_redis_backlog") == 0,
            60,
            "monitor_redis_backlog back to 0",
            worker,
            0.5,
        )
        alive = worker.proc.poll() is None
        row.details.update(
            queued_before_outage=before,
            queued_after_restart=after_restart,
            backlog_peak=peak,
            backlog_after=metric(worker, "monitor_redis_backlog"),
            redis_errors_during_outage=errors,
            worker_survived=alive,
        )
        assert alive, "the worker died"
        assert peak >= 1, f"monitor_redis_backlog never rose during the outage: {backlog_series}"
        assert errors >= 1
    finally:
        if worker is not None:
            worker.stop()
        redis_srv.stop()
    return row


def state_dir_deleted(
    kafka: KafkaServer,
    redis_server: RedisServer,
    workdir: Path,
    events: int = EVENTS,
    seed: int = SEED,
) -> Row:
    """Run 1 gets the first five transactions of every customer, is stopped, its
    MONITOR_DATA_DIR (RocksDB) is deleted; run 2 gets the rest. The alerts raised in run 2
    (most need run 1's totals) must equal those of an uninterrupted offline run: same ids,
    amounts, evidence and summaries."""
    started = time.monotonic()
    messages = build_stream(events, seed)
    half = len(messages) // 2
    expected = expected_alerts(messages)
    expected_first = expected_alerts(messages[:half])
    later = {i: a for i, a in expected.items() if i not in expected_first}
    first_txns = {orjson.loads(m.value)["txn_id"] for m in messages[:half]}
    needs_run1 = sum(1 for a in later.values() if first_txns & set(a["evidence"]))
    without_state = set(expected_alerts(messages[half:])) & set(later)  # the control
    client = redis.Redis.from_url(redis_server.url)
    worker = _worker(kafka.bootstrap, redis_server.url, workdir)
    state_dir = workdir / "state"
    row = Row(
        "state dir deleted",
        "MONITOR_DATA_DIR (RocksDB) removed between two runs: first "
        "half of every customer's transactions before, second half after",
        len(messages),
        len(expected),
    )
    try:
        _start_and_apply(kafka.bootstrap, (worker,), messages[:half], len(expected), 0.5)
        wait_until(
            lambda: queued_count(client, worker.prefix) >= len(expected_first),
            _drain_timeout(len(expected)),
            "run 1's alerts queued",
            worker,
            0.2,
        )
        time.sleep(2)
        worker.stop()
        files = sum(1 for p in state_dir.rglob("*") if p.is_file())
        assert files > 0, f"no local state in {state_dir}"
        shutil.rmtree(state_dir)
        worker.start()
        worker.wait_ready(180)
        produce_stream(kafka.bootstrap, worker, messages[half:])
        row = _finish(row, client, kafka.bootstrap, worker, expected, started)
        log = worker.logs[-1].read_text(errors="replace")
        changelog_records = _changelog_records(log)
        restored = changelog_records > 0
    finally:
        worker.stop()
    # every alert, the later ones included, was compared field by field by `tally`
    row.details.update(
        files_deleted=files,
        later_alerts=len(later),
        later_alerts_needing_run1_state=needs_run1,
        later_alerts_without_state_offline=len(without_state),
        restored_from_changelog=restored,
        changelog_records_at_restore=changelog_records,
    )
    assert restored, "no changelog restore in the second run's log"
    return row


def _facts(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k != "detected_at" and not k.startswith("_")}


def _changelog_records(log: str) -> int:
    """Changelog records the worker read to rebuild its state (its assignment log lines)."""
    total = 0
    for match in re.finditer(r"state brought up to date from the changelog \((\d+) records\)", log):
        total += int(match.group(1))
    return total
