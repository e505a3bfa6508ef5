"""The `monitor` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

import orjson

from monitor.core.errors import MonitorError
from monitor.tools.cli_args import (
    Parser,
    existing_dir,
    existing_file,
    iso_date,
    moment,
    non_negative_float,
    one_line,
    output_dir,
    positive_float,
    positive_int,
)

__all__ = ["main"]

logger = logging.getLogger("monitor")


def _parser() -> Parser:
    parser = Parser(
        prog="monitor",
        description="AML transaction monitor: PBoC rule pack over Kafka, alerts to Redis queues.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "worker",
        help="run the stream worker (configured by MONITOR_* environment variables)",
    )

    rules = sub.add_parser("rules", help="rule pack tools")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_sub.add_parser("check", help="validate a rule pack and list its rules")
    check.add_argument("file", type=existing_file)
    check.add_argument(
        "--today",
        type=iso_date,
        default=None,
        help="check the calendar's coverage as of this day (default: today in the pack's zone)",
    )

    produce = sub.add_parser("produce", help="produce a JSONL scenario file to the input topics")
    produce.add_argument("file", type=existing_file)

    replay = sub.add_parser(
        "replay", help="run a rule pack over the input topics' history (event-time order)"
    )
    replay.add_argument(
        "--from",
        dest="start",
        type=moment,
        required=True,
        help="first day (YYYY-MM-DD) or ISO time",
    )
    replay.add_argument(
        "--to",
        dest="end",
        type=moment,
        required=True,
        help="last day, inclusive, or ISO time (exclusive)",
    )
    replay.add_argument(
        "--rules", type=existing_file, default=None, help="rule pack (default: MONITOR_RULES)"
    )
    replay.add_argument(
        "--out", type=output_dir, default=None, help="write alerts.jsonl and reid-tasks.jsonl here"
    )
    replay.add_argument(
        "--topic-prefix", default=None, help="write to <prefix>aml.alerts etc. instead"
    )
    replay.add_argument(
        "--live-topics", action="store_true", help="allow an empty prefix (live topics)"
    )
    replay.add_argument("--no-progress", action="store_true")
    replay.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes, each replaying a shard of the customers (default 1)",
    )

    simulate = sub.add_parser("simulate", help="generate labelled synthetic bank traffic")
    simulate.add_argument("--customers", type=positive_int, default=1000)
    simulate.add_argument("--days", type=positive_int, default=30)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument(
        "--start", type=iso_date, default=date(2026, 3, 2), help="first day (YYYY-MM-DD)"
    )
    simulate.add_argument(
        "--rate", type=non_negative_float, default=0.6, help="events per customer and day"
    )
    simulate.add_argument("--out", type=output_dir, required=True)
    simulate.add_argument("--produce", action="store_true", help="also produce to the input topics")

    backtest = sub.add_parser("backtest", help="precision/recall of rule packs on labelled data")
    backtest.add_argument("--data", type=existing_dir, required=True)
    backtest.add_argument(
        "--labels", type=existing_file, default=None, help="default: DATA/labels.jsonl"
    )
    backtest.add_argument("--rules", type=existing_file, default=None)
    backtest.add_argument(
        "--compare", type=existing_file, default=None, help="a second pack, side by side"
    )
    backtest.add_argument("--report", type=output_dir, required=True, help="output directory")
    backtest.add_argument(
        "--sweep",
        action="append",
        default=[],
        metavar="RULE.param=v1,v2,...",
        help="variants of --rules with one parameter set to each value, in one pass (repeatable)",
    )

    from monitor.tools.queue_cli import add_queue_parser
    from monitor.tools.screen_cli import add_screen_parser
    from monitor.tools.screening_cli import add_screening_parser

    add_queue_parser(sub)
    add_screen_parser(sub)
    add_screening_parser(sub)

    from monitor.casework.cli import add_casework_parsers

    add_casework_parsers(sub)

    demo = sub.add_parser("demo", help="run the one-command demo (embedded broker and Redis)")
    demo.add_argument("--scenario", type=existing_file, default=None)
    demo.add_argument("--timeout", type=positive_float, default=120.0)
    demo.add_argument(
        "--serve", action="store_true", help="then serve the analyst inbox on the demo's alerts"
    )
    demo.add_argument("--port", type=positive_int, default=8080, help="the inbox's port")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one `monitor` command. A bad argument, setting or input file ends it with one
    line on stderr naming the culprit and exit status 2."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check_combinations(parser, args)
    logging.basicConfig(
        level=logging.INFO if args.command == "worker" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    try:
        return _run(args)
    except MonitorError as exc:
        print(f"monitor: {one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.filename is None:
            raise
        print(f"monitor: {exc.filename}: {exc.strerror or one_line(exc)}", file=sys.stderr)
        return 2


def _check_combinations(parser: Parser, args: argparse.Namespace) -> None:
    """Refuse argument combinations that no single `type=` can judge (exit 2)."""
    prog = f"{parser.prog} {args.command}"

    def refuse(message: str) -> None:
        parser.exit(2, f"{prog}: error: {message} (see --help)\n")

    if args.command == "replay":
        if args.out is None and args.topic_prefix is None:
            refuse("give --out DIR or --topic-prefix PREFIX")
        if args.topic_prefix == "" and not args.live_topics:
            refuse("an empty --topic-prefix writes to the live aml.* topics: add --live-topics")
        if _sorts_after(args.start, args.end):
            refuse("--to must not be before --from")
    if args.command == "backtest" and args.labels is None:
        labels = args.data / "labels.jsonl"
        if not labels.is_file():
            refuse(f"{labels}: no such file (give --labels FILE)")
        args.labels = labels


def _sorts_after(start: date | datetime, end: date | datetime) -> bool:
    """True when both are days, or both times, and `end` comes before `start`."""
    if isinstance(start, datetime) != isinstance(end, datetime):
        return False
    return end < start


def _run(args: argparse.Namespace) -> int:
    if args.command == "worker":
        from agents.worker import run_worker
        from monitor.io.settings import load_settings

        settings = load_settings()
        logging.getLogger().setLevel(settings.log_level)
        run_worker(settings)
        return 0
    if args.command == "rules":
        return _rules_check(args.file, args.today)
    if args.command == "produce":
        from monitor.io.settings import load_settings
        from monitor.tools.scenario import produce_file

        count = produce_file(load_settings(), args.file)
        print(f"produced {count} messages from {args.file}")
        return 0
    if args.command == "queue":
        from monitor.tools.queue_cli import run_queue

        return run_queue(args)
    if args.command == "screen":
        from monitor.tools.screen_cli import run_screen

        return run_screen(args)
    if args.command == "screening":
        from monitor.tools.screening_cli import run_screening

        return run_screening(args)
    if args.command in ("inbox", "audit"):
        from monitor.casework.cli import run_audit, run_inbox

        return run_inbox(args) if args.command == "inbox" else run_audit(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "simulate":
        return _simulate(args)
    if args.command == "backtest":
        return _backtest(args)
    if args.command == "demo":
        from monitor.tools.demo import run_demo

        return run_demo(args.scenario, args.timeout, args.port if args.serve else None)
    return 1


def _time_arg(value: date | datetime, tz: tzinfo, end: bool) -> datetime:
    """A `moment` as a time: a day starts at midnight in `tz` (the day after, for `end`)."""
    if isinstance(value, datetime):
        return value
    day = value + (timedelta(days=1) if end else timedelta(0))
    return datetime.combine(day, time(0), tzinfo=tz)


def _replay(args: argparse.Namespace) -> int:
    from monitor.core.pack import load_pack
    from monitor.io.settings import load_settings
    from monitor.tools.replay import replay

    settings = load_settings()
    pack = load_pack(args.rules or settings.rules)
    start, end = _time_arg(args.start, pack.tz, False), _time_arg(args.end, pack.tz, True)
    if end <= start:
        raise MonitorError("--to must be after --from")
    try:
        stats = replay(
            settings,
            pack,
            start,
            end,
            args.out,
            args.topic_prefix,
            args.live_topics,
            show_progress=not args.no_progress,
            workers=args.workers,
        )
    except ValueError as exc:
        raise MonitorError(str(exc)) from None
    where = args.out or f"topics {args.topic_prefix}{settings.topic_alerts}"
    print(
        f"replayed {stats.events:,} events ({stats.customers:,} customers) in "
        f"{stats.seconds:.1f}s = {stats.events_per_s:,.0f} events/s; {stats.alerts:,} alerts, "
        f"{stats.tasks:,} tasks in range -> {where}; {stats.invalid:,} invalid inputs "
        f"skipped{_by_reason(stats.invalid_by_reason)}"
    )
    return 0


def _by_reason(counts: dict[str, int]) -> str:
    """ " (schema 3, invalid_json 1)" for the counts of invalid inputs per reason."""
    if not counts:
        return ""
    return (
        " ("
        + ", ".join(
            f"{reason} {n:,}" for reason, n in sorted(counts.items(), key=lambda rn: -rn[1])
        )
        + ")"
    )


def _simulate(args: argparse.Namespace) -> int:
    from monitor.tools.simulate import simulate, write_simulation

    settings = None
    if args.produce:  # a bad MONITOR_* setting stops the run before any work
        from monitor.io.settings import load_settings

        settings = load_settings()
    sim = simulate(args.customers, args.days, args.seed, args.start, args.rate)
    counts = write_simulation(sim, args.out)
    print(
        f"simulated {sim.count:,} events for {args.customers:,} customers over {args.days} days "
        f"(seed {args.seed}) -> {args.out}"
    )
    for topic, n in counts.items():
        print(f"  {topic:<24} {n:>10,}")
    print(f"  labels.jsonl             {len(sim.labels):>10,}")
    if settings is not None:
        import asyncio

        from monitor.tools.scenario import Message, produce
        from monitor.tools.simulate import TOPIC_FILES, arrivals

        messages = [  # in the order the bank's systems deliver them, all topics together
            Message(TOPIC_FILES[topic], value["customer_id"].encode(), orjson.dumps(value))
            for topic, value in arrivals(sim)
        ]
        print(f"produced {asyncio.run(produce(settings, messages)):,} messages")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from monitor.tools.backtest import run_cli

    return run_cli(args)


def _rules_check(path: Path, today: date | None = None) -> int:
    from monitor.core.calendar import check_coverage
    from monitor.core.pack import load_pack

    pack = load_pack(path)
    calendar_warning = check_coverage(pack.calendar, today or datetime.now(pack.tz).date())
    print(f"pack {pack.name} ({path}): valid, version {pack.version}")
    print(
        f"  time zone {pack.config.timezone}, calendar {pack.calendar.name}, "
        f"FX base {pack.fx.base} ({len(pack.fx.currencies)} currencies)"
    )
    if calendar_warning:
        print(f"  warning: {calendar_warning}")
    for rule_id, cfg in pack.config.rules:
        state = "on " if cfg.enabled else "off"
        print(f"  [{state}] {rule_id:<30} {cfg.category:<19} severity {cfg.severity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
