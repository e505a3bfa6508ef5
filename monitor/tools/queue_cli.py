"""`monitor queue`: the compliance analysts' view of the Redis Stream queues, and the
queue gauges the worker exports."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import redis

from monitor.core.errors import MonitorError
from monitor.io.queues import (
    DEFAULT_GROUP,
    DEFAULT_PREFIX,
    list_queues,
    queue_gauges,
    rule_counts,
    server_time_ms,
    summarise,
)
from monitor.tools.cli_args import iso_date, non_negative_int, positive_int
from monitor.tools.queue_format import (
    ENTRY_HEADERS,
    entry_detail,
    entry_json,
    entry_row,
    format_age,
    one_line,
    redact_url,
    table,
)

__all__ = ["QueueError", "add_queue_parser", "queue_gauges", "redact_url", "run_queue"]

logger = logging.getLogger(__name__)

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
#: report_due dates are calendar dates in the rule pack's zone (the default pack's here)
DEFAULT_TIMEZONE = "Asia/Shanghai"

_ENTRY_ID = re.compile(r"^\d+(-\d+)?$")
_COUNT_KEYS = ("entries", "open", "overdue", "due_soon")


class QueueError(MonitorError):
    """A queue command cannot do what was asked (unknown queue, bad entry id). The message
    says what to fix."""


# --------------------------------------------------------------------------- commands


@dataclass(slots=True)
class _Context:
    client: redis.Redis
    prefix: str
    group: str
    today: date
    args: argparse.Namespace

    def stream(self, queue: str) -> str:
        """The stream key of `queue` (a bare name or the full key); QueueError if absent."""
        name = queue[len(self.prefix) :] if queue.startswith(self.prefix) else queue
        key = f"{self.prefix}{name}"
        if self.client.type(key) != "stream":
            known = ", ".join(list_queues(self.client, self.prefix)) or "none"
            raise QueueError(f"unknown queue {name!r}: no stream {key} (queues: {known})")
        return key

    def ensure_group(self, stream: str) -> None:
        try:
            self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


@dataclass(slots=True)
class _Result:
    data: Any
    text: str
    code: int = 0
    warning: str | None = None


def _cmd_ls(ctx: _Context) -> _Result:
    now = server_time_ms(ctx.client)
    rows, data = [], []
    for queue in list_queues(ctx.client, ctx.prefix):
        s = summarise(ctx.client, f"{ctx.prefix}{queue}", ctx.group, ctx.today)
        age = s.oldest_age_seconds(now)
        data.append(
            {
                "queue": queue,
                "stream": f"{ctx.prefix}{queue}",
                "depth": s.depth,
                "pending": s.pending,
                "open": s.open,
                "oldest_age_seconds": round(age, 3) if s.open else None,
                "overdue": s.overdue,
                "due_soon": s.due_soon,
            }
        )
        rows.append(
            [
                queue,
                str(s.depth),
                str(s.pending),
                str(s.open),
                format_age(age) if s.open else "-",
                str(s.overdue),
                str(s.due_soon),
            ]
        )
    payload = {"group": ctx.group, "today": ctx.today.isoformat(), "queues": data}
    if not rows:
        return _Result(payload, f"no queues under {ctx.prefix!r}")
    text = table(
        ["QUEUE", "DEPTH", "PENDING", "OPEN", "OLDEST OPEN", "OVERDUE", "DUE SOON"],
        rows,
        right={1, 2, 3, 4, 5, 6},
    )
    return _Result(payload, f"{text}\n(group {ctx.group}, today {ctx.today})")


def _cmd_tail(ctx: _Context) -> _Result:
    stream = ctx.stream(ctx.args.queue)
    latest = ctx.client.xrevrange(stream, count=ctx.args.n)
    entries = [(i, dict(f)) for i, f in reversed(latest)]
    queue = stream[len(ctx.prefix) :]
    payload = {"queue": queue, "entries": [entry_json(i, f) for i, f in entries]}
    if not entries:
        return _Result(payload, f"queue {queue} is empty")
    return _Result(payload, table(ENTRY_HEADERS, [entry_row(i, f) for i, f in entries]))


def _cmd_show(ctx: _Context) -> _Result:
    stream = ctx.stream(ctx.args.queue)
    found = ctx.client.xrange(stream, ctx.args.id, ctx.args.id, count=1)
    if not found:
        raise QueueError(f"no entry {ctx.args.id} in {stream[len(ctx.prefix) :]}")
    entry_id, fields = found[0][0], dict(found[0][1])
    return _Result(entry_json(entry_id, fields), entry_detail(entry_id, fields))


def _cmd_claim(ctx: _Context) -> _Result:
    args = ctx.args
    stream = ctx.stream(args.queue)
    ctx.ensure_group(stream)
    claimed: list[tuple[str, dict[str, str], str]] = []
    if args.stale_ms is not None:  # take over abandoned entries first
        cursor = "0-0"
        while len(claimed) < args.count:
            reply = ctx.client.xautoclaim(
                stream,
                ctx.group,
                args.consumer,
                args.stale_ms,
                cursor,
                count=args.count - len(claimed),
            )
            cursor = reply[0]
            claimed += [(i, dict(f), "reclaimed") for i, f in reply[1] if f]
            if cursor == "0-0":
                break
    if len(claimed) < args.count:
        reply = ctx.client.xreadgroup(
            ctx.group, args.consumer, {stream: ">"}, count=args.count - len(claimed)
        )
        batches = reply.values() if isinstance(reply, dict) else [b for _, b in reply or []]
        for batch in batches:
            claimed += [(i, dict(f), "new") for i, f in batch]
    queue = stream[len(ctx.prefix) :]
    payload = {
        "queue": queue,
        "group": ctx.group,
        "consumer": args.consumer,
        "entries": [entry_json(i, f, source=src) for i, f, src in claimed],
    }
    if not claimed:
        return _Result(payload, f"nothing to claim in {queue} for group {ctx.group}")
    rows = [[*entry_row(i, f)[:-1], src, entry_row(i, f)[-1]] for i, f, src in claimed]
    text = table([*ENTRY_HEADERS[:-1], "SOURCE", "SUMMARY"], rows)
    return _Result(payload, f"{text}\n{len(claimed)} claimed by {args.consumer} ({ctx.group})")


def _cmd_ack(ctx: _Context) -> _Result:
    stream = ctx.stream(ctx.args.queue)
    bad = [i for i in ctx.args.ids if not _ENTRY_ID.match(i)]
    if bad:
        raise QueueError(f"not a stream entry id: {', '.join(bad)} (expected e.g. 1767225600000-0)")
    pipe = ctx.client.pipeline(transaction=False)
    for entry_id in ctx.args.ids:
        pipe.xack(stream, ctx.group, entry_id)
    done = pipe.execute()
    acked = [i for i, n in zip(ctx.args.ids, done, strict=True) if int(n)]
    missed = [i for i, n in zip(ctx.args.ids, done, strict=True) if not int(n)]
    queue = stream[len(ctx.prefix) :]
    payload = {"queue": queue, "group": ctx.group, "acknowledged": acked, "not_pending": missed}
    text = f"acknowledged {len(acked)} of {len(ctx.args.ids)} in {queue} ({ctx.group})"
    warning = None
    if missed:
        warning = f"not pending in group {ctx.group}, nothing done: {', '.join(missed)}"
    return _Result(payload, text, code=1 if missed else 0, warning=warning)


def _add_counts(into: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        into[key] += value


def _cmd_stats(ctx: _Context) -> _Result:
    queues: dict[str, dict[str, Any]] = {}
    rules: dict[str, dict[str, int]] = {}
    for queue in list_queues(ctx.client, ctx.prefix):
        per_rule = rule_counts(ctx.client, f"{ctx.prefix}{queue}", ctx.group, ctx.today)
        total = dict.fromkeys(_COUNT_KEYS, 0)
        for rule, counts in per_rule.items():
            _add_counts(total, counts)
            _add_counts(rules.setdefault(rule, dict.fromkeys(_COUNT_KEYS, 0)), counts)
        queues[queue] = {**total, "rules": per_rule}
    payload = {
        "group": ctx.group,
        "today": ctx.today.isoformat(),
        "queues": queues,
        "rules": dict(sorted(rules.items())),
    }
    if not queues:
        return _Result(payload, f"no queues under {ctx.prefix!r}")
    rows: list[list[str]] = []
    for queue, q in queues.items():
        rows += [[queue, rule, *_counts(c)] for rule, c in q["rules"].items()]
        rows.append([queue, "(all)", *_counts(q)])
    rows += [["(all)", rule, *_counts(c)] for rule, c in sorted(rules.items())]
    headers = ["QUEUE", "RULE", "ENTRIES", "OPEN", "OVERDUE", "DUE SOON"]
    text = table(headers, rows, right={2, 3, 4, 5})
    return _Result(payload, f"{text}\n(group {ctx.group}, today {ctx.today})")


def _counts(c: dict[str, int]) -> list[str]:
    return [str(c["entries"]), str(c["open"]), str(c["overdue"]), str(c["due_soon"])]


_COMMANDS: dict[str, Callable[[_Context], _Result]] = {
    "ls": _cmd_ls,
    "tail": _cmd_tail,
    "show": _cmd_show,
    "claim": _cmd_claim,
    "ack": _cmd_ack,
    "stats": _cmd_stats,
}


# --------------------------------------------------------------------------- argparse


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown time zone {name!r}") from None


def _entry_id(text: str) -> str:
    if not _ENTRY_ID.match(text):
        raise argparse.ArgumentTypeError(
            f"not a stream entry id: {text} (expected e.g. 1767225600000-0)"
        )
    return text


def _common(default: Any) -> argparse.ArgumentParser:
    """Options accepted before or after the sub-command; `default` is None on `queue` itself
    and SUPPRESS on sub-commands, so a later occurrence wins and an absent one changes nothing."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--redis-url",
        default=default,
        help=f"Redis URL (default: $MONITOR_REDIS_URL, else {DEFAULT_REDIS_URL})",
    )
    p.add_argument(
        "--prefix",
        default=default,
        metavar="PREFIX",
        help=f"key prefix (default: $MONITOR_QUEUE_PREFIX, else {DEFAULT_PREFIX})",
    )
    p.add_argument(
        "--group",
        default=default,
        help=f"consumer group of the analysts (default: {DEFAULT_GROUP})",
    )
    p.add_argument("--json", action="store_true", default=default, help="machine-readable output")
    p.add_argument(
        "--today",
        type=iso_date,
        default=default,
        metavar="YYYY-MM-DD",
        help="judge overdue and due soon on this date (default: today in --timezone)",
    )
    p.add_argument(
        "--timezone",
        type=_zone,
        default=default,
        help=f"zone of the report_due dates (default: {DEFAULT_TIMEZONE})",
    )
    return p


