"""The rule pack (validated YAML) and the working-day calendar it points to."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import yaml

from monitor.core.calendar import load_calendar
from monitor.core.engine import Engine
from monitor.core.errors import ConfigurationError
from monitor.core.pack import DEFAULT_PACK, TRIGGERS, Pack, load_pack, pack_from_mapping
from monitor.core.rules.registry import REGISTRY

from .conftest import (
    CONFIG_DIR,
    cash,
    individual_opening_data,
    needs_watchlist,
    opening,
    raw_pack,
    remittance,
    run,
    set_path,
    without,
)

#: config/cn-pboc.yaml exactly as written (WATCHLIST_MATCH on)
RAW_FILE = yaml.safe_load(DEFAULT_PACK.read_text(encoding="utf-8"))


def build(raw: dict) -> Pack:
    return pack_from_mapping(raw, base_dir=CONFIG_DIR)


def refused(raw: dict) -> str:
    with pytest.raises(ConfigurationError) as info:
        build(raw)
    return str(info.value)


# --------------------------------------------------------------------------- the default pack


def test_default_pack_values(pack):
    assert pack.name == "cn-pboc"
    assert pack.base_dir == CONFIG_DIR
    assert pack.tz == ZoneInfo("Asia/Shanghai")
    assert pack.config.report_due_working_days == 5
    assert pack.config.deadline_grace_hours == 0
    assert pack.config.state.retention_days == 8
    assert pack.config.state.max_seen_events == 2000
    assert pack.config.state.max_window_items == 500
    assert pack.calendar.name == "cn-prc"
    assert pack.calendar.years == frozenset({2025, 2026})
    assert pack.fx.base == "CNY"
    assert pack.fx.currencies == frozenset({"CNY", "USD", "EUR", "HKD", "JPY", "GBP"})


def test_default_pack_thresholds(pack):
    rules = pack.config.rules
    lv = rules.LV_CASH.threshold
    assert (lv.local.currency, lv.local.amount) == ("CNY", Decimal("50000"))
    assert (lv.foreign.currency, lv.foreign.amount) == ("USD", Decimal("10000"))
    assert lv.combine is False
    assert rules.LV_CASH.inclusive is True
    remit = rules.REMIT_MISSING_INFO
    assert remit.outbound_from.local.amount == Decimal("5000")
    assert remit.outbound_from.foreign.amount == Decimal("1000")
    assert remit.inbound_from.local.amount == Decimal("0")
    assert remit.inbound_from.foreign.amount == Decimal("0")
    assert rules.REMIT_INFO_UNRESOLVED.follow_up_working_days == 10
    assert pack.config.tasks["INCOMPLETE_KYC"].due_working_days == 10
    assert sorted(pack.config.tasks) == sorted(TRIGGERS)


@needs_watchlist
def test_load_pack_default_reads_the_default_file():
    loaded = load_pack()
    assert loaded.source == DEFAULT_PACK
    assert loaded.name == "cn-pboc"


@needs_watchlist
def test_load_pack_with_explicit_default_path_equals_default():
    assert load_pack(DEFAULT_PACK).config == load_pack().config


@needs_watchlist
def test_pack_from_mapping_of_the_default_file_equals_load_pack():
    assert build(RAW_FILE).config == load_pack().config


def test_fixture_pack_differs_from_the_file_only_in_the_watch_list(pack):
    assert "enabled" not in RAW_FILE["rules"]["WATCHLIST_MATCH"]  # on by default
    raw = raw_pack()
    assert raw["rules"]["WATCHLIST_MATCH"].pop("enabled") is False
    assert raw == RAW_FILE
    assert pack.config.rules.WATCHLIST_MATCH.enabled is False


def test_every_default_rule_but_the_watch_list_is_enabled(engine):
    # deadline stages run first, then the rules in registry order, the risk rating last
    assert [r.rule_id for r in engine.rules] == [
        "REMIT_INFO_UNRESOLVED",
        "LV_CASH",
        "LV_XBORDER_INDIVIDUAL",
        "LV_TRANSFER_INDIVIDUAL",
        "LV_TRANSFER_ENTITY",
        "CDD_ONE_OFF",
        "CDD_AGENT",
        "REMIT_MISSING_INFO",
        "STRUCTURING",
        "FREQUENT_LARGE_UNCLEAR_SOURCE",
        "FUNNEL_IN",
        "FUNNEL_OUT",
        "PASS_THROUGH",
        "FREQUENT_SAME_COUNTERPARTY",
        "DORMANT_REACTIVATION",
        "COUNTERPARTY_HUB",
        "FUNDS_CYCLE",
        "KYC_INCOMPLETE",
        "KYC_ID_EXPIRED",
        "KYC_PEP",
        "KYC_HIGH_RISK_COUNTRY",
        "KYC_BENEFICIAL_OWNER",
        "PROFILE_CHECKS",
        "RISK_RATING",
    ]
    # the US rules are off in a pack without their section (config/us-bsa.yaml has them)
    off = {"WATCHLIST_MATCH", "SAR_STRUCTURING", "LV_CASH_CONDUCTOR"}
    assert set(REGISTRY) - {r.rule_id for r in engine.rules} == off


def test_missing_pack_file_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="no-such-pack.yaml"):
        load_pack(CONFIG_DIR / "no-such-pack.yaml")


# --------------------------------------------------------------------------- unknown keys


def test_unknown_top_level_key_is_refused():
    raw = raw_pack()
    raw["threshold_typo"] = 1
    message = refused(raw)
    assert "threshold_typo: unknown key" in message


def test_unknown_key_inside_a_rule_is_refused_with_its_path():
    raw = set_path(raw_pack(), "rules.LV_CASH.threshold_typo", "40000")
    message = refused(raw)
    assert "rules.LV_CASH.threshold_typo: unknown key" in message


@pytest.mark.parametrize(
    "path",
    [
        "rules.LV_CASH.threshold.local.amout",
        "rules.LV_CASH.local",  # the pre-restructuring place of the threshold
        "rules.NO_SUCH_RULE",
        "rules.KYC_INCOMPLETE.task",  # the pre-restructuring place of the task
        "tasks.INCOMPLETE_KYC.due_days",
        "rules.REMIT_MISSING_INFO.outbound_from.local.amout",
        "rules.REMIT_MISSING_INFO.outbound_from_local",
        "state.retention",
    ],
)
def test_unknown_nested_key_is_refused_with_its_path(path):
    message = refused(set_path(raw_pack(), path, 1))
    assert f"{path}: unknown key" in message


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("rules.LV_CASH.threshold.local.amount", "-1", "rules.LV_CASH.threshold.local.amount"),
        (
            "rules.LV_CASH.threshold.foreign.amount",
            "-0.01",
            "rules.LV_CASH.threshold.foreign.amount",
        ),
        ("rules.LV_CASH.threshold.local.amount", "NaN", "rules.LV_CASH.threshold.local.amount"),
        (
            "rules.LV_CASH.threshold.local.amount",
            "fifty thousand",
            "rules.LV_CASH.threshold.local.amount",
        ),
        (
            "rules.REMIT_MISSING_INFO.outbound_from.local.amount",
            "-5000",
            "rules.REMIT_MISSING_INFO.outbound_from.local.amount",
        ),
        (
            "rules.LV_CASH.threshold.local.currency",
            "cny",
            "rules.LV_CASH.threshold.local.currency",
        ),
        ("rules.LV_CASH.severity", "urgent", "rules.LV_CASH.severity"),
        ("rules.LV_CASH.category", "other", "rules.LV_CASH.category"),
        ("rules.LV_CASH.enabled", "sometimes", "rules.LV_CASH.enabled"),
        ("timezone", "Mars/Olympus_Mons", "timezone"),
        ("timezone", "", "timezone"),
        ("report_due_working_days", -1, "report_due_working_days"),
        ("state.retention_days", 0, "state.retention_days"),
        ("state.max_seen_events", 1, "state.max_seen_events"),
        (
            "tasks.INCOMPLETE_KYC.due_working_days",
            -1,
            "tasks.INCOMPLETE_KYC.due_working_days",
        ),
        ("tasks.INCOMPLETE_KYC.measures", [], "tasks.INCOMPLETE_KYC.measures"),
        ("rules.STRUCTURING.lower_pct", "100", "rules.STRUCTURING.lower_pct"),
        ("rules.STRUCTURING.min_count", 1, "rules.STRUCTURING.min_count"),
        ("rules.KYC_HIGH_RISK_COUNTRY.countries", ["kp"], "rules.KYC_HIGH_RISK_COUNTRY.countries"),
        ("deadline_grace_hours", -1, "deadline_grace_hours"),
        (
            "rules.KYC_INCOMPLETE.individual_fields",
            ["name", "shoe_size"],
            "rules.KYC_INCOMPLETE.individual_fields",
        ),
        ("queues.suspicious", "has space", "queues"),
    ],
)
def test_bad_value_is_refused_naming_the_field(path, value, named):
    message = refused(set_path(raw_pack(), path, value))
    assert f"{named}:" in message


def test_unknown_timezone_message_names_the_zone():
    message = refused(set_path(raw_pack(), "timezone", "Mars/Olympus_Mons"))
    assert "timezone:" in message
    assert "Mars/Olympus_Mons" in message


@pytest.mark.parametrize(
    "path",
    [
        "rules.LV_CASH.threshold.local.currency",
        "rules.LV_CASH.threshold.foreign.currency",
        "rules.REMIT_MISSING_INFO.outbound_from.foreign.currency",
        "rules.REMIT_MISSING_INFO.inbound_from.local.currency",
        "rules.STRUCTURING.threshold.local.currency",
    ],
)
def test_currency_not_in_the_fx_table_is_refused_naming_the_field(path):
    message = refused(set_path(raw_pack(), path, "XYZ"))
    assert message == f"{path}: XYZ is not in the FX table"


def test_unknown_task_trigger_is_refused_naming_it():
    message = refused(
        set_path(raw_pack(), "tasks.NO_SUCH_TRIGGER", {"measures": ["x"], "due_working_days": 1})
    )
    assert "tasks: Value error, unknown trigger(s) ['NO_SUCH_TRIGGER']" in message


def test_tasks_left_out_of_the_pack_keep_their_defaults():
    raw = raw_pack()
    raw["tasks"] = {"PROFILE_CHANGE": {"measures": ["call the customer"], "due_working_days": 3}}
    tasks = build(raw).config.tasks
    assert tasks["PROFILE_CHANGE"].measures == ["call the customer"]
    assert tasks["PROFILE_CHANGE"].due_working_days == 3
    assert tasks["INCOMPLETE_KYC"].due_working_days == 10
    assert sorted(tasks) == sorted(TRIGGERS)


def test_a_disabled_threshold_rule_needs_no_threshold():
    raw = raw_pack()
    raw["rules"]["LV_XBORDER_INDIVIDUAL"] = {"enabled": False}
    assert build(raw).config.rules.LV_XBORDER_INDIVIDUAL.enabled is False


@pytest.mark.parametrize("rule", ["LV_CASH", "CDD_ONE_OFF"])
def test_an_enabled_threshold_rule_without_threshold_is_refused_naming_it(rule):
    raw = raw_pack()
    raw["rules"][rule] = {"enabled": True}
    message = refused(raw)
    assert f"rules.{rule}: " in message
    assert "threshold" in message


def test_missing_pack_name_is_refused():
    raw = raw_pack()
    del raw["pack"]
    assert "pack: Field required" in refused(raw)


def test_queue_missing_for_a_category_is_refused():
    raw = raw_pack()
    del raw["queues"]["suspicious"]
    assert "queues:" in refused(raw)


def test_not_a_mapping_is_refused():
    with pytest.raises(ConfigurationError):
        build(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_missing_fx_table_file_is_refused():
    with pytest.raises(ConfigurationError, match="no-such-fx.yaml"):
        build(set_path(raw_pack(), "fx_table", "no-such-fx.yaml"))


def test_missing_calendar_file_is_refused():
    with pytest.raises(ConfigurationError, match="no-such-calendar.yaml"):
        build(set_path(raw_pack(), "calendar", "calendars/no-such-calendar.yaml"))


# --------------------------------------------------------------------------- config drives rules


def test_disabling_lv_cash_stops_it_firing(pack):
    assert len(run(Engine(pack), [cash("50000")]).alerts) == 1
    disabled = build(set_path(raw_pack(), "rules.LV_CASH.enabled", False))
    engine = Engine(disabled)
    assert "LV_CASH" not in [r.rule_id for r in engine.rules]
    assert len(engine.rules) == len(Engine(pack).rules) - 1
    assert run(engine, [cash("50000"), cash("10000", currency="USD")]).alerts == []


def test_disabling_remit_missing_info_stops_it_firing():
    engine = Engine(build(set_path(raw_pack(), "rules.REMIT_MISSING_INFO.enabled", False)))
    assert run(engine, [remittance(beneficiary={"name": None})]).alerts == []


def test_disabling_kyc_incomplete_stops_it_firing():
    engine = Engine(build(set_path(raw_pack(), "rules.KYC_INCOMPLETE.enabled", False)))
    result = run(engine, [opening(without(individual_opening_data(), "phone"))])
    assert result.alerts == []
    assert result.tasks == []


def test_disabling_one_rule_leaves_the_others_firing():
    engine = Engine(build(set_path(raw_pack(), "rules.LV_CASH.enabled", False)))
    result = run(engine, [remittance(beneficiary={"name": None})])
    assert [a.rule_id for a in result.alerts] == ["REMIT_MISSING_INFO"]


@pytest.mark.parametrize(("amount", "fires"), [("50000.00", False), ("50000.01", True)])
def test_exclusive_threshold(amount, fires):
    engine = Engine(build(set_path(raw_pack(), "rules.LV_CASH.inclusive", False)))
    assert len(run(engine, [cash(amount)]).alerts) == (1 if fires else 0)


@pytest.mark.parametrize(("amount", "fires"), [("29999.99", False), ("30000", True)])
def test_configured_threshold_is_used(amount, fires):
    engine = Engine(build(set_path(raw_pack(), "rules.LV_CASH.threshold.local.amount", "30000")))
    assert len(run(engine, [cash(amount)]).alerts) == (1 if fires else 0)


def test_configured_severity_is_used():
    engine = Engine(build(set_path(raw_pack(), "rules.LV_CASH.severity", "high")))
    assert run(engine, [cash("50000")]).alerts[0].severity == "high"


def test_configured_report_due_days_are_used():
    engine = Engine(build(set_path(raw_pack(), "report_due_working_days", 1)))
    (alert,) = run(engine, [cash("50000", at="2026-03-06T10:00:00+08:00")]).alerts
    assert alert.report_due == date(2026, 3, 9)


def test_configured_queue_name_is_used():
    engine = Engine(build(set_path(raw_pack(), "queues.large_value_report", "lvr-beijing")))
    assert run(engine, [cash("50000")]).alerts[0].queue == "lvr-beijing"


def test_configured_timezone_defines_the_day():
    # 15:30Z and 16:30Z are two Shanghai days but one UTC day.
    events = [cash("30000", at="2026-03-02T15:30:00Z"), cash("20000", at="2026-03-02T16:30:00Z")]
    utc_engine = Engine(build(set_path(raw_pack(), "timezone", "UTC")))
    assert len(run(utc_engine, events).alerts) == 1


def test_without_calendar_only_weekends_are_rest_days():
    raw = raw_pack()
    del raw["calendar"]
    weekends = build(raw)
    assert weekends.calendar.is_working_day(date(2026, 10, 1)) is True
    assert weekends.calendar.is_working_day(date(2026, 10, 10)) is False
    assert weekends.report_due(date(2026, 9, 30)) == date(2026, 10, 7)


# --------------------------------------------------------------------------- calendar


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 10), True),  # Saturday make-up working day
        (date(2026, 9, 20), True),  # Sunday make-up working day
        (date(2026, 2, 14), True),  # Saturday make-up working day (Spring Festival)
        (date(2026, 10, 1), False),  # National Day (Thursday)
        (date(2026, 10, 7), False),  # National Day (Wednesday)
        (date(2026, 10, 8), True),  # Thursday after the holiday
        (date(2026, 10, 11), False),  # ordinary Sunday
        (date(2026, 2, 16), False),  # Spring Festival (Monday)
        (date(2026, 3, 6), True),  # ordinary Friday
        (date(2026, 3, 7), False),  # ordinary Saturday
        (date(2025, 10, 8), False),  # 2025 National Day (Wednesday)
        (date(2025, 9, 28), True),  # 2025 make-up Sunday
    ],
)
def test_prc_calendar(pack, day, working):
    assert pack.calendar.is_working_day(day) is working


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2027, 10, 1), True),  # a Friday: no 2027 data, so not a holiday
        (date(2027, 10, 4), True),  # a Monday
        (date(2027, 10, 2), False),  # a Saturday
        (date(2027, 10, 3), False),  # a Sunday
    ],
)
def test_year_without_data_falls_back_to_weekends(pack, day, working):
    assert pack.calendar.is_working_day(day) is working


def test_year_without_data_warns_once_per_year(caplog):
    calendar = load_calendar(CONFIG_DIR / "calendars" / "cn.yaml")
    with caplog.at_level(logging.WARNING, logger="monitor.core.calendar"):
        calendar.is_working_day(date(2027, 1, 4))
        calendar.is_working_day(date(2027, 1, 5))
        calendar.is_working_day(date(2026, 1, 5))
        calendar.is_working_day(date(2028, 1, 4))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "calendar cn-prc has no data for 2027: using weekends only",
        "calendar cn-prc has no data for 2028: using weekends only",
    ]


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 3, 6), 0, date(2026, 3, 6)),
        (date(2026, 3, 6), 1, date(2026, 3, 9)),
        (date(2026, 3, 6), 5, date(2026, 3, 13)),
        (date(2026, 9, 30), 5, date(2026, 10, 13)),
        (date(2026, 10, 1), 1, date(2026, 10, 8)),  # start on a holiday
        (date(2026, 10, 9), 1, date(2026, 10, 10)),  # the make-up Saturday counts
        (date(2026, 12, 31), 2, date(2027, 1, 4)),  # into a year without data: weekends only
    ],
)
def test_add_working_days(pack, start, days, expected):
    assert pack.calendar.add_working_days(start, days) == expected
