"""Working days: weekends, statutory holidays and make-up working days from a package and a file."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import ModuleType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.core.errors import ConfigurationError

__all__ = [
    "SOURCES",
    "CoverageProblem",
    "SourceDays",
    "WorkingDayCalendar",
    "check_coverage",
    "chinesecalendar_days",
    "load_calendar",
]

logger = logging.getLogger(__name__)

#: `check_coverage` warns when the calendar's last covered day is this close
WARN_WITHIN_DAYS = 90


@dataclass(frozen=True, slots=True)
class SourceDays:
    """What a holiday package provides: the years it covers, its rest days (weekdays and
    weekend days alike) and its make-up working days, and a label naming it and its version."""

    label: str
    years: frozenset[int]
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]


def chinesecalendar_days(module: ModuleType | None = None) -> SourceDays:
    """The PRC State Council arrangements from the `chinesecalendar` package (module
    `chinese_calendar`): its `holidays` and `workdays` tables, year by year."""
    if module is None:
        try:
            import chinese_calendar
        except ImportError:
            raise ConfigurationError(
                "calendar source chinesecalendar is not installed "
                "(pip install 'chinesecalendar>=1.11,<2')"
            ) from None
        module = chinese_calendar
    holidays = frozenset(_dates(module.holidays))
    workdays = frozenset(_dates(module.workdays))
    years = frozenset(d.year for d in holidays)
    return SourceDays(
        label=f"chinesecalendar {getattr(module, '__version__', '?')}",
        years=frozenset(range(min(years), max(years) + 1)) if years else frozenset(),
        holidays=holidays,
        makeup_workdays=frozenset(d for d in workdays if d.weekday() >= 5),
    )


def _dates(table: Iterable[object]) -> Iterable[date]:
    for day in table:
        if not isinstance(day, date):
            raise ConfigurationError(f"calendar source: {day!r} is not a date")
        yield date(day.year, day.month, day.day)


#: packages a calendar file may name as `source`
SOURCES: Mapping[str, Callable[[], SourceDays]] = {"chinesecalendar": chinesecalendar_days}


class _CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    source: Literal["chinesecalendar"] | None = None
    years: list[int] | None = None
    holidays: list[date] = []
    makeup_workdays: list[date] = []


@dataclass(frozen=True, slots=True)
class CoverageProblem:
    """`fatal`: the calendar does not cover the current year (refuse to start); otherwise
    it ends within `WARN_WITHIN_DAYS` days (warn)."""

    fatal: bool
    message: str


@dataclass(slots=True)
class WorkingDayCalendar:
    """Saturday and Sunday are rest days unless listed as make-up working days; listed
    holidays are rest days. Dates in years outside `years` fall back to weekends only,
    with one warning per year, and each due date computed from such dates is counted in
    `uncovered_due_dates` (read by the metrics). No `years`: weekends only, by design."""

    name: str = "weekends-only"
    years: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    origin: str = ""
    uncovered_due_dates: int = 0
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
        years = self.years
        if years and (start.year not in years or current.year not in years):
            self.uncovered_due_dates += 1
        return current

    def coverage_problem(
        self, today: date, warn_within_days: int = WARN_WITHIN_DAYS
    ) -> CoverageProblem | None:
        """Whether the calendar covers `today`'s year, and for how long: the caller passes
        today's date (in the pack's zone)."""
        if not self.years:
            return None
        where = f" ({self.origin})" if self.origin else ""
        if today.year not in self.years:
            return CoverageProblem(
                fatal=True,
                message=(
                    f"calendar {self.name}{where} does not cover {today.year} "
                    f"(covers {_spans(self.years)}): add {today.year}'s holidays and make-up "
                    "working days and list the year in `years`"
                ),
            )
        last = today.year
        while last + 1 in self.years:
            last += 1
        end = date(last, 12, 31)
        left = (end - today).days
        if left >= warn_within_days:
            return None
        return CoverageProblem(
            fatal=False,
            message=(
                f"calendar {self.name}{where} ends on {end}, in {left} days: due dates "
                f"from {last + 1} count weekends only until {last + 1} is added"
            ),
        )


def _spans(years: Iterable[int]) -> str:
    """2025-2026, 2028"""
    spans: list[list[int]] = []
    for year in sorted(years):
        if spans and spans[-1][1] == year - 1:
            spans[-1][1] = year
        else:
            spans.append([year, year])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def check_coverage(calendar: WorkingDayCalendar, today: date) -> str | None:
    """Raise `ConfigurationError` if `calendar` does not cover `today`'s year; return the
    warning if it ends within `WARN_WITHIN_DAYS` days, else None."""
    problem = calendar.coverage_problem(today)
    if problem is None:
        return None
    if problem.fatal:
        raise ConfigurationError(problem.message)
    return problem.message


def load_calendar(
    path: Path, sources: Mapping[str, Callable[[], SourceDays]] = SOURCES
) -> WorkingDayCalendar:
    """The calendar a file describes. With a `source`, the package's holidays and make-up
    days come first and the file's lists override them date by date (a date the file lists
    as a holiday is one, whatever the package says, and likewise for make-up days) or add
    years the package does not have yet. `years` lists the years in force; without it,
    every year of the package and of the file's dates."""
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
    try:
        return _assemble(data, path, sources)
    except ConfigurationError as exc:
        raise ConfigurationError(f"calendar {path}: {exc}") from None


def _assemble(
    data: _CalendarFile, path: Path, sources: Mapping[str, Callable[[], SourceDays]]
) -> WorkingDayCalendar:
    file_holidays = frozenset(data.holidays)
    file_makeup = frozenset(data.makeup_workdays)
    both = sorted(file_holidays & file_makeup)
    if both:
        raise ConfigurationError(f"{both[0]} is listed as a holiday and as a make-up day")
    package = sources[data.source]() if data.source else None
    file_years = {d.year for d in file_holidays | file_makeup}
    if data.years is None:
        years = frozenset(file_years | (package.years if package else frozenset()))
    else:
        years = frozenset(data.years)
        outside = sorted(d for d in file_holidays | file_makeup if d.year not in years)
        if outside:
            raise ConfigurationError(f"{outside[0]} is in a year not listed in `years`")
    for year in sorted(years):
        in_package = package is not None and year in package.years
        if not in_package and not any(d.year == year for d in file_holidays):
            have = f"{package.label} has no data for it and " if package else ""
            raise ConfigurationError(f"years: {year}: {have}the file lists no holidays in it")
    holidays: frozenset[date] = file_holidays
    makeup: frozenset[date] = file_makeup
    origin = str(path)
    if package is not None:
        holidays |= frozenset(d for d in package.holidays if d.year in years) - file_makeup
        makeup |= frozenset(d for d in package.makeup_workdays if d.year in years) - file_holidays
        origin = f"{path} + {package.label}"
    return WorkingDayCalendar(
        name=data.name,
        years=years,
        holidays=holidays,
        makeup_workdays=makeup,
        origin=origin,
    )