def add_queue_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `queue` and its sub-commands to a `monitor` sub-parser set; returns the parser."""
    queue = subparsers.add_parser(
        "queue",
        parents=[_common(None)],
        help="compliance queues: list, tail, show, claim, ack, stats",
        description="Compliance queues (Redis Streams <prefix><queue>) for analysts.",
    )
    sub = queue.add_subparsers(dest="queue_command", required=True, metavar="COMMAND")
    shared = _common(argparse.SUPPRESS)

    sub.add_parser("ls", parents=[shared], help="every queue: depth, pending, oldest open, overdue")

    tail = sub.add_parser("tail", parents=[shared], help="latest entries of a queue")
    tail.add_argument("queue")
    tail.add_argument("-n", type=positive_int, default=10, help="how many (default 10)")

    show = sub.add_parser("show", parents=[shared], help="one entry with its explanation")
    show.add_argument("queue")
    show.add_argument("id", type=_entry_id, metavar="ID")

    claim = sub.add_parser("claim", parents=[shared], help="claim entries for an analyst")
    claim.add_argument("queue")
    claim.add_argument("--consumer", required=True, help="the analyst's name in the group")
    claim.add_argument(
        "--count", type=positive_int, default=10, help="at most this many (default 10)"
    )
    claim.add_argument(
        "--stale-ms",
        type=non_negative_int,
        default=None,
        metavar="MS",
        help="first take over entries claimed by others and idle longer than MS, "
        "then top up with new entries",
    )

    ack = sub.add_parser("ack", parents=[shared], help="acknowledge handled entries")
    ack.add_argument("queue")
    ack.add_argument("ids", nargs="+", type=_entry_id, metavar="ID")

    sub.add_parser("stats", parents=[shared], help="entries, open and overdue per queue and rule")
    return queue


def run_queue(args: argparse.Namespace) -> int:
    """Run a parsed `queue` command: 0 on success; one line on stderr and 2 for an invalid
    Redis URL, 1 for any other error (unknown queue, Redis unreachable or refusing)."""
    url = args.redis_url or os.environ.get("MONITOR_REDIS_URL") or DEFAULT_REDIS_URL
    prefix = args.prefix or os.environ.get("MONITOR_QUEUE_PREFIX") or DEFAULT_PREFIX
    zone = args.timezone or ZoneInfo(DEFAULT_TIMEZONE)
    try:
        client = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10
        )
    except ValueError:
        _fail(f"invalid Redis URL {redact_url(url)}: use redis://, rediss:// or unix://")
        return 2
    ctx = _Context(
        client, prefix, args.group or DEFAULT_GROUP, args.today or datetime.now(zone).date(), args
    )
    try:
        result = _COMMANDS[args.queue_command](ctx)
    except QueueError as exc:
        return _fail(str(exc))
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        return _fail(f"cannot reach Redis at {redact_url(url)}: {one_line(exc)}")
    except redis.RedisError as exc:
        return _fail(f"Redis refused the command: {one_line(exc)}")
    finally:
        client.close()
    if args.json:
        sys.stdout.write(orjson.dumps(result.data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print(result.text)
    if result.warning:
        print(f"monitor queue: {result.warning}", file=sys.stderr)
    return result.code


def _fail(message: str) -> int:
    print(f"monitor queue: {message}", file=sys.stderr)
    return 1
