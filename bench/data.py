"""Phase 0: simulated bank traffic (`monitor.tools.simulate`) loaded into the four input
topics, the data every later phase measures."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import orjson

from bench.context import TOPIC_KINDS, Run, log
from bench.kafka_io import create_topics, produce

__all__ = ["load_data", "plan_simulation"]


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
        f"simulated {len(records):,} events ({days} days x {rate:.3f}/customer-day) "
        f"in {generated_s:.1f}s"
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
