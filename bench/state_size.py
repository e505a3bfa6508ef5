"""The serialised size of customer state records built through the Engine.

Runs config/samples/all-rules.jsonl (every rule) and a simulated day of traffic through one
`Engine`, then prints the number of records, the sum and mean of `len(to_bytes())`, and a
digest of every record's bytes in customer order, so two versions of the state can be
compared for size and for identical bytes:
`python -m bench.state_size [--customers N] [--days D] [--seed S]`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.core.decode import Decoder, Rejection
from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.core.state import CustomerState
from monitor.tools.scenario import read_scenario
from monitor.tools.simulate import TOPIC_FILES, simulate

__all__ = ["build_states", "main"]

logger = logging.getLogger(__name__)

SAMPLE = Path(__file__).resolve().parent.parent / "config" / "samples" / "all-rules.jsonl"
DETECTED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def _inputs(customers: int, days: int, seed: int) -> list[tuple[str, bytes]]:
    import orjson

    sample = [(m.kind, m.value) for m in read_scenario(SAMPLE)]
    sim = simulate(customers, days, seed)
    timed = [(t, kind, v) for topic, kind in TOPIC_FILES.items() for t, v in sim.events[topic]]
    timed.sort(key=lambda x: (x[0], x[2]["event_id"]))
    return sample + [(kind, orjson.dumps(v)) for _, kind, v in timed]


def build_states(customers: int, days: int, seed: int) -> dict[str, CustomerState]:
    """The state records after the sample file and `days` simulated days of `customers`."""
    pack = load_pack()
    engine = Engine(pack)
    decoder = Decoder(pack.fx)
    states: dict[str, CustomerState] = {}
    for kind, value in _inputs(customers, days, seed):
        event: Any = decoder.decode(kind, value)
        if isinstance(event, Rejection):
            continue
        states[event.customer_id] = engine.process(
            states.get(event.customer_id), event, DETECTED_AT
        ).state
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    states = build_states(args.customers, args.days, args.seed)
    digest = hashlib.sha256()
    total = 0
    for customer in sorted(states):
        raw = states[customer].to_bytes()
        total += len(raw)
        digest.update(raw)
    n = len(states)
    print(f"{n:,} records, {total:,} bytes, mean {total / n:,.1f} bytes/record")
    print(f"sha256 of the records in customer order: {digest.hexdigest()}")


if __name__ == "__main__":
    main()
