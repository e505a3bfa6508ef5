"""Precision, recall and speed of the watch-list matcher on labelled query/entry pairs."""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import timeit
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from monitor.core.defaults import default_file
from monitor.core.errors import ConfigurationError, MonitorError
from monitor.core.screening import (
    DEFAULT_THRESHOLD,
    WatchlistEntry,
    WatchlistMatcher,
    load_watchlist,
)
from monitor.tools.cli_args import Parser, existing_file, finite_float, one_line

__all__ = [
    "DEFAULT_PAIRS",
    "DEFAULT_WATCHLIST",
    "Pair",
    "evaluate",
    "load_pairs",
    "main",
    "sweep",
    "time_per_query",
]

logger = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[2]  # test data (tests/data) is not shipped
DEFAULT_WATCHLIST = default_file("watchlists", "sample.yaml")
DEFAULT_PAIRS = _ROOT / "tests" / "data" / "watchlist_pairs.csv"
SWEEP = tuple(range(80, 96))
_COLUMNS = ("query_name", "query_birth_date", "query_country", "expected_entry_id")


@dataclass(frozen=True, slots=True)
class Pair:
    """A labelled query: `expected` is the entry the query names, None for a non-match.
    `line` is the row's line number in its file (reports cite it instead of the name)."""

    name: str
    birth_date: date | None
    country: str | None
    expected: str | None
    line: int = 0
    category: str = ""
    id_number: str | None = None


def load_pairs(path: Path) -> list[Pair]:
    """Rows `query_name,query_birth_date,query_country,expected_entry_id` (empty = none),
    optionally `category` and `query_id_number`.
    A missing column or a bad date raises `ConfigurationError` naming the file and line."""
    pairs = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigurationError(f"{path}:1: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            if any(row[c] is None for c in _COLUMNS):
                raise ConfigurationError(f"{path}:{line}: fewer than {len(_COLUMNS)} columns")
            birth = row["query_birth_date"].strip()
            try:
                born = date.fromisoformat(birth) if birth else None
            except ValueError:
                raise ConfigurationError(
                    f"{path}:{line}: query_birth_date {birth!r} is not YYYY-MM-DD"
                ) from None
            pairs.append(
                Pair(
                    name=row["query_name"],
                    birth_date=born,
                    country=row["query_country"].strip() or None,
                    expected=row["expected_entry_id"].strip() or None,
                    line=line,
                    category=(row.get("category") or "").strip(),
                    id_number=(row.get("query_id_number") or "").strip() or None,
                )
            )
    return pairs


def evaluate(matcher: WatchlistMatcher, pairs: Iterable[Pair]) -> dict[str, Any]:
    """Screen every pair and count outcomes, one per query:

    * expected entry set and among the returned matches: TP (other entries returned
      alongside are counted in `extra`, not as FP);
    * expected entry set, matches returned, none of them the expected one: `wrong`,
      counted both as FP (an alert on the wrong entry) and as FN (the person is missed);
    * expected entry set, nothing returned: FN;
    * no expected entry, anything returned: FP; nothing returned: TN.

    precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic mean (each 0.0
    when its denominator is 0). `failures` lists (line, expected, returned ids) of every
    pair that is not a TP or TN, by line number, never by name.
    """
    tp = fp = fn = tn = wrong = extra = total = 0
    failures: list[tuple[int, str | None, tuple[str, ...]]] = []
    for pair in pairs:
        total += 1
        extra_args = (pair.id_number,) if pair.id_number else ()
        found = tuple(
            m.entry_id
            for m in matcher.match(pair.name, pair.birth_date, pair.country, *extra_args)
        )
        if pair.expected is None:
            if found:
                fp += 1
            else:
                tn += 1
                continue
        elif pair.expected in found:
            tp += 1
            extra += len(found) - 1
            continue
        elif found:
            wrong += 1
            fp += 1
            fn += 1
        else:
            fn += 1
        failures.append((pair.line, pair.expected, found))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "threshold": matcher.threshold,
        "pairs": total,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "wrong": wrong,
        "extra": extra,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "failures": failures,
    }


def sweep(
    entries: Sequence[WatchlistEntry], pairs: Sequence[Pair], thresholds: Iterable[float] = SWEEP
) -> list[dict[str, Any]]:
    """`evaluate` at each threshold, with a matcher built per threshold."""
    return [evaluate(WatchlistMatcher(entries, t), pairs) for t in thresholds]


def time_per_query(matcher: WatchlistMatcher, pairs: Sequence[Pair], repeat: int = 5) -> float:
    """Best-of-`repeat` seconds per `match` call over all pairs (timeit, one pass each)."""

    def screen() -> None:
        for pair in pairs:
            matcher.match(pair.name, pair.birth_date, pair.country)

    return min(timeit.repeat(screen, number=1, repeat=repeat)) / max(len(pairs), 1)


def _row(result: dict[str, Any]) -> str:
    return (
        f"{result['threshold']:6.1f} {result['tp']:4d} {result['fp']:4d} {result['fn']:4d} "
        f"{result['tn']:4d} {result['wrong']:5d} {result['precision']:9.3f} "
        f"{result['recall']:7.3f} {result['f1']:6.3f}"
    )


def _threshold(text: str) -> float:
    value = finite_float(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be within 0..100, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = Parser(
        prog="python -m monitor.tools.screen_eval",
        description=__doc__,
    )
    parser.add_argument("--threshold", type=_threshold, default=DEFAULT_THRESHOLD)
    parser.add_argument("--watchlist", type=existing_file, default=DEFAULT_WATCHLIST)
    parser.add_argument("--pairs", type=existing_file, default=DEFAULT_PAIRS)
    args = parser.parse_args(argv)

    try:
        entries = load_watchlist(args.watchlist)
        pairs = load_pairs(args.pairs)
    except MonitorError as exc:
        print(f"{parser.prog}: {one_line(exc)}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"{parser.prog}: {args.pairs}: not UTF-8 text", file=sys.stderr)
        return 2
    matcher = WatchlistMatcher(entries, args.threshold)
    result = evaluate(matcher, pairs)
    header = "     T   TP   FP   FN   TN wrong precision  recall     F1"
    print(f"watch list: {args.watchlist} ({len(entries)} entries)")
    print(
        f"pairs:      {args.pairs} ({result['pairs']} queries, "
        f"{sum(p.expected is not None for p in pairs)} expected matches)"
    )
    print(header)
    print(_row(result))
    for line, expected, found in result["failures"]:
        print(
            f"  miss/false alarm: line {line}: expected {expected or '-'}, "
            f"got {', '.join(found) or '-'}"
        )
    print("\nthreshold sweep")
    print(header)
    for row in sweep(entries, pairs):
        print(_row(row))
    cold = time_per_query(WatchlistMatcher(entries, args.threshold, cache_size=0), pairs)
    warm_matcher = WatchlistMatcher(entries, args.threshold)
    warm = time_per_query(warm_matcher, pairs)
    print(
        f"\nmatch time per query: {cold * 1e6:.0f} us without the name cache, "
        f"{warm * 1e6:.0f} us with it (best of 5 passes over {len(pairs)} queries)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
