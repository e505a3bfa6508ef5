"""The pack's `report_due` section: working or calendar days per alert category and per rule
(31 CFR 1010.306(a)(1): a CTR within 15 days of the transaction; 31 CFR 1020.320(b)(3): a
SAR within 30 calendar days of the initial detection), validated when the pack loads."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.core.engine import Engine
from monitor.core.errors import ConfigurationError
from monitor.core.pack import DueDays, ReportDueConfig, pack_from_mapping

from .conftest import CONFIG_DIR, cash, make_pack, raw_pack, run

AT = "2026-03-03T10:00:00-05:00"  # Tuesday, New York


def _build(report_due: object) -> Engine:
    raw = raw_pack("us-bsa.yaml")
    raw["report_due"] = report_due
    return Engine(pack_from_mapping(raw, base_dir=CONFIG_DIR))


def test_us_pack_sets_calendar_days_per_category(us_pack):
    cfg = us_pack.config.report_due
    assert cfg.by_category["large_value_report"] == DueDays(calendar_days=15)
    assert cfg.by_category["suspicious"] == DueDays(calendar_days=30)
    assert "due_diligence" not in cfg.by_category


def test_default_pack_has_no_periods_and_keeps_working_days(pack):
    assert pack.config.report_due == ReportDueConfig()
    assert pack.report_due(date(2026, 9, 30), "large_value_report", "LV_CASH") == pack.report_due(
        date(2026, 9, 30)
    )


def test_rule_period_wins_over_category_period():
    engine = _build(
        {
            "by_category": {"large_value_report": {"calendar_days": 15}},
            "by_rule": {"LV_CASH": {"working_days": 1}},
        }
    )
    (alert,) = run(engine, [cash("10000.01", currency="USD", at=AT)]).by_rule("LV_CASH")
    assert alert.report_due == date(2026, 3, 4)


def test_category_period_without_a_rule_period():
    engine = _build({"by_category": {"large_value_report": {"working_days": 2}}})
    (alert,) = run(engine, [cash("10000.01", currency="USD", at=AT)]).by_rule("LV_CASH")
    assert alert.report_due == date(2026, 3, 5)


def test_zero_calendar_days_is_the_same_day():
    engine = _build({"by_category": {"large_value_report": {"calendar_days": 0}}})
    (alert,) = run(engine, [cash("10000.01", currency="USD", at=AT)]).by_rule("LV_CASH")
    assert alert.report_due == date(2026, 3, 3)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"by_category": {"large_value_report": {}}}, "exactly one of working_days"),
        (
            {"by_category": {"suspicious": {"working_days": 5, "calendar_days": 30}}},
            "exactly one of working_days",
        ),
        ({"by_category": {"large_value": {"calendar_days": 15}}}, "by_category.large_value"),
        ({"by_category": {"suspicious": {"calendar_days": -1}}}, "calendar_days"),
        ({"by_category": {"suspicious": {"calendar_days": 367}}}, "calendar_days"),
        ({"by_category": {"suspicious": {"working_days": 61}}}, "working_days"),
        ({"by_category": {"suspicious": {"days": 30}}}, "days: unknown key"),
        ({"by_rule": {"LV_CASHH": {"calendar_days": 15}}}, "report_due.by_rule: unknown rule"),
        ({"per_rule": {}}, "report_due.per_rule: unknown key"),
    ],
)
def test_bad_periods_are_refused_naming_the_field(section, message):
    with pytest.raises(ConfigurationError, match=message):
        _build(section)


def test_calendar_days_ignore_the_calendar():
    pack = make_pack(
        {"report_due": {"by_category": {"suspicious": {"calendar_days": 30}}}},
    )
    # PRC National Day week: working days would skip it, calendar days do not
    assert pack.report_due(date(2026, 9, 30), "suspicious") == date(2026, 10, 30)
    assert pack.report_due(date(2026, 9, 30), "due_diligence") == date(2026, 10, 13)
