"""Where the rule path sends a record: a customer's home partition, the forwarded event's
kind header, and the dead letter of a record it cannot apply.

Partition p of every input topic, of the internal events topic and of the state changelog
belong together (range assignment, one partition count everywhere). A valid event whose
partition is its customer's home partition (murmur2 of the customer id, what Java and
aiokafka producers keyed by customer id use) is applied at once; any other is forwarded to
the events topic on its home partition, its kind in the `KIND_HEADER` header, and applied
when it comes back, so every customer has one partition and one state record.

Cash whose conductor the pack aggregates (`monitor.core.conductor`) is also sent to the
events topic keyed by the conductor's person key (a fingerprint, never the document
number), on that key's home partition, its kind `CONDUCTOR_KIND`: the conductor's state
record lives there like a customer's.

A transfer or remittance is sent to the events topic too when the pack has rules across
customers (`monitor.core.network`): once per account record it applies to (the
counterparty's account, and with FUNDS_CYCLE the customer's own), keyed by the account key
on its home partition, its kind `net:<role>:<input kind>` (`edge_kind`); the record's
value is the event's own. A path FUNDS_CYCLE passes on (`Findings.forwards`) goes to its
next account's home partition the same way, its kind `TOKEN_KIND`. Both are queued in the
batch writer with the batch's other outputs: written before its states and its commit.
A re-keyed item whose partition this worker holds skips the round trip: it is applied in
the batch that produced it (`Rekeyer`), its record written with the batch's states.
"""

from __future__ import annotations

import base64
import logging
import struct
from collections.abc import Callable, Container
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from monitor.core.conductor import ConductorCash, conductor_cash
from monitor.core.decode import KINDS, Rejection
from monitor.core.network import Edge, Token, network_edges
from schemas import DeadLetter, InputEvent, Remittance, Transfer

if TYPE_CHECKING:
    from monitor.core.engine import Engine
    from monitor.io.settings import Settings

__all__ = [
    "CONDUCTOR_KIND",
    "Apply",
    "KIND_HEADER",
    "TOKEN_KIND",
    "Rekeyer",
    "dead_letter",
    "decode_forwarded",
    "edge_kind",
    "home_partitioner",
    "murmur2",
    "read_header",
]

logger = logging.getLogger(__name__)

#: the header of a forwarded event on the events topic: its kind (`monitor.core.decode.KINDS`)
KIND_HEADER = "aml-kind"

#: the kind of a cash event re-keyed by its conductor's person key (its value is the cash's)
CONDUCTOR_KIND = "conductor_cash"
_CONDUCTOR_HEADERS = [(KIND_HEADER, CONDUCTOR_KIND.encode())]

#: the kind of a FUNDS_CYCLE path passed on to its next account's record (`Token.to_bytes`)
TOKEN_KIND = "net:token"
_TOKEN_HEADERS = [(KIND_HEADER, TOKEN_KIND.encode())]
_NET = "net:"
_INPUT_KIND: dict[type, str] = {Transfer: "transfer", Remittance: "remittance"}

#: customers whose home partition is remembered before the memo starts afresh
_MEMO_SIZE = 1_000_000


