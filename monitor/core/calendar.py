"""Working days: weekends, statutory holidays and make-up working days from a data file."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.core.errors import ConfigurationError

__all__ = ["WorkingDayCalendar", "load_calendar"]

logger = logging.getLogger(__name__)


class _CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    years: list[int] = []
    holidays: list[date] = []
    makeup_workdays: list[date] = []


@dataclass(slots=True)
class WorkingDayCalendar:
    """Saturday and Sunday are rest days unless listed as make-up working days; listed
    holidays are rest days. Dates in years the file does not cover fall back to weekends
    only, with one warning per year."""

    name: str = "weekends-only"
    years: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    _warned: set[int] = field(default_factory=set)

    def is_working_day(self, day: date) -> bool:
        if self.years and day.year not in self.years and day.year not in self._warned:
            self._warned.add(day.year)
            logger.warning(
                "calendar %s has no data for %s: using weekends only", self.name, day.year
            )
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The date `days` working days after `start` (`start` itself is not counted)."""
        current = start
        remaining = days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current


def load_calendar(path: Path) -> WorkingDayCalendar:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = _CalendarFile.model_validate(raw)
    except OSError as exc:
        raise ConfigurationError(f"calendar {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"calendar {path}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigurationError(f"calendar {path}: {where}: {err['msg']}") from None
    return WorkingDayCalendar(
        name=data.name,
        years=frozenset(data.years),
        holidays=frozenset(data.holidays),
        makeup_workdays=frozenset(data.makeup_workdays),
    )
