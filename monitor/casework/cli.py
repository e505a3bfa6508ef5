"""The `monitor inbox` and `monitor audit` commands."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from typing import Any

from monitor.tools.cli_args import existing_file, positive_int

__all__ = ["add_casework_parsers", "run_audit", "run_inbox"]

logger = logging.getLogger(__name__)


def add_casework_parsers(sub: Any) -> None:
    inbox = sub.add_parser(
        "inbox", help="serve the analysts' web inbox (cases, four-eyes decisions)"
    )
    inbox_sub = inbox.add_subparsers(dest="inbox_command")
    inbox_sub.add_parser("hash-password", help="read a password, print its argon2 hash")
    inbox.add_argument("--users", type=existing_file, default=None, help="users YAML file")
    inbox.add_argument("--host", default="127.0.0.1")
    inbox.add_argument("--port", type=positive_int, default=8080)
    inbox.add_argument(
        "--proxy-header",
        default=None,
        help="take the user name from this header (only behind a trusted reverse proxy)",
    )
    inbox.add_argument("--session-minutes", type=positive_int, default=480)
    inbox.add_argument("--https-only", action="store_true", help="secure session cookie")

    audit = sub.add_parser("audit", help="the case record's integrity")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check every case's hash chain on the topic")
    verify.add_argument(
        "--topic", default=None, help="default: MONITOR_TOPIC_CASE_EVENTS or aml.case-events"
    )


def run_inbox(args: argparse.Namespace) -> int:
    from monitor.core.errors import ConfigurationError

    if args.inbox_command == "hash-password":
        from monitor.casework.web.auth import hash_password

        if sys.stdin.isatty():
            password = getpass.getpass("password: ")
        else:
            password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise ConfigurationError("an empty password")
        print(hash_password(password))
        return 0
    if args.users is None:
        raise ConfigurationError("monitor inbox: give --users FILE (see --help)")
    import uvicorn

    from monitor.casework.server import build_inbox

    app = build_inbox(
        users_file=args.users,
        proxy_header=args.proxy_header,
        session_seconds=args.session_minutes * 60,
        https_only=args.https_only,
    )
    logging.getLogger().setLevel(logging.INFO)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def run_audit(args: argparse.Namespace) -> int:
    from monitor.casework.audit import verify_records
    from monitor.casework.log import read_topic
    from monitor.casework.settings import load_casework_settings
    from monitor.io.kafka_security import aiokafka_options
    from monitor.io.settings import load_settings

    settings = load_settings()
    args.topic = args.topic or load_casework_settings().topic_case_events
    options = {"bootstrap_servers": settings.kafka_bootstrap, **aiokafka_options(settings)}
    from aiokafka.errors import KafkaError

    from monitor.core.errors import MonitorError

    try:
        records = asyncio.run(read_topic(settings, args.topic, options))
    except KafkaError as exc:
        raise MonitorError(
            f"cannot read {args.topic} from {settings.kafka_bootstrap}: {type(exc).__name__}"
        ) from None
    result = verify_records(records)
    for problem in result.breaks:
        print(str(problem))
    verdict = "intact" if result.intact else f"{len(result.breaks)} break(s)"
    print(f"{args.topic}: {result.events} events, {result.cases} cases: chains {verdict}")
    return 0 if result.intact else 1
