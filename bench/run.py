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
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from bench.context import Run, log  # noqa: E402
from bench.data import load_data  # noqa: E402
from bench.latency import latency_phase  # noqa: E402
from bench.memory import memory_build, memory_hold, memory_phase  # noqa: E402
from bench.proc import loadavg  # noqa: E402
from bench.replay import replay_phase, replay_run  # noqa: E402
from bench.report import lookup, summarise, table, versions  # noqa: E402
from bench.throughput import baseline_phase, ceiling_phase, ceiling_run, workers_phase  # noqa: E402

__all__ = ["PHASES", "main", "parse_args"]

RESULTS = ROOT / "bench" / "results.json"


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
            "events": lookup(run.results, "data", "events"),
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
        "versions": versions(),
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
        result = asyncio.run(ceiling_run(a.bootstrap, a.prefix, a.max_records))
    elif argv[0] == "_replay":
        result = replay_run(a.bootstrap, a.prefix, a.out, a.workers)
    elif argv[0] == "_memory_build":
        result = memory_build(a.base, a.target, a.out, a.seed)
    elif argv[0] == "_memory_hold":
        result = memory_hold(a.file, a.limit, a.mode)
    else:
        p.error(f"unknown subcommand {argv[0]}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
