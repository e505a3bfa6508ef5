"""`monitor audit verify`: read the case topic and check every case's hash chain."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from monitor.casework.events import CaseEvent, ChainBreak, verify_chain
from monitor.casework.log import RawRecord, decode_events

__all__ = ["AuditResult", "verify_records"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class AuditResult:
    events: int = 0
    cases: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


def verify_records(records: list[RawRecord]) -> AuditResult:
    """Every chain in `records` (the topic in partition/offset order; a case's events share
    a key, hence a partition). A record that is not a valid event breaks its key's case."""
    result = AuditResult(events=len(records))
    by_case: dict[str, list[CaseEvent]] = {}
    for (key, event), record in zip(decode_events(records), records, strict=True):
        if event is None:
            result.breaks.append(
                ChainBreak(
                    key or "?", -1, f"offset {record.partition}/{record.offset} is not a case event"
                )
            )
            by_case.setdefault(key, [])
            continue
        if event.case_id != key:
            result.breaks.append(
                ChainBreak(key, event.seq, f"event names case {event.case_id}, key says {key}")
            )
        by_case.setdefault(event.case_id, []).append(event)
    result.cases = len(by_case)
    for case_id, events in sorted(by_case.items()):
        result.breaks.extend(verify_chain(case_id, events))
    return result
