"""What the rules across customers cost (COUNTERPARTY_HUB, FUNDS_CYCLE): the rule core over
simulated traffic in event-time order, as `bench.core` runs it (decode, state bytes in and
out, `Engine.process`), with the stage (each transfer also applied to its account records,
the paths FUNDS_CYCLE passes on applied to theirs) and without it (the same pack with both
rules off). `python -m bench.network [--customers N] [--days D]`.

Prints microseconds per input event with and without the stage, the difference, and what
the stage re-keys per input event (edges, paths) and how many account records it keeps.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

import yaml

from bench.core import messages
from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import Pack, load_pack, pack_from_mapping
from monitor.core.pack.loader import DEFAULT_PACK
from monitor.core.state import CustomerState

__all__ = ["main", "measure"]

_RULES = ("COUNTERPARTY_HUB", "FUNDS_CYCLE")


def _without_stage() -> Pack:
    """The default pack with the rules across customers off."""
    raw = yaml.safe_load(DEFAULT_PACK.read_text(encoding="utf-8"))
    for rule in _RULES:
        raw["rules"].setdefault(rule, {})["enabled"] = False
    return pack_from_mapping(raw, DEFAULT_PACK.parent)


def measure(msgs: list[tuple[str, bytes]], engine: Engine, decoder: Decoder) -> dict[str, Any]:
    """Seconds to apply `msgs` (decoded first, not timed) and what the stage re-keyed."""
    now = datetime.now(UTC)
    store: dict[bytes, bytes] = {}
    decoded = [e for e in (decoder.decode(k, v) for k, v in msgs) if hasattr(e, "customer_id")]
    edges = paths = 0

    def apply(event: Any) -> list[Any]:
        key = event.customer_id.encode()
        raw = store.get(key)
        state = CustomerState.from_bytes(raw) if raw is not None else None
        outcome = engine.process(state, event, now)
        if not outcome.duplicate:
            store[key] = outcome.state.to_bytes()
        return outcome.findings.forwards

    started = time.perf_counter()
    for event in decoded:
        apply(event)
        todo = engine.edges(event)
        edges += len(todo)
        while todo:
            forwards = apply(todo.pop())
            paths += len(forwards)
            todo.extend(forwards)
    seconds = time.perf_counter() - started
    accounts = sum(1 for k in store if k.startswith(b"account:"))
    return {
        "seconds": seconds,
        "events": len(decoded),
        "edges": edges,
        "paths": paths,
        "accounts": accounts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pack = load_pack()
    msgs = messages(args.customers, args.days, args.seed)
    packs = {"with": pack, "without": _without_stage()}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in packs}
    for _ in range(args.repeat):  # interleaved: a busy machine slows both alike
        for name, which in packs.items():
            runs[name].append(measure(msgs, Engine(which), Decoder(which.fx, 1 << 20)))
    results = {name: min(r, key=lambda x: x["seconds"]) for name, r in runs.items()}
    n = results["with"]["events"]
    on, off = (results[k]["seconds"] / n * 1e6 for k in ("with", "without"))
    r = results["with"]
    print(
        f"{n:,} events: state+rules {off:.1f} us/event without the stage, {on:.1f} with it "
        f"(+{on - off:.1f} us/event); per event {r['edges'] / n:.2f} edges and "
        f"{r['paths'] / n:.4f} paths re-keyed; {r['accounts']:,} account records"
    )


if __name__ == "__main__":
    main()
