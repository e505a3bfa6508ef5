"""The memory phase: customer states built through the Engine, and the RSS of holding
100,000 and 1,000,000 of them as bytes and as objects, each in its own process."""

from __future__ import annotations

import gc
import re
import struct
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.context import Run, log
from bench.proc import status_bytes

__all__ = ["memory_build", "memory_hold", "memory_phase"]


#: a simulated customer id: "C", digits, and a suffix for group members ("C0000088M1")
_ID_NUMBER = re.compile(r"C(\d+)")


def memory_build(base: int, target: int, out: Path, seed: int) -> dict[str, Any]:
    """Customer states through the Engine for `base` simulated customers (one opening and a
    few cash/remittance events each), in chunks; written as (key, to_bytes()) records to
    `out`, replicated with renamed customer ids up to `target` records if target > base."""
    from monitor.core.decode import Decoder, Rejection
    from monitor.core.engine import Engine
    from monitor.core.pack import load_pack
    from monitor.tools.offline import TOPIC_RANK
    from monitor.tools.simulate import TOPIC_FILES, simulate

    pack = load_pack()
    decoder = Decoder(pack.fx)
    engine = Engine(pack)
    now = datetime.now(UTC)
    rank = TOPIC_RANK  # the replay's tie order of topics
    records: list[tuple[bytes, bytes]] = []
    events = 0
    started = time.perf_counter()
    chunk = 10_000
    for c0 in range(0, base, chunk):
        sim = simulate(min(chunk, base - c0), 5, seed + c0, events_per_customer_day=0.6)
        items = []
        for topic, kind in TOPIC_FILES.items():
            for ts, value in sim.events[topic]:
                number = _ID_NUMBER.match(value["customer_id"])
                assert number is not None, value["customer_id"]  # C<digits>[suffix]
                value["customer_id"] = (
                    f"C{c0 + int(number[1]):07d}{value['customer_id'][number.end() :]}"
                )
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


def memory_hold(path: Path, limit: int, mode: str) -> dict[str, Any]:
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
