"""Case events, their canonical JSON and the hash chain that links the events of a case."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = [
    "GENESIS",
    "KINDS",
    "CaseEvent",
    "ChainBreak",
    "EventKind",
    "canonical_json",
    "event_hash",
    "seal",
    "verify_chain",
]

logger = logging.getLogger(__name__)

EventKind = Literal[
    "opened",
    "alert_added",
    "claimed",
    "released",
    "note",
    "proposed",
    "approved",
    "returned",
    "report_created",
    "filed",
]
KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]
#: `prev_hash` of the first event of every case
GENESIS = "0" * 64


class CaseEvent(BaseModel):
    """One action on a case. `seq` counts the case's events from 0; `hash` is the SHA-256
    of the canonical JSON of every other field, `prev_hash` the `hash` of event `seq - 1`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    seq: int
    kind: EventKind
    user: str
    at: datetime
    data: dict[str, Any] = {}
    prev_hash: str
    hash: str = ""

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("a time without a UTC offset")
        return value


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: one byte string per value, whoever writes it."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def event_hash(event: CaseEvent) -> str:
    """SHA-256 (hex) over the canonical JSON of the event without its `hash` field."""
    body = event.model_dump(mode="json", exclude={"hash"})
    return hashlib.sha256(canonical_json(body)).hexdigest()


def seal(event: CaseEvent) -> CaseEvent:
    """The event with its `hash` filled in."""
    return event.model_copy(update={"hash": event_hash(event)})


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a case's chain is broken and how."""

    case_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"case {self.case_id}: event {self.seq}: {self.problem}"


def verify_chain(case_id: str, events: Iterable[CaseEvent]) -> list[ChainBreak]:
    """Every break in one case's events, in log order: an event whose content no longer
    matches its hash (altered), a gap or repeat in `seq` (removed or inserted), or a
    `prev_hash` that is not the previous event's hash."""
    breaks: list[ChainBreak] = []
    expected_seq, prev = 0, GENESIS
    for event in events:
        if event.seq != expected_seq:
            what = "missing" if event.seq > expected_seq else "repeated"
            breaks.append(
                ChainBreak(case_id, event.seq, f"expected event {expected_seq} ({what} events)")
            )
        if event.hash != event_hash(event):
            breaks.append(ChainBreak(case_id, event.seq, "altered: hash does not match content"))
        if event.prev_hash != prev:
            breaks.append(
                ChainBreak(case_id, event.seq, "prev_hash is not the previous event's hash")
            )
        expected_seq, prev = event.seq + 1, event.hash
    return breaks
