"""The `monitor` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import orjson

from monitor.core.errors import MonitorError

__all__ = ["main"]

logger = logging.getLogger("monitor")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
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
    check.add_argument("file", type=Path)

    produce = sub.add_parser("produce", help="produce a JSONL scenario file to the input topics")
    produce.add_argument("file", type=Path)

    replay = sub.add_parser(
        "replay", help="run a rule pack over the input topics' history (event-time order)"
    )
    replay.add_argument(
        "--from", dest="start", required=True, help="first day (YYYY-MM-DD) or ISO time"
    )
    replay.add_argument(
        "--to", dest="end", required=True, help="last day, inclusive, or ISO time (exclusive)"
    )
    replay.add_argument(
        "--rules", type=Path, default=None, help="rule pack (default: MONITOR_RULES)"
    )
    replay.add_argument(
        "--out", type=Path, default=None, help="write alerts.jsonl and reid-tasks.jsonl here"
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
        type=int,
        default=1,
        help="processes, each replaying a shard of the customers (default 1)",
    )

    simulate = sub.add_parser("simulate", help="generate labelled synthetic bank traffic")
    simulate.add_argument("--customers", type=int, default=1000)
    simulate.add_argument("--days", type=int, default=30)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--start", default="2026-03-02", help="first day (YYYY-MM-DD)")
    simulate.add_argument("--rate", type=float, default=0.6, help="events per customer and day")
    simulate.add_argument("--out", type=Path, required=True)
    simulate.add_argument("--produce", action="store_true", help="also produce to the input topics")

    backtest = sub.add_parser("backtest", help="precision/recall of rule packs on labelled data")
    backtest.add_argument("--data", type=Path, required=True)
    backtest.add_argument("--labels", type=Path, default=None, help="default: DATA/labels.jsonl")
    backtest.add_argument("--rules", type=Path, default=None)
    backtest.add_argument("--compare", type=Path, default=None, help="a second pack, side by side")
    backtest.add_argument("--report", type=Path, required=True, help="output directory")

    from monitor.tools.queue_cli import add_queue_parser

    add_queue_parser(sub)

    demo = sub.add_parser("demo", help="run the one-command demo (embedded broker and Redis)")
    demo.add_argument("--scenario", type=Path, default=None)
    demo.add_argument("--timeout", type=float, default=120.0)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    try:
        if args.command == "worker":
            from agents.worker import run_worker
            from monitor.io.settings import load_settings

            settings = load_settings()
            logging.getLogger().setLevel(settings.log_level)
            run_worker(settings)
            return 0
        if args.command == "rules":
            return _rules_check(args.file)
        if args.command == "produce":
            from monitor.io.settings import load_settings
            from monitor.tools.scenario import produce_file

            count = produce_file(load_settings(), args.file)
            print(f"produced {count} messages from {args.file}")
            return 0
        if args.command == "queue":
            from monitor.tools.queue_cli import run_queue

            return run_queue(args)
        if args.command == "replay":
            return _replay(args)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "backtest":
            return _backtest(args)
        if args.command == "demo":
            from monitor.tools.demo import run_demo

            return run_demo(args.scenario, args.timeout)
    except MonitorError as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return 2
    return 1


def _time_arg(text: str, tz, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + (timedelta(days=1) if end else timedelta(0))
            return datetime.combine(day, time(0), tzinfo=tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MonitorError(f"{text!r} is neither YYYY-MM-DD nor an ISO time") from None
    if moment.tzinfo is None:
        raise MonitorError(f"{text!r} has no UTC offset")
    return moment


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
        f"replayed {stats.events:,} events ({stats.customers:,} customers) in {stats.seconds:.1f}s "
        f"= {stats.events_per_s:,.0f} events/s; {stats.alerts:,} alerts, "
        f"{stats.tasks:,} tasks in range "
        f"-> {where}; {stats.invalid:,} invalid inputs skipped{_by_reason(stats.invalid_by_reason)}"
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

    sim = simulate(args.customers, args.days, args.seed, date.fromisoformat(args.start), args.rate)
    counts = write_simulation(sim, args.out)
    print(
        f"simulated {sim.count:,} events for {args.customers:,} customers over {args.days} days "
        f"(seed {args.seed}) -> {args.out}"
    )
    for topic, n in counts.items():
        print(f"  {topic:<24} {n:>10,}")
    print(f"  labels.jsonl             {len(sim.labels):>10,}")
    if args.produce:
        import asyncio

        from monitor.io.settings import load_settings
        from monitor.tools.scenario import Message, produce
        from monitor.tools.simulate import TOPIC_FILES, arrivals

        messages = [  # in the order the bank's systems deliver them, all topics together
            Message(TOPIC_FILES[topic], value["customer_id"].encode(), orjson.dumps(value))
            for topic, value in arrivals(sim)
        ]
        print(f"produced {asyncio.run(produce(load_settings(), messages)):,} messages")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from monitor.core.pack import load_pack
    from monitor.tools.backtest import backtest, write_report

    packs = [load_pack(args.rules)] + ([load_pack(args.compare)] if args.compare else [])
    labels = args.labels or args.data / "labels.jsonl"
    report = backtest(args.data, labels, packs)
    write_report(report, args.report)
    for p in report["packs"]:
        print(
            f"{p['pack']}: {p['events']:,} events, {p['alerts']:,} alerts "
            f"({p['alerts_per_1000_customers']:.1f} per 1,000 customers)"
        )
        for name, t in p["per_typology"].items():
            if "recall" in t:
                print(f"  {name:<32} recall {t['recall']:.3f} ({t['detected']}/{t['customers']})")
            else:
                print(f"  {name:<32} false alarms {t['false_alarms']}/{t['customers']}")
    print(f"report: {args.report}/report.html, report.md, report.json")
    return 0


def _rules_check(path: Path) -> int:
    from monitor.core.pack import load_pack

    pack = load_pack(path)
    print(f"pack {pack.name} ({path}): valid")
    print(
        f"  time zone {pack.config.timezone}, calendar {pack.calendar.name}, "
        f"FX base {pack.fx.base} ({len(pack.fx.currencies)} currencies)"
    )
    for rule_id, cfg in pack.config.rules:
        state = "on " if cfg.enabled else "off"
        print(f"  [{state}] {rule_id:<30} {cfg.category:<19} severity {cfg.severity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
