"""Where the rule path sends a record: a customer's home partition, the forwarded event's
kind header, and the dead letter of a record it cannot apply.

Partition p of every input topic, of the internal events topic and of the state changelog
belong together (range assignment, one partition count everywhere). A valid event whose
partition is its customer's home partition (murmur2 of the customer id, what Java and
aiokafka producers keyed by customer id use) is applied at once; any other is forwarded to
the events topic on its home partition, its kind in the `KIND_HEADER` header, and applied
when it comes back, so every customer has one partition and one state record.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka.partitioner import murmur2

from monitor.core.decode import Rejection
from schemas import DeadLetter

__all__ = ["KIND_HEADER", "dead_letter", "home_partitioner", "read_header"]

logger = logging.getLogger(__name__)

#: the header of a forwarded event on the events topic: its kind (`monitor.core.decode.KINDS`)
KIND_HEADER = "aml-kind"

#: customers whose home partition is remembered before the memo starts afresh
_MEMO_SIZE = 1_000_000


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
