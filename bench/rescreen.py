"""Cost of re-screening existing customers against the new entries of a list update.

`python -m bench.rescreen [--customers N] [--new-entries N]` indexes N synthetic customer
names (the frequency tables of bench.screening_hits), builds a list update of the given
number of new entries, and times `monitor.core.screening.rescreen` over the whole index:
prints the time, the time per customer, and that per customer times 1,000,000."""

from __future__ import annotations

import argparse
import random
import time
from datetime import date

from bench.screening_hits import _chinese, _latin, _spelled, build_list
from monitor.core.screening import WatchlistEntry
from monitor.core.screening.rescreen import IndexedName, rescreen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--new-entries", type=int, default=1_000)
    args = parser.parse_args()
    rng = random.Random(5)
    new = [
        WatchlistEntry(e["id"], tuple(e["names"]), e["born"], "CN", "bench", "b")
        for e in build_list(args.new_entries, rng)
    ]
    index = {}
    for n in range(args.customers):
        name = _latin(rng) if rng.random() < 0.1 else _spelled(_chinese(rng), rng)
        born = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
        index[f"C{n:07d}"] = [IndexedName("customer", name, born, "CN")]
    started = time.perf_counter()
    hits = sum(1 for _ in rescreen(index, new))
    elapsed = time.perf_counter() - started
    per = elapsed / args.customers
    print(
        f"{args.customers:,} customers against {args.new_entries:,} new entries: "
        f"{elapsed:.1f} s ({per * 1e6:.1f} us per customer), {hits:,} matches"
    )
    print(f"1,000,000 customers at that rate: {per * 1e6:.0f} s on one core")


if __name__ == "__main__":
    main()
