"""The names a worker keeps for re-screening: one record per customer, and per partition the
list entries its customers were last screened against.

A customer's record holds, per role (the customer, beneficial owners, the legal
representative, the agent), the names an opening or update gave and the event time that
gave them: a role is replaced only by an event at least as late (event-time order, whatever
the arrival order). Records are JSON bytes, stored as they are (a million customers cost
their bytes, not Python objects) and decoded only when screened. Besides the names, a
partition remembers each list entry's digest as its customers were last screened against it
(`screened`), so a list reload, a restart or a partition's new owner screens only the
entries that are new or changed since (`pending`).

Records reach a partition's index from the worker's own events and from a back-fill of the
bank's customer file (`monitor screening backfill`, records marked by the `BACKFILL_HEADER`
header). Both merge by the same rule (`combine`): per role, the record from the later event
wins; on a tie the worker's record wins over a back-filled one. A partition whose merged
record differs from the last one stored for a customer (a back-fill older than what the
worker wrote) has it written again (`PartitionIndex.stale`), so the compacted topic keeps
the merged record.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from monitor.core.screening.models import WatchlistEntry
from schemas import AccountOpening, CustomerUpdate

__all__ = [
    "BACKFILL_HEADER",
    "ENTRY_PREFIX",
    "INDEXED_ROLES",
    "IndexedName",
    "PartitionIndex",
    "combine",
    "decode_record",
    "entry_digest",
    "merge_record",
    "names_of",
    "record_of",
]

logger = logging.getLogger(__name__)

#: the roles an opening or update names, which the index keeps
INDEXED_ROLES = ("customer", "beneficial_owner", "legal_representative", "agent")
#: key prefix of a partition's screened-entry records (customer ids never start with NUL)
ENTRY_PREFIX = b"\x00entry\x00"
_REMOVED = b""  # the value of an entry no longer listed
#: the Kafka header that marks a record written by a back-fill, not by the worker
BACKFILL_HEADER = "aml-backfill"


@dataclass(frozen=True, slots=True)
class IndexedName:
    """A name the worker keeps for a customer, with what is known beside it."""

    role: str
    name: str
    birth_date: date | None = None
    country: str | None = None
    id_number: str | None = None


#: role -> names (name, birth date, country, identity number) an event gives
Names = dict[str, list[list[str | None]]]


def entry_digest(entry: WatchlistEntry) -> str:
    """A short digest of what screening reads of an entry (names, weak aliases, identifiers,
    kind, list name): a new digest means the entry must be screened again."""
    facts = [
        entry.entry_id,
        list(entry.names),
        sorted(entry.weak),
        [d.isoformat() for d in entry.birth_dates],
        list(entry.birth_years),
        list(entry.countries),
        list(entry.id_numbers),
        entry.kind,
        entry.list_name,
    ]
    return hashlib.sha256(orjson.dumps(facts)).hexdigest()[:16]


def names_of(event: Any, profile: Mapping[str, Any] | None, roles: Iterable[str]) -> Names | None:
    """The roles an opening (all of them) or an update (those it changes) names, with their
    names; None for other events. The customer's birth date and nationality come from the
    event, else from the profile (a birth date read from the identity number)."""
    if isinstance(event, AccountOpening):
        source: Any = event
        changed: set[str] | None = None
    elif isinstance(event, CustomerUpdate):
        source, changed = event.typed_changes, set(event.changes)
    else:
        return None
    wanted = set(roles)
    profile = profile or {}
    out: Names = {}

    def sets(*fields: str) -> bool:
        return changed is None or bool(changed.intersection(fields))

    if "customer" in wanted and sets("name", "birth_date", "nationality", "id_document"):
        birth = source.birth_date or _date(profile.get("birth") or profile.get("id_birth"))
        country = source.nationality or profile.get("nationality")
        out["customer"] = [
            [source.name, birth.isoformat() if birth else None, country, _number(source)]
        ]
    if "beneficial_owner" in wanted and sets("beneficial_owners"):
        owners = source.beneficial_owners or []
        out["beneficial_owner"] = [[o.name, None, None, _number(o)] for o in owners]
    if "legal_representative" in wanted and sets("legal_representative"):
        rep = source.legal_representative
        out["legal_representative"] = [[rep.name, None, None, _number(rep)]] if rep else []
    if "agent" in wanted and sets("agent"):
        agent = source.agent
        out["agent"] = [[agent.name, None, None, _number(agent)]] if agent else []
    return out


def merge_record(
    record: bytes | None, customer_id: str, names: Names, event_ms: int, partial: bool
) -> bytes:
    """The customer's record with `names` applied at `event_ms`: each role replaced unless
    the record has it from a later event. `partial` (an update) keeps what the update leaves
    out of a role it touches: a customer whose nationality changed keeps the name on file."""
    held: dict[str, Any] = orjson.loads(record)["r"] if record else {}
    for role, items in names.items():
        current = held.get(role)
        if current is not None and current[0] > event_ms:
            continue
        if partial and role == "customer":
            if current and current[1]:
                old = current[1][0]
                merged = zip(items[0], old, strict=True)
                items = [[new if new is not None else was for new, was in merged]]
            if not items[0][0]:
                continue  # no name on file yet: the opening brings it
        held[role] = [event_ms, [i for i in items if i[0] and str(i[0]).strip()]]
    encoded = orjson.dumps({"c": customer_id, "r": held}, option=orjson.OPT_SORT_KEYS)
    # a copy of its own size: orjson's bytes keep their kilobyte-sized output buffer, which
    # would make a million kept records cost gigabytes instead of their length
    return bytes(memoryview(encoded))


def record_of(
    event: Any,
    profile: Mapping[str, Any] | None,
    roles: Iterable[str],
    held: bytes | None = None,
) -> bytes | None:
    """The record of `event`'s customer once `event` (an opening or update) is applied to
    `held` (what the index holds for the customer, if anything); None for other events. The
    worker and the back-fill build records with this, so an event gives the same bytes
    whoever indexes it. `profile` is the customer's profile after the event."""
    names = names_of(event, profile, roles)
    if names is None:
        return None
    event_ms = int(event.event_time.timestamp() * 1000)
    partial = isinstance(event, CustomerUpdate)
    return merge_record(held, event.customer_id, names, event_ms, partial)


