"""The rule core alone, without Kafka: decode, load the state bytes, `Engine.process`, store
the state bytes, for simulated traffic in event-time order. What the worker does per event
minus Faust and the broker; `python -m bench.core [--customers N] [--profile]`.

Prints microseconds per event (best of `--repeat` passes over fresh state), split into
decode and the rest, so a change to the core can be measured in seconds, not minutes.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from datetime import UTC, datetime

import orjson

from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.core.state import CustomerState
from monitor.tools.simulate import TOPIC_FILES, simulate


def messages(customers: int, days: int, seed: int) -> list[tuple[str, bytes]]:
    sim = simulate(customers, days, seed)
    timed = [(t, kind, v) for topic, kind in TOPIC_FILES.items() for t, v in sim.events[topic]]
    timed.sort(key=lambda x: (x[0], x[2]["event_id"]))
    return [(kind, orjson.dumps(v)) for _, kind, v in timed]


def run(msgs: list[tuple[str, bytes]], engine: Engine, decoder: Decoder) -> tuple[float, float]:
    now = datetime.now(UTC)
    store: dict[bytes, bytes] = {}
    decoded = []
    t0 = time.perf_counter()
    for kind, value in msgs:
        decoded.append(decoder.decode(kind, value))
    t1 = time.perf_counter()
    for event in decoded:
        if not hasattr(event, "customer_id"):
            continue
        key = event.customer_id.encode()
        raw = store.get(key)
        state = CustomerState.from_bytes(raw) if raw is not None else None
        outcome = engine.process(state, event, now)
        if not outcome.duplicate:
            store[key] = outcome.state.to_bytes()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    pack = load_pack()
    msgs = messages(args.customers, args.days, args.seed)
    n = len(msgs)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run(msgs, Engine(pack), Decoder(pack.fx, 1 << 20))
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(35)
        return
    best = None
    for _ in range(args.repeat):
        d, r = run(msgs, Engine(pack), Decoder(pack.fx, 1 << 20))
        best = (d, r) if best is None or d + r < sum(best) else best
    d, r = best
    print(
        f"{n:,} events: decode {d / n * 1e6:.1f} us/event, state+rules {r / n * 1e6:.1f} us/event,"
        f" total {(d + r) / n * 1e6:.1f} us/event = {n / (d + r):,.0f} events/s"
    )


if __name__ == "__main__":
    main()
