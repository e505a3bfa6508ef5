"""The throughput phases: the raw-client ceiling, the naive Faust baseline, and `monitor
worker` (one or two, memory or RocksDB store) timed on the loaded data."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from bench.context import POLL_S, ROOT, STALL_S, TOPIC_KINDS, Run, log
from bench.kafka_io import create_topics, topic_partitions
from bench.proc import cpu_seconds, killpg, peak_rss, status_bytes
from monitor.io.devworker import WorkerProcess
from monitor.io.settings import load_settings

__all__ = [
    "baseline_phase",
    "ceiling_phase",
    "ceiling_run",
    "scrape",
    "worker_process",
    "workers_phase",
]


def scrape(port: int) -> tuple[float, float] | None:
    """(input events applied, monitor_events_duplicate_total) of a worker: the rule core's
    applications (`monitor_processing_seconds_count`) less the re-keyed items among them
    (`monitor_rekeyed_applied_total`: account edges, conductor cash, paths)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            body = response.read().decode()
    except OSError:
        return None
    processed = re.search(r"^monitor_processing_seconds_count (\S+)$", body, re.M)
    duplicates = re.search(r"^monitor_events_duplicate_total (\S+)$", body, re.M)
    rekeyed = sum(
        float(n) for n in re.findall(r"^monitor_rekeyed_applied_total\{[^}]*\} (\S+)$", body, re.M)
    )
    return (
        (float(processed.group(1)) if processed else 0.0) - rekeyed,
        float(duplicates.group(1)) if duplicates else 0.0,
    )


async def ceiling_run(bootstrap: str, prefix: str, max_records: int) -> dict[str, Any]:
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
    result = run.sub("ceiling", run.on_broker("_ceiling", "--max-records", "5000"), limit)
    run.valid_events = result["valid"]
    log(f"ceiling: {result['events_per_s']:,} events/s ({result['valid']:,} valid)")
    return result


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
    variant = env.get("BENCH_VARIANT", "table")
    if variant == "pack":  # it writes alerts and tasks, under the default names
        settings = load_settings()
        outputs = [run.topic(t) for t in (settings.topic_alerts, settings.topic_reid_tasks)]
        asyncio.run(create_topics(run.bootstrap, outputs, run.args.partitions))
        env["BENCH_OUTPUTS"] = ",".join(outputs)
        env["BENCH_ALERT_IDS"] = str(run.tmp / "baseline-alerts.txt")
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
        killpg(proc, signal.SIGTERM)
    count = stats.get("count", 0)
    seconds = (stats["last"] - stats["first"]) if count > 1 else 0.0
    rate = round((count - 1) / seconds) if seconds else None
    log(
        f"faust baseline: {rate} events/s over {count:,} events"
        f"{' (INCOMPLETE)' if incomplete else ''}"
    )
    return {
        "variant": variant,  # bench/faust_baseline.py's
        "alerts": stats.get("alerts") if variant == "pack" else None,  # distinct ids
        "events": count,
        "seconds": round(seconds, 2),
        "events_per_s": rate,
        "incomplete": incomplete,
        "stalled": stalled,
        "cpu_seconds": round(cpu_last - (cpu_first or 0), 2),
        "peak_rss_bytes": rss,
    }


def worker_process(
    run: Run,
    tag: str,
    index: int,
    store: str,
    app_id: str,
    prefix: str | None = None,
    outputs: str | None = None,
) -> WorkerProcess:
    """A `monitor worker` (not started yet) in the group `app_id`, reading the run's input
    topics (or `prefix`'s) and writing to its own output topics and queues; stopped with
    the run."""
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
    workers = [worker_process(run, tag, i, store, app_id) for i in range(count)]
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
            # the count is of input events applied; should a version leave duplicates out
            # of it, the duplicate counter completes the count
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
                killpg(profile)
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
        f"{tag}: {rate} events/s, {done:,}/{expect:,} events"
        f"{' (INCOMPLETE)' if incomplete else ''}, "
        f"cpu {result['cpu_seconds']}s, peak rss {max(rss) / 2**20:.0f} MiB"
    )
    return result
