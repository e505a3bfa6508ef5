"""`monitor screening backfill`: the names index of re-screening filled from the bank's
customer file (account openings as JSONL or CSV) or from the KYC topics' history."""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from monitor.core.decode import Decoder, Rejection
from monitor.core.errors import MonitorError
from monitor.core.profile import merge_profile
from monitor.core.rules.base import Context
from monitor.core.screening.index import BACKFILL_HEADER, INDEXED_ROLES, combine, record_of
from monitor.core.state import CustomerState
from schemas import AccountOpening, CustomerUpdate

if TYPE_CHECKING:
    from monitor.core.pack import Pack
    from monitor.io.settings import Settings

__all__ = [
    "Backfill",
    "build_records",
    "read_openings",
    "run_backfill",
    "write_records",
]

logger = logging.getLogger(__name__)

RULE_ID = "WATCHLIST_MATCH"
_HEADERS = [(BACKFILL_HEADER, b"1")]
_T = TypeVar("_T")
_CHUNK = 10_000  # records in flight before their acknowledgements are awaited


@dataclass
class Backfill:
    """What a back-fill read and wrote."""

    events: int = 0
    customers: int = 0
    written: int = 0
    unchanged: int = 0
    invalid: Counter[str] = field(default_factory=Counter)


def run_backfill(args: argparse.Namespace) -> int:
    """Run `monitor screening backfill` (its arguments: `monitor.tools.screening_cli`)."""
    from monitor.core.pack import load_pack
    from monitor.io.settings import load_settings

    if args.file is None and not args.from_topic:
        raise MonitorError("give a customer FILE, --from-topic, or both")
    settings = load_settings()
    pack = load_pack(args.rules or settings.rules)
    roles = _roles(pack)
    stats = Backfill()
    records: dict[str, bytes] = {}
    decoder = Decoder(pack.fx, settings.max_message_bytes)
    if args.file is not None:  # first: a bad line stops the command before any Kafka I/O
        fmt = args.format or ("csv" if args.file.suffix.lower() == ".csv" else "jsonl")
        openings = read_openings(args.file, fmt, decoder, stats, args.skip_invalid)
        build_records(openings, pack, roles, records, None)
    if args.from_topic:  # merged with the file's records by event time
        events = _kafka(settings, _topic_events(settings, decoder, stats))
        build_records(events, pack, roles, records, {})
    stats.customers = len(records)
    _kafka(settings, write_records(settings, records, stats))
    invalid = sum(stats.invalid.values())
    reasons = ", ".join(f"{r} {n:,}" for r, n in stats.invalid.most_common())
    print(
        f"back-filled {stats.customers:,} customers from {stats.events:,} events: "
        f"{stats.written:,} records written to {settings.screening_topic}, "
        f"{stats.unchanged:,} already indexed; {invalid:,} invalid skipped"
        + (f" ({reasons})" if reasons else "")
    )
    return 0


