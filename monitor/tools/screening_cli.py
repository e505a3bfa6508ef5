"""`monitor screening`: the names index of re-screening (`backfill`); its arguments here,
its work in `monitor.tools.backfill` (imported when run: it loads the screening code)."""

from __future__ import annotations

import argparse
from typing import Any

from monitor.tools.cli_args import existing_file

__all__ = ["add_screening_parser", "run_screening"]


def add_screening_parser(sub: Any) -> None:
    """The `screening` subcommand and its `backfill` command."""
    screening = sub.add_parser("screening", help="the names index of re-screening")
    commands = screening.add_subparsers(dest="screening_command", required=True)
    backfill = commands.add_parser(
        "backfill",
        help="write the customers of a customer file (or of the KYC topics) to the names "
        "index, so that list updates re-screen them",
    )
    backfill.add_argument(
        "file",
        nargs="?",
        type=existing_file,
        default=None,
        help="account openings in the contract's fields, one a line (JSONL) or a row (CSV)",
    )
    backfill.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default=None,
        help="the file's format (default: from its suffix, .csv or else JSONL)",
    )
    backfill.add_argument(
        "--from-topic",
        action="store_true",
        help="also read the openings and customer-updates topics from the beginning",
    )
    backfill.add_argument(
        "--skip-invalid",
        action="store_true",
        help="skip invalid lines and count them (default: stop at the first, exit 2)",
    )
    backfill.add_argument(
        "--rules", type=existing_file, default=None, help="rule pack (default: MONITOR_RULES)"
    )


def run_screening(args: argparse.Namespace) -> int:
    """Run a `monitor screening` command."""
    from monitor.tools.backfill import run_backfill

    return run_backfill(args)
