"""The working-day calendar's data and coverage.

PBoC Order 2016 No.3: large-value reports are due within 5 working days of the
transaction; working days follow the State Council's yearly holiday arrangement, make-up
working days (调休上班) included. The arrangement comes from the chinesecalendar package, the
calendar file overrides or extends it, the worker refuses to start in a year the calendar
does not cover and warns 90 days before it ends, and due dates computed outside it are
counted for the MonitorCalendarUncovered alert.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType

import chinese_calendar
import pytest
from prometheus_client import CollectorRegistry

from monitor.core.calendar import (
    CoverageProblem,
    WorkingDayCalendar,
    check_coverage,
    chinesecalendar_days,
    load_calendar,
)
from monitor.core.errors import ConfigurationError
from monitor.core.pack import DEFAULT_PACK
from monitor.io.metrics import CalendarCollector
from monitor.tools.cli import main

from .conftest import CONFIG_DIR, cash, run

CN = CONFIG_DIR / "calendars" / "cn.yaml"
REPORT_DUE_WORKING_DAYS = 5  # PBoC Order 2016 No.3

# A hypothetical 2027 Spring Festival arrangement in chinesecalendar's table format, as a
# release with 2027 would carry it (the State Council's 2027 notice is not in any release
# yet): rest Fri 5 to Thu 11 February, Saturday 13 February a make-up working day.
HOLIDAYS_2027 = [date(2027, 2, d) for d in range(5, 12)]
MAKEUP_2027 = [date(2027, 2, 13)]


def package_with_2027() -> ModuleType:
    module = ModuleType("chinese_calendar")
    module.holidays = {  # type: ignore[attr-defined]
        **chinese_calendar.holidays,
        **{d: "Spring Festival" for d in HOLIDAYS_2027},
    }
    module.workdays = {  # type: ignore[attr-defined]
        **chinese_calendar.workdays,
        **{d: "Spring Festival" for d in MAKEUP_2027},
    }
    module.__version__ = "1.12.0-test"  # type: ignore[attr-defined]
    return module


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- package data


def test_the_package_provides_holidays_and_make_up_days():
    days = chinesecalendar_days()
    assert days.label == f"chinesecalendar {chinese_calendar.__version__}"
    assert {2025, 2026} <= days.years
    assert date(2026, 2, 16) in days.holidays  # Spring Festival, Monday
    assert date(2026, 2, 14) in days.makeup_workdays  # make-up Saturday
    assert date(2026, 9, 20) in days.makeup_workdays  # make-up Sunday before National Day
    assert all(d.weekday() >= 5 for d in days.makeup_workdays)


def test_cn_calendar_takes_the_prc_arrangement_from_the_package():
    calendar = load_calendar(CN)
    assert calendar.years == frozenset({2025, 2026})
    assert "chinesecalendar" in calendar.origin
    # Fri 13 Feb 2026: Sat 14 make-up (1), Spring Festival 15-23, Tue 24 .. Fri 27 (2-5)
    assert calendar.add_working_days(date(2026, 2, 13), REPORT_DUE_WORKING_DAYS) == date(
        2026, 2, 27
    )
    assert not any(d.year == 2024 for d in calendar.holidays)  # only the years in force


def test_a_package_release_with_2027_covers_its_spring_festival(tmp_path):
    path = write(tmp_path, "name: cn-prc\nsource: chinesecalendar\n")  # no years: the package's
    calendar = load_calendar(
        path, sources={"chinesecalendar": lambda: chinesecalendar_days(package_with_2027())}
    )
    assert 2027 in calendar.years
    assert calendar.coverage_problem(date(2027, 1, 4)) is None
    # Thu 4 Feb 2027: rest 5-11, Fri 12 (1), Sat 13 make-up (2), Mon 15 .. Wed 17 (3-5)
    due = calendar.add_working_days(date(2027, 2, 4), REPORT_DUE_WORKING_DAYS)
    assert due == date(2027, 2, 17)
    assert calendar.uncovered_due_dates == 0


# --------------------------------------------------------------------------- the file


def test_the_file_overrides_the_package_date_by_date(tmp_path):
    path = write(
        tmp_path,
        """\
        name: cn-prc
        source: chinesecalendar
        years: [2026]
        holidays: [2026-10-10]         # the package's make-up Saturday, made a rest day
        makeup_workdays: [2026-10-07]  # a National Day holiday (Wednesday), made a working day
        """,
    )
    calendar = load_calendar(path)
    assert calendar.is_working_day(date(2026, 10, 10)) is False
    assert calendar.is_working_day(date(2026, 10, 7)) is True
    assert calendar.is_working_day(date(2026, 10, 6)) is False  # the package, untouched
    assert calendar.is_working_day(date(2026, 9, 20)) is True


def test_the_file_extends_the_package_with_a_year_it_lacks(tmp_path):
    holidays = ", ".join(str(d) for d in HOLIDAYS_2027 if d.weekday() < 5)
    path = write(
        tmp_path,
        f"""\
        name: cn-prc
        source: chinesecalendar
        years: [2026, 2027]
        holidays: [{holidays}]
        makeup_workdays: [{MAKEUP_2027[0]}]
        """,
    )
    calendar = load_calendar(path)
    assert calendar.add_working_days(date(2027, 2, 4), REPORT_DUE_WORKING_DAYS) == date(2027, 2, 17)
    assert calendar.coverage_problem(date(2027, 6, 1)) is None
    assert calendar.uncovered_due_dates == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: cn-prc\nsource: chinesecalendar\nyears: [2026, 2027]\n",
            r"years: 2027: chinesecalendar \S+ has no data for it and the file lists no holidays",
        ),
        (
            "name: x\nyears: [2026]\nholidays: [2026-01-01, 2027-01-01]\n",
            "2027-01-01 is in a year not listed in `years`",
        ),
        (
            "name: x\nholidays: [2026-01-01]\nmakeup_workdays: [2026-01-01]\n",
            "2026-01-01 is listed as a holiday and as a make-up day",
        ),
        ("name: x\nsource: workalendar\n", "source"),
    ],
)
def test_inconsistent_files_are_refused(tmp_path, text, message):
    with pytest.raises(ConfigurationError, match=message):
        load_calendar(write(tmp_path, text))


def test_missing_package_is_a_configuration_error(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "chinese_calendar", None)
    with pytest.raises(ConfigurationError, match="chinesecalendar is not installed"):
        load_calendar(CN)


# --------------------------------------------------------------------------- coverage at start


def test_start_is_refused_in_a_year_the_calendar_does_not_cover():
    calendar = load_calendar(CN)
    problem = calendar.coverage_problem(date(2027, 1, 4))
    assert problem is not None and problem.fatal
    assert "\n" not in problem.message
    assert "calendar cn-prc" in problem.message and "does not cover 2027" in problem.message
    with pytest.raises(ConfigurationError, match="calendar cn-prc .* does not cover 2027"):
        check_coverage(calendar, date(2027, 1, 4))
    assert calendar.coverage_problem(date(2024, 12, 31)).fatal


@pytest.mark.parametrize(
    ("today", "days_left"),
    [
        (date(2026, 12, 7), 24),
        (date(2026, 10, 3), 89),
        (date(2026, 12, 31), 0),
    ],
)
def test_start_warns_when_the_calendar_ends_within_90_days(today, days_left):
    calendar = load_calendar(CN)
    problem = calendar.coverage_problem(today)
    assert problem == CoverageProblem(
        fatal=False,
        message=(
            f"calendar cn-prc ({calendar.origin}) ends on 2026-12-31, in {days_left} days: "
            "due dates from 2027 count weekends only until 2027 is added"
        ),
    )
    assert check_coverage(calendar, today) == problem.message


@pytest.mark.parametrize("today", [date(2026, 10, 2), date(2025, 12, 31), date(2025, 1, 1)])
def test_no_warning_90_days_or_more_before_the_end(today):
    assert load_calendar(CN).coverage_problem(today) is None


def test_a_weekends_only_calendar_has_no_coverage_to_check():
    assert WorkingDayCalendar().coverage_problem(date(2031, 5, 5)) is None


def test_rules_check_refuses_an_uncovered_year_with_one_line(capsys):
    assert main(["rules", "check", str(DEFAULT_PACK), "--today", "2027-01-04"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("monitor: calendar cn-prc (")
    assert "does not cover 2027" in err[0]


def test_rules_check_reports_a_calendar_ending_soon(capsys):
    assert main(["rules", "check", str(DEFAULT_PACK), "--today", "2026-12-07"]) == 0
    out = capsys.readouterr().out
    assert "  warning: calendar cn-prc (" in out
    assert "ends on 2026-12-31, in 24 days" in out
    assert main(["rules", "check", str(DEFAULT_PACK), "--today", "2026-06-01"]) == 0
    assert "warning" not in capsys.readouterr().out


# --------------------------------------------------------------------------- uncovered dates


def test_an_event_beyond_the_known_years_gets_a_due_date_and_is_counted(engine):
    calendar = engine.pack.calendar
    # Mon 1 Mar 2027, no 2027 data: weekends only, Tue 2 .. Mon 8
    (alert,) = run(engine, [cash("50000", at="2027-03-01T10:00:00+08:00")]).alerts
    assert alert.report_due == date(2027, 3, 8)
    assert calendar.uncovered_due_dates == 1
    run(engine, [cash("50000", at="2026-06-01T10:00:00+08:00", customer_id="C002")])
    assert calendar.uncovered_due_dates == 1  # a covered date is not counted


@pytest.mark.parametrize(
    ("start", "counted"),
    [
        (date(2026, 6, 1), 0),
        (date(2026, 12, 24), 0),  # Thu 24 Dec: due Thu 31 Dec, still 2026
        (date(2026, 12, 28), 1),  # due in January 2027: crosses into the uncovered year
        (date(2027, 1, 4), 1),
        (date(2024, 5, 6), 1),  # before the years in force
    ],
)
def test_each_due_date_computed_outside_the_years_is_counted(start, counted):
    calendar = load_calendar(CN)
    calendar.add_working_days(start, REPORT_DUE_WORKING_DAYS)
    assert calendar.uncovered_due_dates == counted


def test_weekends_only_calendar_counts_nothing():
    calendar = WorkingDayCalendar()
    calendar.add_working_days(date(2031, 1, 1), REPORT_DUE_WORKING_DAYS)
    assert calendar.uncovered_due_dates == 0


def test_collector_exports_the_count_and_the_end_of_coverage():
    calendar = load_calendar(CN)
    registry = CollectorRegistry()
    CalendarCollector.register(registry, calendar)
    labels = {"calendar": "cn-prc"}
    assert registry.get_sample_value("monitor_calendar_uncovered_dates_total", labels) == 0
    calendar.add_working_days(date(2027, 1, 4), REPORT_DUE_WORKING_DAYS)
    calendar.add_working_days(date(2027, 1, 5), REPORT_DUE_WORKING_DAYS)
    assert registry.get_sample_value("monitor_calendar_uncovered_dates_total", labels) == 2
    assert (
        registry.get_sample_value("monitor_calendar_end_timestamp_seconds", labels)
        == datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    )


def test_us_fed_calendar_covers_2027():
    calendar = load_calendar(CONFIG_DIR / "calendars" / "us-fed.yaml")
    assert calendar.coverage_problem(date(2026, 12, 7)) is None
    assert calendar.coverage_problem(date(2027, 10, 4)).fatal is False  # 88 days left
    assert calendar.is_working_day(date(2027, 7, 5)) is False  # 4 July on a Sunday, observed
    assert calendar.is_working_day(date(2027, 12, 24)) is True  # Christmas on a Saturday