_M = 0x5BD1E995
_WORDS = struct.Struct("<I").iter_unpack


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of `data` (the Java client's `Utils.murmur2`, as aiokafka's
    `murmur2` computes it), a little-endian word at a time: a new key's partition costs a
    few microseconds, and every counterparty account is a new key."""
    length = len(data)
    h = 0x9747B28C ^ length
    whole = length & ~3
    for (k,) in _WORDS(data[:whole]):
        k = (k * _M) & 0xFFFFFFFF
        k ^= k >> 24
        h = ((h * _M) & 0xFFFFFFFF) ^ ((k * _M) & 0xFFFFFFFF)
    extra = length & 3
    if extra >= 3:
        h ^= data[whole + 2] << 16
    if extra >= 2:
        h ^= data[whole + 1] << 8
    if extra:
        h = ((h ^ data[whole]) * _M) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)


def home_partitioner(partitions: int) -> Callable[[bytes], int]:
    """The customer's partition for a key: murmur2 like the Java client and aiokafka's
    default partitioner, remembered per key."""
    memo: dict[bytes, int] = {}

    def home_partition(key: bytes) -> int:
        home = memo.get(key)
        if home is None:
            if len(memo) > _MEMO_SIZE:
                memo.clear()
            home = (murmur2(key) & 0x7FFFFFFF) % partitions
            memo[key] = home
        return home

    return home_partition


def edge_kind(edge: Edge, event: object) -> str:
    """The kind header of `event` re-keyed as `edge`: `net:<role>:<input kind>`."""
    return f"{_NET}{edge.role}:{_INPUT_KIND[type(event)]}"


#: applies a re-keyed item to its record on a partition this worker holds (the rule path's
#: per-event step, `RulesService._applier`): (item, partition, the record it came from)
Apply = Callable[[Any, int, Any], None]


class Rekeyer:
    """What the rule path re-keys: cash by its conductor, a transfer or remittance by the
    accounts it moves money between, and the paths the rules pass on to the next account.

    An item whose record's partition this worker holds (`owned`: the batch's assignment) is
    applied at once, in the batch (`apply`); any other is queued in the batch writer
    (`add`) for the events topic, to be applied by the partition's owner. Either way it is
    applied once per delivery of its source and written with the batch, and its record
    drops a redelivery by its id, so the two paths give the same records."""

    def __init__(
        self, engine: Engine, home_partition: Callable[[bytes], int], settings: Settings
    ) -> None:
        self.engine = engine
        self.events_topic = settings.events_topic
        self.home_partition = home_partition

    def event(
        self,
        event: object,
        record: Any,
        add: Callable[..., None],
        apply: Apply | None = None,
        owned: Container[int] = (),
    ) -> None:
        """Apply or queue the re-keyed copies of an input event that arrived on an input
        topic, whatever its partition: its conductor's cash and its edges."""
        engine = self.engine
        if engine.conductors:
            person = conductor_cash(event)
            if person is not None:
                self._send(person, record, _CONDUCTOR_HEADERS, add, apply, owned)
        if engine.network:
            for edge in engine.edges(event):
                headers = [(KIND_HEADER, edge_kind(edge, event).encode())]
                self._send(edge, record, headers, add, apply, owned)

    def paths(
        self, forwards: list[Token], record: Any, add: Callable[..., None], owned: Container[int]
    ) -> list[tuple[Token, int]]:
        """Queue the paths an event passed on (`Findings.forwards`) for their accounts'
        owners; those of partitions in `owned` are returned with their partition instead,
        for the caller to apply (no callback: the caller's step stays free of cycles)."""
        here = []
        for token in forwards:
            key = token.customer_id.encode()
            home = self.home_partition(key)
            if home in owned:
                here.append((token, home))
            else:
                add(
                    self.events_topic, home, key, token.to_bytes(), record.timestamp, _TOKEN_HEADERS
                )
        return here

    def _send(
        self,
        item: ConductorCash | Edge,
        record: Any,
        headers: list[tuple[str, bytes]],
        add: Callable[..., None],
        apply: Apply | None,
        owned: Container[int],
    ) -> None:
        key = item.customer_id.encode()
        home = self.home_partition(key)
        if apply is not None and home in owned:
            apply(item, home, record)
        else:
            add(self.events_topic, home, key, record.value, record.timestamp, headers)


def decode_forwarded(
    decode: Callable[[str, bytes | None], InputEvent | Rejection], kind: str, value: bytes | None
) -> InputEvent | ConductorCash | Edge | Token | Rejection | None:
    """The event of a record of the events topic whose kind header is `kind`: a customer's
    event, the `ConductorCash` of cash re-keyed by its conductor, the `Edge` of a transfer
    re-keyed by an account, or a `Token`; None for an unknown kind (or a re-keyed event
    that has no such side: neither happens for what a worker wrote)."""
    if kind == CONDUCTOR_KIND:
        return conductor_cash(decode("cash", value))
    if kind.startswith(_NET):
        return _network_event(decode, kind, value)
    return decode(kind, value) if kind in KINDS else None


def _network_event(
    decode: Callable[[str, bytes | None], InputEvent | Rejection], kind: str, value: bytes | None
) -> Edge | Token | Rejection | None:
    if kind == TOKEN_KIND:
        return Token.from_bytes(value)
    _, role, base = kind.split(":", 2) if kind.count(":") == 2 else ("", "", "")
    if base not in ("transfer", "remittance"):
        return None
    event = decode(base, value)
    if isinstance(event, Rejection):
        return event
    return next((e for e in network_edges(event, True) if e.role == role), None)


def read_header(headers: Any, name: str) -> str:
    """The first header `name` of a record as text; "" if absent."""
    for key, value in headers or ():
        if key == name:
            return value.decode() if value else ""
    return ""


def dead_letter(record: Any, rejection: Rejection) -> bytes:
    """The dead letter of `record` (its position, key, value and why it was refused), as the
    JSON value written to the dead-letter topic."""
    letter = DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp if record.timestamp and record.timestamp > 0 else None,
        key_b64=base64.b64encode(record.key).decode() if record.key else None,
        value_b64=base64.b64encode(record.value or b"").decode(),
        reason=rejection.reason,
        errors=rejection.errors,
        received_at=datetime.now(UTC),
    )
    return letter.model_dump_json().encode()
