"""Cost of re-screening existing customers against the new entries of a list update.

`python -m bench.rescreen [--customers N] [--new-entries N] [--partitions P] [--distinct]`
builds the names index a worker keeps (`monitor.core.screening.index`: one JSON record per
customer, names drawn from the frequency tables of bench.screening_hits, 90 % Chinese in
Han characters or pinyin, 10 % Latin, each with a birth date and nationality; with
`--distinct` no two customers share a name), a list update of the given number of new
entries, and times what the worker does per partition on a reload:
`rescreen_findings` over the partition's records (decode, one matcher over the new entries,
every name screened, alerts and tasks built for the hits), on one core. Prints the CPU time
(and the wall time, which a busy machine inflates), the CPU time per customer, the number
of distinct names (a name borne by several customers is screened once: the matcher's
cache), the index's bytes per customer, and the time extrapolated to 1,000,000
customers."""

from __future__ import annotations

import argparse
import random
import resource
import time
from datetime import UTC, date, datetime

import orjson

from bench.screening_hits import _chinese, _latin, _spelled, build_list
from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.core.screening import WatchlistEntry, WatchlistMatcher
from monitor.core.screening.index import merge_record
from monitor.core.screening.rescreen import rescreen_findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--new-entries", type=int, default=1_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument(
        "--distinct", action="store_true", help="every customer a name no other one bears"
    )
    args = parser.parse_args()
    rng = random.Random(5)
    new = [
        WatchlistEntry(e["id"], tuple(e["names"]), e["born"], "CN", "bench", "b")
        for e in build_list(args.new_entries, rng)
    ]
    partitions: list[list[bytes]] = [[] for _ in range(args.partitions)]
    size = 0
    distinct: set[str] = set()
    for n in range(args.customers):
        name = _latin(rng) if rng.random() < 0.1 else _spelled(_chinese(rng), rng)
        while args.distinct and name in distinct:
            name = _latin(rng) if rng.random() < 0.1 else _spelled(_chinese(rng), rng)
        born = date(1950 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
        distinct.add(name)
        names = {"customer": [[name, born.isoformat(), "CN", None]]}
        record = merge_record(None, f"C{n:07d}", names, 0, False)
        size += len(record)
        partitions[n % args.partitions].append(record)
    engine = Engine(load_pack())
    rule = next(r for r in engine.rules if r.rule_id == "WATCHLIST_MATCH")
    at = datetime(2026, 12, 7, tzinfo=UTC)
    started, cpu = time.perf_counter(), time.process_time()
    alerts = 0
    matcher = WatchlistMatcher(new, rule.cfg.threshold)  # one per reload, as the worker
    for records in partitions:
        alerts += len(rescreen_findings(records, new, rule, engine.pack, at, matcher).alerts)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu  # CPU seconds: what one core spends, however busy
    per = cpu / args.customers
    result = {
        "customers": args.customers,
        "new_entries": args.new_entries,
        "partitions": args.partitions,
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(cpu, 2),
        "us_per_customer": round(per * 1e6, 1),
        "alerts": alerts,
        "distinct_names": len(distinct),
        "index_bytes_per_customer": round(size / args.customers, 1),
        "seconds_for_1m_customers": round(per * 1_000_000),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    print(
        f"{args.customers:,} customers against {args.new_entries:,} new entries "
        f"({args.partitions} partitions): {cpu:.1f} CPU s, {elapsed:.1f} s wall "
        f"({per * 1e6:.0f} us CPU per customer), "
        f"{alerts:,} alerts, {len(distinct):,} distinct names; "
        f"index {size / args.customers:.0f} bytes per customer"
    )
    print(f"1,000,000 customers at that rate: {per * 1e6:.0f} s on one core")
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
