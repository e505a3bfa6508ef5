"""The worker's rule path in one process, without a broker: `RulesService._apply_batch` over
simulated records in batches, its writes collected instead of sent. What the worker does per
input event minus aiokafka's fetch and produce; `python -m bench.worker_path [--profile]`.

Records are laid out as the bench loads them (four input topics, the partition of the
customer id's murmur2, each partition in event-time order) and taken in batches of
`MONITOR_BATCH_MAX` records, a slice of each partition in turn, as a consumer's `getmany`
returns them. One worker holds every partition, so the network stage runs in the batch; the
garbage collector is tuned as the worker tunes it.
Prints CPU microseconds per input event (best of `--repeat` passes over fresh state).

`--instructions` counts instead the instructions one pass executes per input event, under
valgrind (cachegrind without its cache model): the run with one pass and with two, the
difference being one pass. Repeated runs agree within about 0.5 % (hash seed fixed), so
a change of a few per cent shows, where the CPU time of this machine drifts by 10-15 %. It
counts work, not cache misses (which grow with the number of customers); about 90 s for
`--customers 1000`, its default.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.partitioner import murmur2
from prometheus_client import CollectorRegistry

from agents.rules import RulesService
from agents.state_store import MemoryStore
from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.io.gctune import tune_gc
from monitor.io.metrics import Metrics
from monitor.io.settings import load_settings
from monitor.tools.simulate import TOPIC_FILES, simulate

__all__ = ["batches", "instruction_count", "instructions_per_event", "run"]

PARTITIONS = 4
_SLICE = 125  # records of one partition in one batch


class _Collector:
    """The batch writer's interface; keeps the count of what would have been written."""

    def __init__(self) -> None:
        self.queued: list[tuple[str, int]] = []
        self.written = 0
        self.forwarded = 0

    def add(self, topic: str, partition: int, key: bytes, value: bytes, *_: Any) -> None:
        self.queued.append((topic, partition))

    async def flush(self) -> dict[tuple[str, int], int]:
        self.written += len(self.queued)
        offsets = {tp: self.written for tp in self.queued}
        self.queued = []
        return offsets

    def discard(self) -> None:
        self.queued = []


def batches(customers: int, days: int, rate: float, seed: int, size: int) -> list[Any]:
    """The simulated records as `getmany` would return them, `size` records a batch."""
    sim = simulate(customers, days, seed, events_per_customer_day=rate)
    topics = load_settings().input_topics
    queues: dict[TopicPartition, deque[Any]] = {}
    for file, kind in TOPIC_FILES.items():
        topic = topics[kind]
        for offset, value in enumerate(sim.sorted_events(file)):
            key = value["customer_id"].encode()
            part = (murmur2(key) & 0x7FFFFFFF) % PARTITIONS
            tp = TopicPartition(topic, part)
            record = SimpleNamespace(
                topic=topic,
                partition=part,
                offset=offset,
                key=key,
                value=orjson.dumps(value),
                timestamp=offset,
                headers=(),
            )
            queues.setdefault(tp, deque()).append(record)
    out = []
    while any(queues.values()):
        batch: dict[TopicPartition, list[Any]] = {}
        room = size
        for tp, queue in queues.items():
            take = min(_SLICE, room, len(queue))
            if take:
                batch[tp] = [queue.popleft() for _ in range(take)]
                room -= take
            if not room:
                break
        out.append(batch)
        queues = dict(list(queues.items())[1:] + list(queues.items())[:1])  # next turn
    return out


def run(
    work: list[Any], pack_path: str | None = None, profile: bool = False
) -> tuple[int, float, _Collector]:
    """(input events, CPU seconds, writer) of one pass over `work` with fresh state."""
    pack = load_pack(pack_path)
    settings = load_settings(partitions=PARTITIONS, store="memory")
    svc = RulesService(
        settings, Engine(pack), Decoder(pack.fx), Metrics.create(CollectorRegistry())
    )
    writer = _Collector()
    svc.writer = writer  # type: ignore[assignment]
    svc.commits = SimpleNamespace(add=lambda offsets: None)  # type: ignore[assignment]
    svc.proven_at = float("inf")  # membership proven
    svc.owned = set(range(PARTITIONS))
    for p in range(PARTITIONS):
        svc.stores[p] = MemoryStore()
    loop = asyncio.new_event_loop()
    tune_gc()  # as the worker does at start
    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for batch in work:
        loop.run_until_complete(svc._apply_batch(batch))  # noqa: SLF001
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(40)
    cpu = time.process_time() - started
    loop.close()
    events = sum(len(records) for batch in work for records in batch.values())
    return events, cpu, writer


def instruction_count(valgrind_stderr: str) -> int:
    """The `I refs` total of a cachegrind run's summary."""
    found = re.search(r"I\s+refs:\s+([\d,]+)", valgrind_stderr)
    if found is None:
        raise ValueError("no 'I refs' line in valgrind's output")
    return int(found.group(1).replace(",", ""))


def instructions_per_event(argv: list[str]) -> tuple[int, float]:
    """(input events, instructions per input event) of one pass with the options `argv`,
    from two runs of this tool under valgrind (one pass, then two)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (Debian: apt-get install valgrind)")
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    counts, events = [], 0
    for repeat in (1, 2):
        command = [
            valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
            sys.executable, "-m", "bench.worker_path", *argv, "--repeat", str(repeat),
        ]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
        counts.append(instruction_count(done.stderr))
        found = re.search(r"^([\d,]+) input events", done.stdout, re.M)
        events = int(found.group(1).replace(",", "")) if found else 0
    if not events:
        raise SystemExit("the runs under valgrind applied no event")
    return events, (counts[1] - counts[0]) / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--customers", type=int, default=None, help="default 10,000; 1,000 with --instructions"
    )
    parser.add_argument("--days", type=int, default=15)
    parser.add_argument("--rate", type=float, default=0.6, help="events per customer-day")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=load_settings().batch_max)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pack", help="rule pack (default: the shipped cn-pboc.yaml)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instructions per input event under valgrind instead of CPU time",
    )
    args = parser.parse_args()
    if args.customers is None:
        args.customers = 1_000 if args.instructions else 10_000
    if args.instructions:
        argv = [
            *("--customers", str(args.customers), "--days", str(args.days)),
            *("--rate", str(args.rate), "--seed", str(args.seed), "--batch", str(args.batch)),
            *(("--pack", args.pack) if args.pack else ()),
        ]
        events, per_event = instructions_per_event(argv)
        print(f"{events:,} input events: {per_event:,.0f} instructions per event (one pass)")
        return
    work = batches(args.customers, args.days, args.rate, args.seed, args.batch)
    if args.profile:
        run(work, args.pack, profile=True)
        return
    best = None
    for _ in range(args.repeat):
        events, cpu, writer = run(work, args.pack)
        best = cpu if best is None else min(best, cpu)
    assert best is not None
    print(
        f"{events:,} input events in {len(work):,} batches: {best / events * 1e6:.1f} us CPU "
        f"per event (best of {args.repeat}); {writer.written:,} records written a pass"
    )


if __name__ == "__main__":
    main()
