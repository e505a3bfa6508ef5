"""`monitor screen`: ad-hoc screening of one name for analysts, and the scorecard."""

from __future__ import annotations

import argparse
import re
from typing import Any

import orjson

from monitor.core.errors import ConfigurationError
from monitor.tools.cli_args import existing_file, finite_float, iso_date

__all__ = ["add_screen_parser", "run_screen"]


def _country(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", text.strip()):
        raise argparse.ArgumentTypeError(f"must be an ISO 3166 alpha-2 code, got {text!r}")
    return text.strip().upper()


def _threshold(text: str) -> float:
    value = finite_float(text)
    if not 50 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be within 50..100, got {text}")
    return value


def add_screen_parser(sub: Any) -> None:
    """The `screen` subcommand and its arguments."""
    screen = sub.add_parser(
        "screen",
        help="screen a name against watch lists, or print the scorecard (--evaluate)",
    )
    screen.add_argument("name", nargs="?", default=None, help="the name to screen")
    screen.add_argument("--birth-date", type=iso_date, default=None)
    screen.add_argument("--country", type=_country, default=None, help="ISO alpha-2")
    screen.add_argument("--id-number", default=None)
    screen.add_argument(
        "--list",
        dest="lists",
        type=existing_file,
        action="append",
        default=None,
        help="a list file (YAML, OFAC SDN XML/CSV, UN XML, FtM JSON); repeatable "
        "(default: the shipped sample list)",
    )
    screen.add_argument("--threshold", type=_threshold, default=None)
    screen.add_argument(
        "--evaluate",
        type=existing_file,
        default=None,
        metavar="PAIRS.csv",
        help="print precision and recall per category of labelled pairs",
    )
    screen.add_argument("--json", action="store_true", help="print JSON")


def run_screen(args: argparse.Namespace) -> int:
    """Screen `args.name` (exit 0 with or without candidates) or evaluate pairs."""
    from monitor.core.screening import DEFAULT_THRESHOLD, WatchlistMatcher
    from monitor.core.screening.lists import load_list
    from monitor.tools.screen_eval import DEFAULT_WATCHLIST, load_pairs

    if args.evaluate is None and (args.name is None or not args.name.strip()):
        raise ConfigurationError("screen: give a NAME, or --evaluate PAIRS.csv")
    entries = [e for path in args.lists or [DEFAULT_WATCHLIST] for e in load_list(path)]
    matcher = WatchlistMatcher(entries, args.threshold or DEFAULT_THRESHOLD)
    if args.evaluate is not None:
        from monitor.tools.scorecard import format_scorecard, scorecard

        try:
            card = scorecard(matcher, load_pairs(args.evaluate))
        except UnicodeDecodeError:
            raise ConfigurationError(f"{args.evaluate}: not UTF-8 text") from None
        if args.json:
            slim = {k: {m: v for m, v in r.items() if m != "failures"} for k, r in card.items()}
            print(orjson.dumps(slim, option=orjson.OPT_INDENT_2).decode())
        else:
            print(format_scorecard(card))
        return 0
    by_id = {e.entry_id: e for e in entries}
    found = matcher.match(args.name, args.birth_date, args.country, args.id_number)
    rows = [
        {
            "entry_id": m.entry_id,
            "list": m.list_name,
            "listed_name": by_id[m.entry_id].names[m.matched_alias_index],
            "score": round(m.score, 1),
            "name_score": round(m.name_score, 1),
            "agreed": list(m.identifiers.agreed),
            "conflicted": list(m.identifiers.conflicted),
            "missing": list(m.identifiers.missing),
            "weak_alias": m.weak_alias,
            "common_name": m.common_name,
            "reason": by_id[m.entry_id].reason,
        }
        for m in found
    ]
    if args.json:
        print(orjson.dumps({"candidates": rows}, option=orjson.OPT_INDENT_2).decode())
        return 0
    if not rows:
        print(f"no candidates at threshold {matcher.threshold:.0f} ({len(entries)} entries)")
        return 0
    for row, match in zip(rows, found, strict=True):
        print(
            f"{row['score']:5.1f}  {row['entry_id']}  {row['listed_name']}  [{row['list']}]"
            f"\n       {match.reasons()}"
        )
    return 0
