"""The benchmark of issue 8, in one run: `python -m bench.run [--quick]`.

Starts one Apache Kafka (monitor.io.devservers.KafkaServer) and one redis-server on loopback,
loads simulated bank traffic (`monitor.tools.simulate`) into four input topics, and measures on
that same data, one after the other:

1. the ceiling: a raw aiokafka consumer decoding and validating every message;
2. the naive baseline: a plain Faust agent with default settings (bench/faust_baseline.py);
3. `monitor worker` with the full default pack (memory store, then RocksDB): events/s from
   first to last event, CPU seconds, peak RSS;
4. two workers in one consumer group;
5. `monitor replay` (in its own process): events/s, peak RSS;
6. end-to-end latency at fixed input rates, and a raw consumer's latency as the floor;
7. the memory of the per-customer state at 100,000 and 1,000,000 customers.

Every phase has a hard time limit and every process it starts is stopped, even on failure;
a failed phase is recorded under `errors` and the others still run. Prints a table and
writes `bench/results.json`. The phases also run as subprocesses of this module
(`python -m bench.run _ceiling ...`), so their memory and CPU are their own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"

#: default input topic -> kind (as monitor.tools.simulate.TOPIC_FILES and monitor.core.decode.KINDS)
TOPIC_KINDS = {
    "kyc.account-openings": "account_opening",
    "kyc.customer-updates": "customer_update",
    "txn.cash": "cash",
    "txn.remittances": "remittance",
}
#: default topic -> Settings field
TOPIC_SETTINGS = {
    "kyc.account-openings": "topic_account_openings",
    "kyc.customer-updates": "topic_customer_updates",
    "txn.cash": "topic_cash",
    "txn.remittances": "topic_remittances",
}
PHASES = (
    "ceiling",
    "baseline",
    "worker",
    "worker_rocksdb",
    "two_workers",
    "replay",
    "latency",
    "memory",
)
CLK_TCK = os.sysconf("SC_CLK_TCK")
#: a throughput phase whose count has not moved for this long is stopped as stalled
STALL_S = 60.0
#: how often a worker's /metrics is read (each read costs the worker a little CPU)
POLL_S = 0.25


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- /proc --------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` and its descendants, in seconds."""
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)
    return total / CLK_TCK


def status_bytes(pid: int | str, key: str) -> int:
    """A `kB` line of /proc/<pid>/status (VmHWM, VmRSS) in bytes; 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def peak_rss(pid: int) -> int:
    """The largest VmHWM in the process tree of `pid`."""
    return max((status_bytes(p, "VmHWM") for p in process_tree(pid)), default=0)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


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


# -- Kafka helpers --------------------------------------------------------------------------


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


def scrape(port: int) -> tuple[float, float] | None:
    """(monitor_processing_seconds_count, monitor_events_duplicate_total) of a worker."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            body = response.read().decode()
    except OSError:
        return None
    processed = re.search(r"^monitor_processing_seconds_count (\S+)$", body, re.M)
    duplicates = re.search(r"^monitor_events_duplicate_total (\S+)$", body, re.M)
    return (
        float(processed.group(1)) if processed else 0.0,
        float(duplicates.group(1)) if duplicates else 0.0,
    )


# -- the run's context ---------------------------------------------------------------------


@dataclass
class Run:
    args: argparse.Namespace
    tmp: Path
    bootstrap: str = ""
    redis_url: str = ""
    prefix: str = field(default_factory=lambda: f"b{uuid.uuid4().hex[:8]}")
    stoppables: list[Any] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    valid_events: int = 0
    produced: int = 0

    def topic(self, name: str, prefix: str | None = None) -> str:
        return f"{prefix or self.prefix}.{name}"

    def phase(self, name: str, fn: Callable[[float], dict[str, Any]], limit: float) -> None:
        """Run one phase under a time limit (enforced inside `fn`); record its result or error."""
        log(f"== {name} (limit {limit:.0f}s)")
        started = time.monotonic()
        load = loadavg()
        try:
            self.results[name] = fn(limit)
            self.results[name]["loadavg_before_after"] = [load[0], loadavg()[0]]
        except Exception as exc:
            self.errors[name] = f"{type(exc).__name__}: {exc}"[:2000]
            log(f"{name} FAILED: {self.errors[name]}")
            traceback.print_exc()
        finally:
            log(f"== {name} done in {time.monotonic() - started:.1f}s")

    def sub(self, name: str, argv: list[str], limit: float) -> dict[str, Any]:
        """Run `python -m bench.run <argv>` under `limit`; its last stdout line is JSON."""
        log_path = self.tmp / f"{name}.log"
        with log_path.open("ab") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.run", *argv],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
            self.stoppables.append(proc)
            try:
                out, _ = proc.communicate(timeout=limit)
            except subprocess.TimeoutExpired:
                _killpg(proc)
                raise TimeoutError(f"{name} exceeded its {limit:.0f}s limit") from None
        if proc.returncode != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"{name} exited {proc.returncode}:\n{tail}")
        return json.loads(out.decode().strip().splitlines()[-1])

    def stop_all(self) -> None:
        for thing in reversed(self.stoppables):
            try:
                if isinstance(thing, subprocess.Popen):
                    if thing.poll() is None:
                        _killpg(thing, signal.SIGTERM)
                else:
                    thing.stop()
            except Exception as exc:
                log(f"stopping {thing!r}: {exc}")
        self.stoppables.clear()


