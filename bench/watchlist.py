"""Watch-list screening speed against list size: `python -m bench.watchlist [SIZES]`.

Builds synthetic lists (fictional given names and generated surnames, one to three aliases
per entry) of each size (0 = the shipped sample list), then screens names it has never
seen: each `WatchlistMatcher._scan` is the work a new customer or counterparty name costs
(repeated names are served from the matcher's caches). Prints the build time, the time
per new name and the number of candidates; no broker needed."""

from __future__ import annotations

import argparse
import random
import sys
import time

from monitor.core.screening import WatchlistEntry, WatchlistMatcher, load_watchlist
from monitor.tools.screen_eval import DEFAULT_WATCHLIST

_GIVEN = [
    "Wei",
    "Ahmad",
    "Mohammed",
    "Sergei",
    "Olga",
    "Fatima",
    "Juan",
    "Maria",
    "Kim",
    "Nguyen",
    "Ivan",
    "Li",
    "Hassan",
    "Omar",
    "Elena",
    "Dmitri",
    "Chen",
    "Yusuf",
    "Ali",
    "Anna",
]
_SYLLABLES = [
    "ka",
    "ro",
    "mi",
    "den",
    "sha",
    "vo",
    "lin",
    "tor",
    "bek",
    "za",
    "ni",
    "ov",
    "ura",
    "hel",
    "gan",
    "pet",
    "sun",
    "dar",
    "qui",
    "mor",
]


def _person(rng: random.Random) -> str:
    def surname() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice([2, 3, 3, 4]))).title()

    extra = f" {surname()}" if rng.random() < 0.3 else ""
    return f"{rng.choice(_GIVEN)} {surname()}{extra}"


def synthetic_entries(size: int, seed: int = 7) -> list[WatchlistEntry]:
    rng = random.Random(seed + size)
    return [
        WatchlistEntry(
            f"E{i}",
            tuple(_person(rng) for _ in range(rng.choice([1, 2, 3]))),
            None,
            None,
            "synthetic",
            "bench",
        )
        for i in range(size)
    ]


def measure(size: int, names: int = 300) -> dict[str, float]:
    entries = synthetic_entries(size) if size else load_watchlist(DEFAULT_WATCHLIST)
    began = time.perf_counter()
    matcher = WatchlistMatcher(entries)
    built = time.perf_counter() - began
    rng = random.Random(99)
    queries = [_person(rng) for _ in range(names)]
    began = time.perf_counter()
    candidates = sum(len(matcher._scan(q)) for q in queries)  # noqa: SLF001 - uncached work
    per_name = (time.perf_counter() - began) / names
    return {
        "entries": len(entries),
        "build_s": round(built, 2),
        "ms_per_new_name": round(per_name * 1000, 3),
        "candidates": candidates,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sizes",
        nargs="*",
        type=int,
        default=[0, 5_000, 50_000],
        help="list sizes in entries (0: the shipped sample list)",
    )
    parser.add_argument("--names", type=int, default=300, help="new names screened per list")
    args = parser.parse_args(argv)
    for size in args.sizes:
        result = measure(size, args.names)
        print(
            f"{result['entries']:>8,} entries: built in {result['build_s']:.2f} s, "
            f"{result['ms_per_new_name']:.3f} ms per new name, "
            f"{result['candidates']:,} candidates",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