def _kafka(settings: Settings, work: Coroutine[Any, Any, _T]) -> _T:
    """Run `work`; a Kafka error ends the command with one line naming the brokers."""
    from aiokafka.errors import KafkaError

    try:
        return asyncio.run(work)
    except KafkaError as exc:
        raise MonitorError(
            f"Kafka at {settings.kafka_bootstrap} (MONITOR_KAFKA_BOOTSTRAP): "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _roles(pack: Pack) -> list[str]:
    if RULE_ID not in pack.extras:
        raise MonitorError(f"pack {pack.name}: {RULE_ID} is not enabled: there is no index")
    cfg = getattr(pack.config.rules, RULE_ID)
    return [r for r in INDEXED_ROLES if r in cfg.roles]


def read_openings(
    path: Path, fmt: str, decoder: Decoder, stats: Backfill, skip_invalid: bool
) -> Iterator[AccountOpening]:
    """The openings of a customer file, in its order. An invalid line stops the read with
    an error naming it (file:line, the reason and fields, never a value), or with
    `skip_invalid` is counted in `stats.invalid` by reason."""
    lines = _csv_lines(path) if fmt == "csv" else _jsonl_lines(path)
    for number, value in lines:
        event = decoder.decode("account_opening", value)
        if isinstance(event, Rejection):
            if not skip_invalid:
                raise MonitorError(f"{path}:{number}: {event.reason}: {'; '.join(event.errors)}")
            stats.invalid[event.reason] += 1
            continue
        stats.events += 1
        assert isinstance(event, AccountOpening)
        yield event


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield number, line


def _csv_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Each row as the JSON of an opening: a column is a field, nested ones dotted
    (`id_document.number`, `beneficial_owners.0.name`); an empty cell is no value."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                data: dict[str, Any] = {}
                for column, cell in row.items():
                    if column is None or cell is None or cell == "":
                        continue  # surplus cells, short rows, empty cells
                    _put(data, column.strip().split("."), cell)
                yield reader.line_num, orjson.dumps(_lists(data))
    except UnicodeDecodeError as exc:
        raise MonitorError(f"{path}: not UTF-8 ({exc.reason})") from None
    except csv.Error as exc:
        raise MonitorError(f"{path}: {exc}") from None


def _put(data: dict[str, Any], path: list[str], value: str) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
        if not isinstance(data, dict):
            return  # a column both a value and a parent: the value wins
    data[path[-1]] = value


def _lists(value: Any) -> Any:
    """Objects whose keys are all numbers (`beneficial_owners.0.name`) become lists."""
    if not isinstance(value, dict):
        return value
    items = {k: _lists(v) for k, v in value.items()}
    if items and all(k.isdecimal() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def build_records(
    events: Any,
    pack: Pack,
    roles: list[str],
    records: dict[str, bytes],
    states: dict[str, CustomerState] | None,
) -> None:
    """Apply openings and updates to `records` (customer id -> index record) as the worker
    does: each event's names with the customer's profile after it (`merge_profile`), merged
    by event time (`record_of`). `states` keeps the profiles that updates fold into (None:
    openings only, whose profile is their own)."""
    for event in events:
        if isinstance(event, AccountOpening):
            state = CustomerState(event.customer_id)  # an opening sets the whole profile
            if states is not None:
                states[event.customer_id] = state
        elif states is None:
            continue
        else:
            state = states.setdefault(event.customer_id, CustomerState(event.customer_id))
        moment = event.event_time
        ctx = Context(
            pack,
            moment,
            moment.astimezone(pack.tz).date(),
            int(moment.timestamp() * 1000),
        )
        merge_profile(state, event, ctx)
        record = record_of(event, state.profile, roles, records.get(event.customer_id))
        if record is not None:
            records[event.customer_id] = record


async def _topic_events(settings: Settings, decoder: Decoder, stats: Backfill) -> list[Any]:
    """The openings and updates of the input topics, from the beginning to their end now,
    in event-time order (invalid ones, dead-lettered by the worker, counted and skipped)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from monitor.io.kafka_security import aiokafka_options

    kinds = {
        settings.topic_account_openings: "account_opening",
        settings.topic_customer_updates: "customer_update",
    }
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-screening-backfill",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **aiokafka_options(settings),
    )
    await reader.start()
    events: list[tuple[int, int, Any]] = []
    try:
        await reader._client.force_metadata_update()  # noqa: SLF001 - no public refresh
        tps = [
            TopicPartition(topic, p)
            for topic in kinds
            for p in sorted(reader.partitions_for_topic(topic) or ())
        ]
        if not any(tp.topic == settings.topic_account_openings for tp in tps):
            raise MonitorError(
                f"topic {settings.topic_account_openings} not found "
                "(MONITOR_TOPIC_ACCOUNT_OPENINGS, MONITOR_KAFKA_BOOTSTRAP)"
            )
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        starts = await reader.beginning_offsets(tps)
        for tp in tps:
            reader.seek(tp, starts[tp])  # (seek_to_beginning may lose against the reset)
            while await reader.position(tp) < ends[tp]:
                fetched = await reader.getmany(tp, timeout_ms=1000, max_records=10_000)
                for record in fetched.get(tp, []):
                    if record.offset >= ends[tp]:
                        break
                    event = decoder.decode(kinds[tp.topic], record.value)
                    if isinstance(event, Rejection):
                        stats.invalid[event.reason] += 1
                        continue
                    assert isinstance(event, AccountOpening | CustomerUpdate)
                    stats.events += 1
                    at = int(event.event_time.timestamp() * 1000)
                    events.append((at, len(events), event))
    finally:
        await reader.stop()
    events.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in events]


async def write_records(settings: Settings, records: dict[str, bytes], stats: Backfill) -> None:
    """Write each customer's record on its home partition of the names topic, merged with
    what the topic holds (`combine`: the later event wins each role, the worker's record a
    tie); a customer whose merged record is the one held is not written."""
    from aiokafka import AIOKafkaProducer

    from agents.names_topic import read_index, screening_topic_spec
    from agents.routing import home_partitioner
    from monitor.io.kafka_security import aiokafka_options
    from monitor.io.topics import ensure_topics

    await ensure_topics(settings, [screening_topic_spec(settings)])
    held, _ = await read_index(settings, set(range(settings.partitions)))
    home = home_partitioner(settings.partitions)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-screening-backfill",
        acks="all",
        **aiokafka_options(settings),
    )
    await producer.start()
    try:
        pending: list[asyncio.Future[Any]] = []
        for customer, record in records.items():
            key = customer.encode()
            partition = home(key)
            current = held[partition].names.get(key)
            merged = combine(current, record, True)
            if merged == current:
                stats.unchanged += 1
                continue
            pending.append(
                await producer.send(
                    settings.screening_topic,
                    merged,
                    key=key,
                    partition=partition,
                    headers=_HEADERS,
                )
            )
            stats.written += 1
            if len(pending) >= _CHUNK:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    logger.info("back-fill: %d records written, %d unchanged", stats.written, stats.unchanged)
