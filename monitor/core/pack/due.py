"""When an alert's report is due: working or calendar days after the alert's day, set per
alert category and per rule (the pack's `report_due` section)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from pydantic import Field, model_validator

from monitor.core.calendar import WorkingDayCalendar
from monitor.core.rules.config import Category, Strict

__all__ = ["DueDays", "ReportDueConfig", "report_due"]

logger = logging.getLogger(__name__)


class DueDays(Strict):
    """A period: exactly one of `working_days` (on the pack's calendar) and
    `calendar_days` (every day counts, e.g. the FinCEN CTR's 15 calendar days)."""

    working_days: int | None = Field(default=None, ge=0, le=60)
    calendar_days: int | None = Field(default=None, ge=0, le=366)

    @model_validator(mode="after")
    def _exactly_one(self) -> DueDays:
        if (self.working_days is None) == (self.calendar_days is None):
            raise ValueError("give exactly one of working_days and calendar_days")
        return self

    def after(self, day: date, calendar: WorkingDayCalendar) -> date:
        """The due date of something that happened on `day`."""
        if self.calendar_days is not None:
            return day + timedelta(days=self.calendar_days)
        assert self.working_days is not None  # the validator keeps exactly one
        return calendar.add_working_days(day, self.working_days)


class ReportDueConfig(Strict):
    """The `report_due` section: a period per alert category (`by_category`) and per rule id
    (`by_rule`, which wins). An alert that neither names falls back to the pack's
    `report_due_working_days`."""

    by_category: dict[Category, DueDays] = Field(default_factory=dict)
    by_rule: dict[str, DueDays] = Field(default_factory=dict)


def report_due(
    cfg: ReportDueConfig,
    fallback_working_days: int,
    calendar: WorkingDayCalendar,
    day: date,
    category: Category | None = None,
    rule_id: str | None = None,
) -> date:
    """The report due date of an alert of `rule_id` and `category` raised on `day`."""
    period = cfg.by_rule.get(rule_id) if rule_id is not None else None
    if period is None and category is not None:
        period = cfg.by_category.get(category)
    if period is not None:
        return period.after(day, calendar)
    return calendar.add_working_days(day, fallback_working_days)
