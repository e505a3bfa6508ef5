"""The `monitor` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from monitor.errors import MonitorError

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
            from monitor.settings import load_settings
            from monitor.worker import run_worker

            settings = load_settings()
            logging.getLogger().setLevel(settings.log_level)
            run_worker(settings)
            return 0
        if args.command == "rules":
            return _rules_check(args.file)
        if args.command == "produce":
            from monitor.scenario import produce_file
            from monitor.settings import load_settings

            count = produce_file(load_settings(), args.file)
            print(f"produced {count} messages from {args.file}")
            return 0
        if args.command == "demo":
            from monitor.demo import run_demo

            return run_demo(args.scenario, args.timeout)
    except MonitorError as exc:
        print(f"monitor: {exc}", file=sys.stderr)
        return 2
    return 1


def _rules_check(path: Path) -> int:
    from monitor.pack import load_pack

    pack = load_pack(path)
    print(f"pack {pack.name} ({path}): valid")
    print(f"  time zone {pack.config.timezone}, calendar {pack.calendar.name}, "
          f"FX base {pack.fx.base} ({len(pack.fx.currencies)} currencies)")
    for rule_id, cfg in pack.config.rules:
        state = "on " if cfg.enabled else "off"
        print(f"  [{state}] {rule_id:<22} {cfg.category:<19} severity {cfg.severity}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