def _killpg(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# -- phase 0: data ---------------------------------------------------------------------------


def plan_simulation(events: int, customers: int) -> tuple[int, float]:
    """(days, events per customer-day) so that simulate() gives about `events`: one opening
    per customer plus days x rate ordinary events (the typologies add about 1 %)."""
    per_customer = max(events / customers - 1.0, 0.2)
    days = max(1, min(90, round(per_customer / 0.6)))
    return days, per_customer / days


def load_data(run: Run, limit: float) -> dict[str, Any]:
    from monitor.tools.simulate import simulate

    deadline = time.monotonic() + limit
    days, rate = plan_simulation(run.args.events, run.args.customers)
    started = time.perf_counter()
    sim = simulate(run.args.customers, days, run.args.seed, events_per_customer_day=rate)
    records: list[tuple[str, bytes, bytes]] = []
    per_topic = {}
    for topic in TOPIC_KINDS:
        values = sim.sorted_events(topic)
        per_topic[topic] = len(values)
        records.extend(
            (run.topic(topic), v["customer_id"].encode(), orjson.dumps(v)) for v in values
        )
    generated_s = time.perf_counter() - started
    del sim
    gc.collect()
    total_bytes = sum(len(v) for _, _, v in records)
    log(
        f"simulated {len(records):,} events ({days} days x {rate:.3f}/customer-day) in {generated_s:.1f}s"
    )
    if time.monotonic() > deadline:
        raise TimeoutError("generation used the whole time limit")

    async def go(batch: list[tuple[str, bytes, bytes]]) -> tuple[int, float]:
        await create_topics(run.bootstrap, [run.topic(t) for t in TOPIC_KINDS], run.args.partitions)
        return await asyncio.wait_for(produce(run.bootstrap, batch), deadline - time.monotonic())

    count, seconds = asyncio.run(go(records))
    run.produced = count
    run.valid_events = count
    del records
    gc.collect()
    log(f"produced {count:,} events in {seconds:.1f}s ({count / seconds:,.0f}/s)")
    return {
        "events": count,
        "customers": run.args.customers,
        "days": days,
        "events_per_customer_day": round(rate, 4),
        "per_topic": per_topic,
        "mean_value_bytes": round(total_bytes / max(count, 1), 1),
        "simulate_seconds": round(generated_s, 1),
        "produce_seconds": round(seconds, 2),
        "produce_events_per_s": round(count / seconds),
    }


# -- phase: ceiling (subprocess) -----------------------------------------------------------------


async def _ceiling(bootstrap: str, prefix: str, max_records: int) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from monitor.core.decode import Decoder, Rejection
    from monitor.core.pack import load_pack

    decoder = Decoder(load_pack().fx)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=10
    )
    await consumer.start()
    try:
        kinds: dict[str, str] = {}
        tps = []
        for topic, kind in TOPIC_KINDS.items():
            name = f"{prefix}.{topic}"
            kinds[name] = kind
            tps += [TopicPartition(name, p) for p in await topic_partitions(consumer, name)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        valid = invalid = 0
        first = None
        cpu0 = time.process_time()
        while remaining:
            batch = await consumer.getmany(timeout_ms=500, max_records=max_records)
            if first is None and batch:
                first = time.perf_counter()
                cpu0 = time.process_time()
            for tp, records in batch.items():
                decode = decoder.decode
                kind = kinds[tp.topic]
                for record in records:
                    if isinstance(decode(kind, record.value), Rejection):
                        invalid += 1
                    else:
                        valid += 1
                if records and records[-1].offset + 1 >= end[tp]:
                    remaining.discard(tp)
        last = time.perf_counter()
        seconds = last - (first or last)
        return {
            "events": valid + invalid,
            "valid": valid,
            "invalid": invalid,
            "seconds": round(seconds, 3),
            "events_per_s": round((valid + invalid) / seconds) if seconds else None,
            "cpu_seconds": round(time.process_time() - cpu0, 2),
            "peak_rss_bytes": status_bytes("self", "VmHWM"),
            "max_records": max_records,
            "fetch_max_wait_ms": 10,
        }
    finally:
        await consumer.stop()


def ceiling_phase(run: Run, limit: float) -> dict[str, Any]:
    result = run.sub(
        "ceiling",
        ["_ceiling", "--bootstrap", run.bootstrap, "--prefix", run.prefix, "--max-records", "5000"],
        limit,
    )
    run.valid_events = result["valid"]
    log(f"ceiling: {result['events_per_s']:,} events/s ({result['valid']:,} valid)")
    return result


# -- phase: the naive Faust baseline ---------------------------------------------------------


def baseline_phase(run: Run, limit: float) -> dict[str, Any]:
    stats_path = run.tmp / "baseline-stats.json"
    data_dir = run.tmp / "baseline-data"
    env = dict(os.environ)
    env.update(
        {
            "BENCH_BOOTSTRAP": run.bootstrap,
            "BENCH_TOPICS": ",".join(run.topic(t) for t in TOPIC_KINDS),
            "BENCH_CASH_TOPIC": run.topic("txn.cash"),
            "BENCH_APP_ID": f"{run.prefix}-baseline",
            "BENCH_PARTITIONS": str(run.args.partitions),
            "BENCH_EXPECT": str(run.produced),
            "BENCH_STATS": str(stats_path),
            "BENCH_DATADIR": str(data_dir),
        }
    )
    log_path = run.tmp / "baseline.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.faust_baseline", "worker", "-l", "warn"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run.stoppables.append(proc)
    started = time.monotonic()
    deadline = started + limit
    cpu_first = None
    stats: dict[str, Any] = {}
    incomplete = stalled = False
    seen_count, progressed = 0, started
    try:
        while True:
            if proc.poll() is not None:
                tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
                raise RuntimeError(f"baseline exited {proc.returncode}:\n{tail}")
            try:
                stats = orjson.loads(stats_path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                stats = {}
            if stats.get("count") and cpu_first is None:
                cpu_first = cpu_seconds(proc.pid)
            if stats.get("final") or stats.get("count", 0) >= run.produced:
                break
            now = time.monotonic()
            if stats.get("count", 0) != seen_count:
                seen_count, progressed = stats.get("count", 0), now
            if now > deadline or (seen_count and now - progressed > STALL_S):
                incomplete = True
                stalled = now <= deadline
                break
            time.sleep(0.2)
        cpu_last = cpu_seconds(proc.pid)
        rss = peak_rss(proc.pid)
    finally:
        _killpg(proc, signal.SIGTERM)
    count = stats.get("count", 0)
    seconds = (stats["last"] - stats["first"]) if count > 1 else 0.0
    rate = round((count - 1) / seconds) if seconds else None
    log(
        f"faust baseline: {rate} events/s over {count:,} events{' (INCOMPLETE)' if incomplete else ''}"
    )
    return {
        "events": count,
        "seconds": round(seconds, 2),
        "events_per_s": rate,
        "incomplete": incomplete,
        "stalled": stalled,
        "cpu_seconds": round(cpu_last - (cpu_first or 0), 2),
        "peak_rss_bytes": rss,
    }


# -- phase: monitor worker(s) ---------------------------------------------------------------


def _worker(
    run: Run,
    tag: str,
    index: int,
    store: str,
    app_id: str,
    prefix: str | None = None,
    outputs: str | None = None,
) -> Any:
    from tests.support.worker import WorkerProcess

    out = outputs or f"{run.prefix}.{tag}"
    extra = {
        "MONITOR_APP_ID": app_id,
        "MONITOR_STORE": store,
        "MONITOR_PARTITIONS": str(run.args.partitions),
        "MONITOR_METRICS_HOST": "127.0.0.1",
        "MONITOR_TOPIC_ALERTS": f"{out}.aml.alerts",
        "MONITOR_TOPIC_REID_TASKS": f"{out}.aml.reid-tasks",
        "MONITOR_TOPIC_DEAD_LETTERS": f"{out}.aml.dead-letters",
        "MONITOR_QUEUE_PREFIX": f"{out}:queue:",
    }
    worker = WorkerProcess(
        run.bootstrap,
        run.redis_url,
        run.tmp / tag / f"w{index}",
        prefix=prefix or run.prefix,
        extra_env=extra,
    )
    run.stoppables.append(worker)
    return worker


def _start_profile(run: Run, pid: int) -> subprocess.Popen | None:
    """py-spy for 20 s on the worker (collapsed stacks), if it is installed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        log("py-spy not found: no profile (pip install py-spy)")
        return None
    proc = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            "20",
            "--rate",
            "100",
            "--threads",
            "--idle",
            "--format",
            "raw",
            "--output",
            str(run.args.profile_worker),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(run.tmp / "py-spy.log").open("ab"),
        start_new_session=True,
    )
    run.stoppables.append(proc)
    log(f"profiling the worker (pid {pid}) for 20 s into {run.args.profile_worker}")
    return proc


def workers_phase(run: Run, limit: float, tag: str, store: str, count: int) -> dict[str, Any]:
    """Start `count` workers in one fresh group on the loaded topics; time them from the
    first to the last event processed by the rules stage."""
    app_id = f"{run.prefix}-{tag}"
    workers = [_worker(run, tag, i, store, app_id) for i in range(count)]
    expect = run.valid_events
    started = time.monotonic()
    for w in workers:
        w.start()
    deadline = started + limit
    first_t = both_t = None
    first_n = both_n = 0
    last_t = started
    cpu_first = 0.0
    incomplete = stalled = False
    done = seen_done = dups = 0
    progressed = started
    profile: subprocess.Popen | None = None
    try:
        while True:
            for w in workers:
                if w.proc.poll() is not None:
                    raise RuntimeError(f"worker exited {w.proc.returncode}:\n{w.log_text(25)}")
            counts = [scrape(w.metrics_port) for w in workers]
            now = time.monotonic()
            done = int(sum(c[0] for c in counts if c))
            dups = int(sum(c[1] for c in counts if c))
            if done and first_t is None:
                first_t, first_n = now, done
                cpu_first = sum(cpu_seconds(w.proc.pid) for w in workers)
            if count > 1 and both_t is None and all(c and c[0] > 0 for c in counts):
                both_t, both_n = now, done
            if done != seen_done:
                seen_done, progressed = done, now
            # processing_seconds counts every event of the rules stage; should a version
            # leave duplicates out of it, the duplicate counter completes the count
            if done >= expect:
                last_t = now
                break
            if done + dups >= expect and now - progressed >= 2:
                last_t = progressed
                break
            if now > deadline or (done and now - progressed > STALL_S):
                incomplete = True
                stalled = now <= deadline
                last_t = progressed
                break
            if (
                profile is None
                and first_t is not None
                and run.args.profile_worker
                and tag == "worker"
            ):
                profile = _start_profile(run, workers[0].proc.pid)
            time.sleep(POLL_S)
        cpu_last = sum(cpu_seconds(w.proc.pid) for w in workers)
        duplicates = dups
        rss = [peak_rss(w.proc.pid) for w in workers]
    finally:
        if profile is not None:
            try:
                profile.wait(30)
            except subprocess.TimeoutExpired:
                _killpg(profile)
        for w in workers:
            w.stop()
    seconds = last_t - first_t if first_t else 0.0
    rate = round((done - first_n) / seconds) if seconds else None
    result = {
        "workers": count,
        "store": store,
        "events": done,
        "expected": expect,
        "duplicates": duplicates,
        "incomplete": incomplete,
        "stalled": stalled,
        "seconds": round(seconds, 2),
        "events_per_s": rate,
        "startup_seconds": round(first_t - started, 1) if first_t else None,
        "cpu_seconds": round(cpu_last - cpu_first, 2),
        "cpu_us_per_event": round((cpu_last - cpu_first) / max(done - first_n, 1) * 1e6, 1),
        "peak_rss_bytes": max(rss),
        "peak_rss_bytes_each": rss,
        "profiled": str(run.args.profile_worker) if profile is not None else None,
    }
    if count > 1 and both_t:
        span = last_t - both_t
        result["events_per_s_all_running"] = round((done - both_n) / span) if span > 0 else None
        result["both_running_after_s"] = round(both_t - first_t, 2)
    log(
        f"{tag}: {rate} events/s, {done:,}/{expect:,} events{' (INCOMPLETE)' if incomplete else ''}, "
        f"cpu {result['cpu_seconds']}s, peak rss {max(rss) / 2**20:.0f} MiB"
    )
    return result


# -- phase: replay (subprocess) ---------------------------------------------------------------


def _replay_main(bootstrap: str, prefix: str, out: Path, workers: int = 1) -> dict[str, Any]:
    from monitor.core.pack import load_pack
    from monitor.io.settings import load_settings
    from monitor.tools.replay import replay

    overrides = {TOPIC_SETTINGS[t]: f"{prefix}.{t}" for t in TOPIC_KINDS}
    settings = load_settings(kafka_bootstrap=bootstrap, **overrides)
    pack = load_pack(settings.rules)
    rss_before = status_bytes("self", "VmRSS")
    cpu0 = time.process_time()
    stats = replay(
        settings,
        pack,
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        out,
        show_progress=False,
        workers=workers,
    )
    import resource

    return {
        "workers": workers,
        "events": stats.events,
        "seconds": round(stats.seconds, 2),
        "events_per_s": round(stats.events_per_s),
        "alerts": stats.alerts,
        "tasks": stats.tasks,
        "customers": stats.customers,
        "invalid": stats.invalid,
        "duplicates": stats.duplicates,
        "cpu_seconds": round(time.process_time() - cpu0, 2),
        "rss_before_bytes": rss_before,
        "peak_rss_bytes": status_bytes("self", "VmHWM"),
        # sharded: the largest shard process (ru_maxrss is in KiB)
        "peak_rss_bytes_per_shard": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        if workers > 1
        else None,
    }


def replay_phase(run: Run, limit: float) -> dict[str, Any]:
    result = run.sub(
        "replay",
        [
            "_replay",
            "--bootstrap",
            run.bootstrap,
            "--prefix",
            run.prefix,
            "--out",
            str(run.tmp / "replay-out"),
        ],
        limit,
    )
    log(
        f"replay: {result['events_per_s']:,} events/s, {result['alerts']:,} alerts, "
        f"peak rss {result['peak_rss_bytes'] / 2**20:.0f} MiB"
    )
    workers = run.args.replay_workers
    if workers > 1:
        sharded = run.sub(
            "replay",
            [
                "_replay",
                "--bootstrap",
                run.bootstrap,
                "--prefix",
                run.prefix,
                "--out",
                str(run.tmp / "replay-sharded"),
                "--workers",
                str(workers),
            ],
            limit,
        )
        same = (sharded["events"], sharded["alerts"], sharded["tasks"]) == (
            result["events"],
            result["alerts"],
            result["tasks"],
        )
        sharded["same_counts_as_one_process"] = same
        result["sharded"] = sharded
        log(
            f"replay --workers {workers}: {sharded['events_per_s']:,} events/s, "
            f"{sharded['alerts']:,} alerts (same counts as one process: {same})"
        )
    return result


# -- phase: latency ----------------------------------------------------------------------------


def _cash(txn: str, customer: str, amount: str, seq: int) -> bytes:
    second = seq // 1000 % 36_000
    occurred = f"2026-03-10T{1 + second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{seq % 1000:03d}Z"
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
    measuring consumers share this process, and a full collection of its heap took 25-100
    ms here, the producer standing still meanwhile and then catching up with a burst. One
    collection before the run, none in it (a run allocates a few hundred MB at most). It
    changed no figure measurably (2026-12-06, two A/B pairs), but the load is now the
    steady rate the phase claims."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def latency_phase(run: Run, limit: float) -> dict[str, Any]:
    """Each rate `--latency-repeats` times, the raw client's floor and the worker one right
    after the other, so both see the same minute of this machine; each percentile is the
    median of the repeats (p99 swings by 2-4x between runs of the same code here)."""
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
    worker = _worker(
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


# -- phase: memory of the state (subprocesses) -----------------------------------------------


def _memory_build(base: int, target: int, out: Path, seed: int) -> dict[str, Any]:
    """Customer states through the Engine for `base` simulated customers (one opening and a
    few cash/remittance events each), in chunks; written as (key, to_bytes()) records to
    `out`, replicated with renamed customer ids up to `target` records if target > base."""
    from monitor.core.decode import Decoder, Rejection
    from monitor.core.engine import Engine
    from monitor.core.pack import load_pack
    from monitor.tools.simulate import TOPIC_FILES, simulate

    pack = load_pack()
    decoder = Decoder(pack.fx)
    engine = Engine(pack)
    now = datetime.now(UTC)
    rank = {"account_opening": 0, "customer_update": 1, "remittance": 2, "cash": 3}
    records: list[tuple[bytes, bytes]] = []
    events = 0
    started = time.perf_counter()
    chunk = 10_000
    for c0 in range(0, base, chunk):
        sim = simulate(min(chunk, base - c0), 5, seed + c0, events_per_customer_day=0.6)
        items = []
        for topic, kind in TOPIC_FILES.items():
            for ts, value in sim.events[topic]:
                value["customer_id"] = f"C{c0 + int(value['customer_id'][1:]):07d}"
                items.append((ts, rank[kind], kind, value))
        items.sort(key=lambda item: (item[0], item[1]))
        states: dict[str, Any] = {}
        for _, _, kind, value in items:
            event = decoder.decode(kind, orjson.dumps(value))
            if isinstance(event, Rejection):
                continue
            outcome = engine.process(states.get(event.customer_id), event, now)
            states[event.customer_id] = outcome.state
            events += 1
        records.extend((cid.encode(), state.to_bytes()) for cid, state in states.items())
    build_s = time.perf_counter() - started
    base_sum = sum(len(v) for _, v in records)
    with out.open("wb") as fh:
        written = 0
        for rep in range((target + len(records) - 1) // len(records)):
            for i, (key, value) in enumerate(records):
                if written >= target:
                    break
                if rep:
                    new = f"C{rep * len(records) + i:07d}".encode()
                    value = value.replace(key, new)
                    key = new
                fh.write(struct.pack("<II", len(key), len(value)))
                fh.write(key)
                fh.write(value)
                written += 1
    return {
        "built_customers": len(records),
        "events": events,
        "build_seconds": round(build_s, 1),
        "engine_events_per_customer": round(events / len(records), 2),
        "mean_state_bytes": round(base_sum / len(records), 1),
        "records_written": written,
    }


def _memory_hold(path: Path, limit: int, mode: str) -> dict[str, Any]:
    """RSS growth of holding the first `limit` records of `path` in a dict: as bytes (what the
    worker's memory store holds) or as CustomerState objects (what replay holds)."""
    from monitor.core.state import CustomerState

    gc.collect()
    before = status_bytes("self", "VmRSS")
    held: dict[Any, Any] = {}
    total = 0
    with path.open("rb") as fh:
        while len(held) < limit:
            header = fh.read(8)
            if not header:
                break
            key_len, value_len = struct.unpack("<II", header)
            key = fh.read(key_len)
            value = fh.read(value_len)
            total += value_len
            if mode == "bytes":
                held[key] = value
            else:
                held[key.decode()] = CustomerState.from_bytes(value)
    gc.collect()
    after = status_bytes("self", "VmRSS")
    return {
        "mode": mode,
        "customers": len(held),
        "sum_to_bytes_len": total,
        "rss_growth_bytes": after - before,
        "rss_bytes_per_customer": round((after - before) / max(len(held), 1)),
    }


def memory_phase(run: Run, limit: float) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    targets = [100_000, 1_000_000]
    path = run.tmp / "states.bin"
    built = run.sub(
        "memory-build",
        [
            "_memory_build",
            "--base",
            str(run.args.memory_base),
            "--target",
            str(max(targets)),
            "--out",
            str(path),
            "--seed",
            str(run.args.seed),
        ],
        deadline - time.monotonic(),
    )
    log(f"memory: built {built}")
    result: dict[str, Any] = {"build": built, "by_customers": {}}
    for target in targets:
        entry = {}
        for mode in ("bytes", "objects"):
            held = run.sub(
                f"memory-hold-{mode}-{target}",
                ["_memory_hold", "--file", str(path), "--limit", str(target), "--mode", mode],
                deadline - time.monotonic(),
            )
            entry[mode] = held
            log(f"memory {target:,} customers as {mode}: {held}")
        result["by_customers"][str(target)] = entry
    try:
        path.unlink()
    except OSError:
        pass
    return result


# -- report ------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    pom = (ROOT / "tools" / "kafka" / "pom.xml").read_text()
    kafka = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    out = {"python": platform.python_version(), "kafka": kafka.group(1) if kafka else "?"}
    for dist in (
        "faust-streaming",
        "aiokafka",
        "orjson",
        "pydantic",
        "rocksdict",
        "prometheus-client",
    ):
        try:
            out[dist] = version(dist)
        except Exception:
            out[dist] = "?"
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20)
        out["java"] = (java.stderr or java.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        out["java"] = "?"
    return out


def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def summarise(run: Run) -> dict[str, Any]:
    r = run.results
    rates = [str(x) for x in run.args.rates]
    high = rates[-1]
    summary: dict[str, Any] = {
        "ceiling_events_per_s": _get(r, "ceiling", "events_per_s"),
        "faust_baseline_events_per_s": _get(r, "baseline", "events_per_s"),
        "worker_events_per_s": _get(r, "worker", "events_per_s"),
        "worker_rocksdb_events_per_s": _get(r, "worker_rocksdb", "events_per_s"),
        "replay_events_per_s": _get(r, "replay", "events_per_s"),
        "replay_sharded_events_per_s": _get(r, "replay", "sharded", "events_per_s"),
        "replay_sharded_workers": _get(r, "replay", "sharded", "workers"),
        "two_workers_events_per_s": _get(r, "two_workers", "events_per_s"),
        "latency_rate_events_per_s": int(high),
        "latency_p50_s": _get(r, "latency", "worker", high, "p50_s"),
        "latency_p99_s": _get(r, "latency", "worker", high, "p99_s"),
        "latency_p999_s": _get(r, "latency", "worker", high, "p999_s"),
        "floor_latency_p50_s": _get(r, "latency", "floor", high, "p50_s"),
        "floor_latency_p99_s": _get(r, "latency", "floor", high, "p99_s"),
        "latency_read_p50_s": _get(r, "latency", "worker", high, "read_by_consumer", "p50_s"),
        "latency_read_p99_s": _get(r, "latency", "worker", high, "read_by_consumer", "p99_s"),
        "rss_bytes_100k_customers": _get(
            r, "memory", "by_customers", "100000", "bytes", "rss_growth_bytes"
        ),
        "rss_bytes_1m_customers": _get(
            r, "memory", "by_customers", "1000000", "bytes", "rss_growth_bytes"
        ),
        "rss_bytes_1m_customers_as_objects": _get(
            r, "memory", "by_customers", "1000000", "objects", "rss_growth_bytes"
        ),
        "state_bytes_1m_customers": _get(
            r, "memory", "by_customers", "1000000", "bytes", "sum_to_bytes_len"
        ),
        "worker_peak_rss_bytes": _get(r, "worker", "peak_rss_bytes"),
        "worker_cpu_seconds": _get(r, "worker", "cpu_seconds"),
        "replay_peak_rss_bytes": _get(r, "replay", "peak_rss_bytes"),
        "produce_events_per_s": _get(r, "data", "produce_events_per_s"),
    }

    def ratio(a: Any, b: Any) -> float | None:
        return round(a / b, 3) if a and b else None

    summary["worker_over_baseline"] = ratio(
        summary["worker_events_per_s"], summary["faust_baseline_events_per_s"]
    )
    summary["replay_over_ceiling"] = ratio(
        summary["replay_events_per_s"], summary["ceiling_events_per_s"]
    )
    summary["replay_sharded_over_ceiling"] = ratio(
        summary["replay_sharded_events_per_s"], summary["ceiling_events_per_s"]
    )
    summary["two_workers_over_one"] = ratio(
        summary["two_workers_events_per_s"], summary["worker_events_per_s"]
    )
    summary["latency_p99_over_floor"] = ratio(
        summary["latency_p99_s"], summary["floor_latency_p99_s"]
    )
    return summary


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "B":
        return f"{value / 2**20:,.0f} MiB"
    if unit == "s":
        return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"
    if isinstance(value, float) and unit == "x":
        return f"{value:.2f}x"
    if isinstance(value, (int, float)):
        return (
            f"{value:,.0f}{unit}"
            if isinstance(value, int) or value >= 100
            else f"{value:,.2f}{unit}"
        )
    return str(value)


def table(run: Run, summary: dict[str, Any]) -> str:
    r = run.results
    rows = [
        (
            "events / customers / partitions",
            f"{_get(r, 'data', 'events') or 0:,} / {run.args.customers:,} / {run.args.partitions}",
        ),
        (
            "produce (aiokafka, acks=all, linger 20 ms)",
            _fmt(summary["produce_events_per_s"], " ev/s"),
        ),
        ("ceiling: raw aiokafka + decode/validate", _fmt(summary["ceiling_events_per_s"], " ev/s")),
        (
            "naive Faust baseline (same-day sum, table)",
            _fmt(summary["faust_baseline_events_per_s"], " ev/s"),
        ),
        ("monitor worker, full pack, memory store", _fmt(summary["worker_events_per_s"], " ev/s")),
        (
            "  worker CPU s / peak RSS",
            f"{_fmt(summary['worker_cpu_seconds'])} s / {_fmt(summary['worker_peak_rss_bytes'], 'B')}",
        ),
        ("  worker CPU per event", _fmt(_get(r, "worker", "cpu_us_per_event"), " us")),
        ("monitor worker, RocksDB store", _fmt(summary["worker_rocksdb_events_per_s"], " ev/s")),
        (
            "two workers, one group (memory store)",
            _fmt(summary["two_workers_events_per_s"], " ev/s"),
        ),
        (
            "  two workers, once both were processing",
            _fmt(_get(r, "two_workers", "events_per_s_all_running"), " ev/s"),
        ),
        ("monitor replay, full pack", _fmt(summary["replay_events_per_s"], " ev/s")),
        ("  replay peak RSS", _fmt(summary["replay_peak_rss_bytes"], "B")),
        (
            f"monitor replay --workers {summary['replay_sharded_workers'] or 'n'}",
            _fmt(summary["replay_sharded_events_per_s"], " ev/s"),
        ),
    ]
    for rate in run.args.rates:
        w = _get(r, "latency", "worker", str(rate)) or {}
        f = _get(r, "latency", "floor", str(rate)) or {}
        spread = " / ".join(_fmt(x.get("p99_s"), "s") for x in w.get("runs", []))
        floor_spread = " / ".join(_fmt(x.get("p99_s"), "s") for x in f.get("runs", []))
        rows.append(
            (
                f"latency at {rate:,}/s: worker p50/p99/p99.9",
                f"{_fmt(w.get('p50_s'), 's')} / {_fmt(w.get('p99_s'), 's')} / {_fmt(w.get('p999_s'), 's')}"
                f" ({w.get('alerts_seen', 0)}/{w.get('alerts_expected', 0)} alerts; p99 of the runs {spread})",
            )
        )
        read = w.get("read_by_consumer") or {}
        rows.append(
            (
                "  alert read from aml.alerts p50/p99/p99.9",
                f"{_fmt(read.get('p50_s'), 's')} / {_fmt(read.get('p99_s'), 's')} / {_fmt(read.get('p999_s'), 's')}",
            )
        )
        rows.append(
            (
                f"latency at {rate:,}/s: raw client p50/p99/p99.9",
                f"{_fmt(f.get('p50_s'), 's')} / {_fmt(f.get('p99_s'), 's')} / {_fmt(f.get('p999_s'), 's')}"
                f" (p99 of the runs {floor_spread})",
            )
        )
    for n in ("100000", "1000000"):
        entry = _get(r, "memory", "by_customers", n) or {}
        rows.append(
            (
                f"state of {int(n):,} customers: to_bytes sum / RSS bytes / RSS objects",
                f"{_fmt(_get(entry, 'bytes', 'sum_to_bytes_len'), 'B')} / "
                f"{_fmt(_get(entry, 'bytes', 'rss_growth_bytes'), 'B')} / "
                f"{_fmt(_get(entry, 'objects', 'rss_growth_bytes'), 'B')}",
            )
        )
    rows += [
        ("worker / baseline", _fmt(summary["worker_over_baseline"], "x")),
        ("replay / ceiling", _fmt(summary["replay_over_ceiling"], "x")),
        ("replay --workers / ceiling", _fmt(summary["replay_sharded_over_ceiling"], "x")),
        ("two workers / one", _fmt(summary["two_workers_over_one"], "x")),
        ("worker p99 / raw-client p99", _fmt(summary["latency_p99_over_floor"], "x")),
    ]
    width = max(len(a) for a, _ in rows)
    lines = [f"| {'figure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {a.ljust(width)} | {b} |" for a, b in rows]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=1_000_000, help="events to simulate (about)")
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument(
        "--quick",
        action="store_true",
        help="100,000 events / 10,000 customers, 10 s per latency rate, 10,000 customers "
        "built for the memory figures",
    )
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rates", default="1000,5000", help="latency input rates, events/s")
    p.add_argument(
        "--latency-seconds", type=float, default=None, help="per rate (default 20, quick 10)"
    )
    p.add_argument(
        "--latency-repeats",
        type=int,
        default=None,
        help="runs per rate, floor and worker alternating; medians reported (default 3, quick 1)",
    )
    p.add_argument(
        "--memory-base",
        type=int,
        default=None,
        help="customers built through the Engine for the memory figures; more are "
        "replicated with renamed ids (default 100,000, quick 10,000)",
    )
    p.add_argument("--phases", default=",".join(PHASES), help=f"subset of {','.join(PHASES)}")
    p.add_argument("--no-rocksdb", action="store_true", help="skip the RocksDB worker run")
    p.add_argument(
        "--replay-workers",
        type=int,
        default=2,
        help="also time `replay --workers N` (customer shards in N processes); 1 skips it",
    )
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--keep", action="store_true", help="keep the logs directory")
    p.add_argument(
        "--profile-worker",
        type=Path,
        default=None,
        metavar="FILE",
        help="py-spy the first worker run for 20 s (collapsed stacks into FILE); "
        "slows that run a little",
    )
    args = p.parse_args(argv)
    if args.latency_repeats is not None and args.latency_repeats < 1:
        p.error("--latency-repeats must be at least 1")
    if args.quick:
        args.events, args.customers = 100_000, 10_000
    args.latency_seconds = args.latency_seconds or (10.0 if args.quick else 20.0)
    args.latency_repeats = args.latency_repeats or (1 if args.quick else 3)
    args.memory_base = args.memory_base or (10_000 if args.quick else 100_000)
    args.rates = [int(x) for x in args.rates.split(",") if x]
    args.phases = [x for x in args.phases.split(",") if x]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.no_rocksdb and "worker_rocksdb" in args.phases:
        args.phases.remove("worker_rocksdb")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("_"):
        return _subcommand(argv)
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    from monitor.io.devservers import KafkaServer, RedisServer

    tmp = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    run = Run(args, tmp)
    n = args.events
    limits = {
        "ceiling": 60 + n / 5_000,
        "baseline": 150 + n / 1_000,
        "worker": 150 + n / 1_000,
        "worker_rocksdb": 150 + n / 1_000,
        "two_workers": 150 + n / 1_000,
        "replay": 120 + n / 1_000,
        "latency": 240 + 3 * args.latency_seconds * len(args.rates) * args.latency_repeats,
        "memory": 900,
    }
    load_start = loadavg()
    began = time.monotonic()
    log(
        f"logs in {tmp}; {args.events:,} events, {args.customers:,} customers, phases {args.phases}"
    )
    try:
        kafka = KafkaServer()
        run.stoppables.append(kafka)
        kafka.start(timeout=120)
        redis = RedisServer()
        run.stoppables.append(redis)
        redis.start()
        run.bootstrap, run.redis_url = kafka.bootstrap, redis.url
        run.phase("data", lambda limit: load_data(run, limit), 120 + n / 1_000)
        if "data" not in run.results:
            raise RuntimeError("no data: nothing to measure")
        phases: dict[str, Callable[[float], dict[str, Any]]] = {
            "ceiling": lambda limit: ceiling_phase(run, limit),
            "baseline": lambda limit: baseline_phase(run, limit),
            "worker": lambda limit: workers_phase(run, limit, "worker", "memory", 1),
            "worker_rocksdb": lambda limit: workers_phase(
                run, limit, "worker-rocksdb", "rocksdb", 1
            ),
            "two_workers": lambda limit: workers_phase(run, limit, "two-workers", "memory", 2),
            "replay": lambda limit: replay_phase(run, limit),
            "latency": lambda limit: latency_phase(run, limit),
            "memory": lambda limit: memory_phase(run, limit),
        }
        for name in PHASES:
            if name in args.phases:
                run.phase(name, phases[name], limits[name])
    except KeyboardInterrupt:
        run.errors["run"] = "interrupted"
    finally:
        run.stop_all()
    summary = summarise(run)
    document = {
        **summary,
        "settings": {
            "events_requested": args.events,
            "events": _get(run.results, "data", "events"),
            "customers": args.customers,
            "partitions": args.partitions,
            "seed": args.seed,
            "quick": args.quick,
            "latency_rates": args.rates,
            "latency_seconds": args.latency_seconds,
            "latency_repeats": args.latency_repeats,
            "memory_base_customers": args.memory_base,
            "phases": args.phases,
            "machine_cores": os.cpu_count(),
            "machine": platform.machine(),
            "kernel": platform.release(),
            "loadavg_start": load_start,
            "loadavg_end": loadavg(),
            "broker": "Apache Kafka (KRaft, one JVM, -Xmx768m) on loopback, sharing the cores",
            "store": "worker: MONITOR_STORE=memory unless noted; worker_rocksdb: rocksdb",
            "runs_per_measurement": 1,
        },
        "versions": _versions(),
        "phases": run.results,
        "errors": run.errors,
        "total_seconds": round(time.monotonic() - began, 1),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    print(table(run, summary))
    print(f"\nwrote {args.out}" + (f"; errors in {', '.join(run.errors)}" if run.errors else ""))
    if args.keep or run.errors:
        print(f"logs: {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if run.errors else 0


def _subcommand(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog=f"bench.run {argv[0]}")
    p.add_argument("--bootstrap")
    p.add_argument("--prefix")
    p.add_argument("--out", type=Path)
    p.add_argument("--max-records", type=int, default=5000)
    p.add_argument("--base", type=int)
    p.add_argument("--target", type=int)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--file", type=Path)
    p.add_argument("--limit", type=int)
    p.add_argument("--mode", choices=("bytes", "objects"))
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args(argv[1:])
    if argv[0] == "_ceiling":
        result = asyncio.run(_ceiling(a.bootstrap, a.prefix, a.max_records))
    elif argv[0] == "_replay":
        result = _replay_main(a.bootstrap, a.prefix, a.out, a.workers)
    elif argv[0] == "_memory_build":
        result = _memory_build(a.base, a.target, a.out, a.seed)
    elif argv[0] == "_memory_hold":
        result = _memory_hold(a.file, a.limit, a.mode)
    else:
        p.error(f"unknown subcommand {argv[0]}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
