"""When a case's report is due: large-value reports by the alerts' `report_due`, suspicious
reports a number of working days after the approval that confirms the suspicion."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from monitor.casework.workflow import Case
from monitor.core.calendar import WorkingDayCalendar

__all__ = ["SUSPICIOUS_WORKING_DAYS", "Deadline", "deadline", "urgency"]

logger = logging.getLogger(__name__)

#: PBoC Order 2016 No.3 art. 19: a suspicious-transaction report within 5 working days of
#: the confirmation of the suspicion
SUSPICIOUS_WORKING_DAYS = 5

Urgency = Literal["overdue", "due_soon", "on_time", "none"]


@dataclass(frozen=True, slots=True)
class Deadline:
    due: date | None
    basis: str  # "large-value report_due", "5 working days after approval", ""


def _large_value_due(case: Case) -> date | None:
    dues = [
        date.fromisoformat(str(a["report_due"]))
        for a in case.alerts.values()
        if a.get("category") == "large_value_report" and a.get("report_due")
    ]
    return min(dues) if dues else None


def deadline(case: Case, calendar: WorkingDayCalendar, tz: tzinfo) -> Deadline:
    """The case's report deadline; none once filed or closed, or while nothing is due."""
    if not case.is_active:
        return Deadline(None, "")
    found: list[tuple[date, str]] = []
    large = _large_value_due(case)
    if large is not None:
        found.append((large, "large-value report due"))
    if case.approval is not None and (case.proposal or {}).get("disposition") == "report":
        approved_at = case.approval["at"]
        approved = (
            approved_at
            if isinstance(approved_at, datetime)
            else datetime.fromisoformat(approved_at)
        )
        due = calendar.add_working_days(approved.astimezone(tz).date(), SUSPICIOUS_WORKING_DAYS)
        found.append((due, f"{SUSPICIOUS_WORKING_DAYS} working days after approval"))
    if not found:
        return Deadline(None, "")
    due, basis = min(found)
    return Deadline(due, basis)


def urgency(due: date | None, today: date) -> Urgency:
    """`overdue` before `today`, `due_soon` today or tomorrow (as the queue gauges count)."""
    if due is None:
        return "none"
    if due < today:
        return "overdue"
    if due <= today + timedelta(days=1):
        return "due_soon"
    return "on_time"
