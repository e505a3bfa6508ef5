"""The inbox's metrics: cases by status and deadline, decisions and refusals (no PII labels)."""

from __future__ import annotations

import logging
from collections import Counter as Tally
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["CaseMetrics"]

logger = logging.getLogger(__name__)

_STATUSES = ("open", "claimed", "proposed", "approved", "reported", "filed", "closed")


@dataclass(frozen=True, slots=True)
class CaseMetrics:
    cases: Gauge
    overdue: Gauge
    due_soon: Gauge
    events_total: Counter
    refusals_total: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> CaseMetrics:
        return cls(
            cases=Gauge("monitor_cases", "Cases by status", ["status"], registry=registry),
            overdue=Gauge(
                "monitor_cases_overdue",
                "Open cases whose report is past its due date",
                registry=registry,
            ),
            due_soon=Gauge(
                "monitor_cases_due_soon",
                "Open cases whose report is due today or tomorrow",
                registry=registry,
            ),
            events_total=Counter(
                "monitor_case_events_total",
                "Events written to the case topic, by kind",
                ["kind"],
                registry=registry,
            ),
            refusals_total=Counter(
                "monitor_case_refusals_total",
                "Actions refused (role, four eyes, status, input), by action",
                ["action"],
                registry=registry,
            ),
        )

    def observe_inbox(self, rows: list[dict[str, Any]]) -> None:
        statuses = Tally(r["status"] for r in rows)
        for status in _STATUSES:
            self.cases.labels(status=status).set(statuses.get(status, 0))
        urgency = Tally(r["urgency"] for r in rows)
        self.overdue.set(urgency.get("overdue", 0))
        self.due_soon.set(urgency.get("due_soon", 0))