def combine(held: bytes | None, incoming: bytes, backfilled: bool) -> bytes:
    """Two records of one customer merged by event time: per role, `incoming`'s replaces
    `held`'s when it comes from a later event, or from the same event time and `incoming`
    is the worker's own (`backfilled` false); roles only one side has are kept. The result
    is `incoming` itself when it wins every role, `held` when it wins none."""
    if not held:
        return incoming
    old: dict[str, Any] = orjson.loads(held)
    new: dict[str, Any] = orjson.loads(incoming)
    roles: dict[str, Any] = dict(old["r"])
    for role, value in new["r"].items():
        current = roles.get(role)
        if current is None or value[0] > current[0] or (value[0] == current[0] and not backfilled):
            roles[role] = value
    if roles == new["r"]:
        return incoming
    if roles == old["r"]:
        return held
    encoded = orjson.dumps({"c": new["c"], "r": roles}, option=orjson.OPT_SORT_KEYS)
    return bytes(memoryview(encoded))


def decode_record(record: bytes) -> tuple[str, list[IndexedName]]:
    """(customer id, the names to screen) of a stored record."""
    raw = orjson.loads(record)
    names = [
        IndexedName(role, name, _date(birth), country, number)
        for role, (_, items) in sorted(raw["r"].items())
        for name, birth, country, number in items
    ]
    return raw["c"], names


class PartitionIndex:
    """One partition's records: customer key -> record bytes, entry id -> screened digest."""

    def __init__(self) -> None:
        self.names: dict[bytes, bytes] = {}
        self.screened: dict[str, str] = {}
        #: whether the partition was ever screened (a record of some entry exists)
        self.started = False
        #: customers whose merged record differs from the last one stored: to write again
        self.stale: set[bytes] = set()

    def load(self, key: bytes, value: bytes | None, backfilled: bool = False) -> None:
        """Take one record as stored, in the topic's order (restore, or a back-fill read
        while the worker runs): an entry's digest, or a customer's names merged with what
        the index holds (`combine`). A customer whose merged record is not the stored one
        is noted in `stale`."""
        if key.startswith(ENTRY_PREFIX):
            self.started = True
            entry_id = key[len(ENTRY_PREFIX) :].decode()
            if value:
                self.screened[entry_id] = value.decode()
            else:
                self.screened.pop(entry_id, None)
            return
        if not value:
            self.names.pop(key, None)
            self.stale.discard(key)
            return
        merged = combine(self.names.get(key), value, backfilled)
        self.names[key] = merged
        if merged is value or merged == value:
            self.stale.discard(key)
        else:
            self.stale.add(key)

    def take_stale(self) -> dict[bytes, bytes]:
        """The merged records of `stale`, to store again (the set is emptied)."""
        records = {key: self.names[key] for key in self.stale if key in self.names}
        self.stale.clear()
        return records

    def observe(
        self, event: Any, profile: Mapping[str, Any] | None, roles: Iterable[str]
    ) -> bytes | None:
        """Apply an opening or update; returns the customer's record to store (None for
        events that name nobody)."""
        if not isinstance(event, (AccountOpening, CustomerUpdate)):
            return None
        key = event.customer_id.encode()
        record = record_of(event, profile, roles, self.names.get(key))
        if record is not None:
            self.names[key] = record
            self.stale.discard(key)
        return record

    def pending(
        self, entries: Iterable[WatchlistEntry], digests: Mapping[str, str]
    ) -> tuple[list[WatchlistEntry], dict[bytes, bytes]]:
        """The entries whose digest (`digests`, by entry id) differs from the screened one,
        and the records that say they have been screened (removed entries included). A
        partition never screened takes the list as it is: its customers were screened
        against it when they arrived."""
        changed = [e for e in entries if self.screened.get(e.entry_id) != digests[e.entry_id]]
        records = {
            ENTRY_PREFIX + e.entry_id.encode(): digests[e.entry_id].encode() for e in changed
        }
        for gone in set(self.screened) - set(digests):
            records[ENTRY_PREFIX + gone.encode()] = _REMOVED
        return (changed if self.started else []), records

    def mark(self, records: Mapping[bytes, bytes]) -> None:
        """The entry records of `pending`, once stored."""
        for key, value in records.items():
            self.load(key, value)
        self.started = True

    def snapshot(self) -> list[bytes]:
        """The customers' records as they are now (screened outside the worker's lock)."""
        return list(self.names.values())

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.names)


def _number(person: Any) -> str | None:
    document = getattr(person, "id_document", None)
    return getattr(document, "number", None)


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
