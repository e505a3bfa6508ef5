"""The us-bsa pack (config/us-bsa.yaml): a second pack, to show that a pack is data.

- CTR: cash of MORE than USD 10,000 in one business day (America/New_York), per direction,
  every currency converted to USD and summed together.
- SAR_STRUCTURING instead of STRUCTURING (tests/unit/test_us_bsa_sar.py).
- REMIT_MISSING_INFO from USD 3,000 both ways; no follow-up rule.
- report_due: CTR 15 calendar days after the transaction (31 CFR 1010.306(a)(1)), SAR 30
  calendar days after detection (31 CFR 1020.320(b)(3)), other alerts 15 business days on
  the us-fed calendar.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from monitor.core.engine import Engine
from monitor.core.profile import present_paths
from monitor.core.risk import RiskRater

from .conftest import (
    cash,
    entity_opening_data,
    individual_opening_data,
    make_engine,
    opening,
    remittance,
    run,
    update,
    without,
)

NEW_YORK = ZoneInfo("America/New_York")
LV = "LV_CASH"
REMIT = "REMIT_MISSING_INFO"

USD_2026 = Decimal("7.0288")  # CNY per USD (config/fx-rates.yaml, from 2026-01-01)
EUR_2026 = Decimal("8.2567")

AT = "2026-03-03T10:00:00-05:00"  # Tuesday, New York


@pytest.fixture
def engine(us_pack) -> Engine:
    return Engine(us_pack)


def test_us_bsa_file_loads_with_rules_switched_off_by_enabled_false(us_pack):
    # `LV_XBORDER_INDIVIDUAL: {enabled: false}` carries no threshold (once refused)
    assert us_pack.config.rules.LV_XBORDER_INDIVIDUAL.enabled is False
    assert us_pack.config.rules.LV_TRANSFER_ENTITY.enabled is False
    built = [r.rule_id for r in Engine(us_pack).rules]
    assert "LV_XBORDER_INDIVIDUAL" not in built
    assert "LV_TRANSFER_ENTITY" not in built
    assert "REMIT_INFO_UNRESOLVED" not in built
    assert "FREQUENT_LARGE_UNCLEAR_SOURCE" not in built


def test_pack_basics(us_pack):
    assert us_pack.name == "us-bsa"
    assert us_pack.tz == NEW_YORK
    assert us_pack.calendar.name == "us-fed"
    assert us_pack.config.report_due_working_days == 15
    assert us_pack.config.rules.WATCHLIST_MATCH.enabled is False


# --------------------------------------------------------------------------- CTR


@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [
        ("9999.99", "USD", False),
        ("10000.00", "USD", False),  # exactly USD 10,000: not MORE than
        ("10000", "USD", False),
        ("10000.01", "USD", True),
        ("70288.00", "CNY", False),  # = USD 10,000.00 exactly
        ("70288.01", "CNY", True),  # = USD 10,000.0014...
    ],
)
def test_ctr_is_strictly_more_than_10000_usd(engine, amount, currency, fires):
    result = run(engine, [cash(amount, currency=currency, at=AT)])
    assert len(result.by_rule(LV)) == (1 if fires else 0)


def test_ctr_alert_fields(engine):
    event = cash("10000.01", currency="USD", at=AT, txn_id="CTR-1")
    (alert,) = run(engine, [event]).by_rule(LV)
    assert alert.summary == (
        "a single cash deposit of 10,000.01 USD exceeds the 10,000.00 USD large-value threshold"
    )
    assert alert.amount == Decimal("10000.01")
    assert alert.currency == "USD"
    assert alert.queue == "ctr"
    assert alert.category == "large_value_report"
    assert alert.evidence == ["CTR-1"]
    assert alert.event_time == datetime(2026, 3, 3, 10, 0, tzinfo=NEW_YORK)
    assert alert.window_start == datetime(2026, 3, 3, tzinfo=NEW_YORK)
    assert alert.window_end == datetime(2026, 3, 4, tzinfo=NEW_YORK)


def test_ctr_cumulative_summary(engine):
    events = [cash("6000", currency="USD", at=AT), cash("4000.01", currency="USD", at=AT)]
    (alert,) = run(engine, events).by_rule(LV)
    assert alert.summary == (
        "2 cash deposits totalling 10,000.01 USD on 2026-03-03 exceed the 10,000.00 USD "
        "large-value threshold"
    )


def test_cumulative_exactly_10000_does_not_fire(engine):
    events = [cash("6000", currency="USD", at=AT), cash("4000", currency="USD", at=AT)]
    assert run(engine, events).by_rule(LV) == []


def test_eur_usd_and_cny_cash_are_summed_in_usd(engine):
    eur = cash("4256.43", currency="EUR", at=AT)  # USD 5,000.0093... (4256.43 * 8.2567 / 7.0288)
    usd = cash("3000.00", currency="USD", at=AT)
    cny = cash("14057.60", currency="CNY", at=AT)  # USD 2,000.00 exactly
    result = run(engine, [eur, usd, cny])
    (alert,) = result.by_rule(LV)
    lv = [[a for a in o.findings.alerts if a.rule_id == LV] for o in result.outcomes]
    assert [len(found) for found in lv] == [0, 0, 1]
    expected = Decimal("4256.43") * EUR_2026 / USD_2026 + Decimal("3000") + Decimal("2000")
    assert alert.amount == expected.quantize(Decimal("0.01")) == Decimal("10000.01")
    assert alert.currency == "USD"
    assert alert.evidence == [eur.txn_id, usd.txn_id, cny.txn_id]


def test_eur_and_usd_just_at_the_threshold_do_not_fire(engine):
    eur = cash("4256.42", currency="EUR", at=AT)  # USD 4,999.9975...
    usd = cash("5000.00", currency="USD", at=AT)
    assert run(engine, [eur, usd]).by_rule(LV) == []


def test_deposits_and_withdrawals_are_apart(engine):
    events = [
        cash("6000", currency="USD", direction="in", at=AT),
        cash("6000", currency="USD", direction="out", at=AT),
    ]
    assert run(engine, events).by_rule(LV) == []


@pytest.mark.parametrize(
    ("second_at", "fires"),
    [
        ("2026-03-03T23:59:59-05:00", True),  # same New York day
        ("2026-03-04T04:59:59Z", True),  # = 23:59:59 EST
        ("2026-03-04T00:00:00-05:00", False),  # next New York day
        ("2026-03-04T05:00:00Z", False),  # = 00:00 EST on 4 March
    ],
)
def test_business_day_is_the_new_york_day(engine, second_at, fires):
    events = [
        cash("6000", currency="USD", at="2026-03-03T00:00:00-05:00"),
        cash("4000.01", currency="USD", at=second_at),
    ]
    assert len(run(engine, events).by_rule(LV)) == (1 if fires else 0)


def test_a_shanghai_day_is_not_a_new_york_day(engine):
    # 23:30 and 00:30 New York time (two NY days) are 12:30 and 13:30 on one Shanghai day
    events = [
        cash("6000", currency="USD", at="2026-03-03T04:30:00Z"),
        cash("6000", currency="USD", at="2026-03-03T05:30:00Z"),
    ]
    assert run(engine, events).by_rule(LV) == []


def test_daylight_saving_day_window(engine):
    # Sunday 8 March 2026: clocks go forward at 02:00, the day is 23 hours long
    (alert,) = run(engine, [cash("10000.01", currency="USD", at="2026-03-09T03:30:00Z")]).by_rule(
        LV
    )
    assert alert.window_start == datetime(2026, 3, 8, tzinfo=NEW_YORK)
    assert alert.window_start.utcoffset() == timedelta(hours=-5)
    assert alert.window_end == datetime(2026, 3, 9, tzinfo=NEW_YORK)
    assert alert.window_end.utcoffset() == timedelta(hours=-4)
    # (subtracting aware datetimes of one zone gives wall-clock time; compare instants)
    assert alert.window_end.timestamp() - alert.window_start.timestamp() == 23 * 3600


# --------------------------------------------------------------------------- report due


@pytest.mark.parametrize(
    ("at", "due"),
    [
        # 31 CFR 1010.306(a)(1): within 15 days following the day of the transaction;
        # calendar days, holidays and weekends included (Memorial Day 25 May, 30-31 May)
        ("2026-05-15T10:00:00-04:00", date(2026, 5, 30)),
        # 02:00Z on Sat 16 May is 22:00 EDT on Fri 15 May: counts from Friday
        ("2026-05-16T02:00:00Z", date(2026, 5, 30)),
        # a due date on a Saturday stays there (Juneteenth and 4 July are not skipped)
        ("2026-06-19T10:00:00-04:00", date(2026, 7, 4)),
        ("2026-12-31T23:59:59-05:00", date(2027, 1, 15)),
    ],
)
def test_ctr_is_due_15_calendar_days_after_the_transaction(engine, at, due):
    (alert,) = run(engine, [cash("10000.01", currency="USD", at=at)]).by_rule(LV)
    assert alert.report_due == due


def test_remit_alert_keeps_15_business_days(engine):
    # no filing deadline: the pack's report_due_working_days on the us-fed calendar
    # (Fri 15 May: 18-22 (5), Mon 25 Memorial Day, 26-29 (9), Jun 1-5 (14), Jun 8 (15))
    event = remittance(
        "3000", currency="USD", at="2026-05-15T10:00:00-04:00", beneficiary={"name": ""}
    )
    (alert,) = run(engine, [event]).by_rule(REMIT)
    assert alert.report_due == date(2026, 6, 8)


def test_us_fed_calendar_days(us_pack):
    cal = us_pack.calendar
    assert cal.is_working_day(date(2026, 5, 25)) is False  # Memorial Day
    assert cal.is_working_day(date(2026, 6, 19)) is False  # Juneteenth
    assert cal.is_working_day(date(2026, 7, 3)) is True
    assert cal.is_working_day(date(2026, 10, 1)) is True  # a PRC holiday, not a US one


# --------------------------------------------------------------------------- structuring


def test_prc_structuring_rule_is_off_sar_structuring_is_on(us_pack):
    # SAR_STRUCTURING (tests/unit/test_us_bsa_sar.py) covers it with the SAR's USD 5,000 floor
    built = [r.rule_id for r in Engine(us_pack).rules]
    assert "STRUCTURING" not in built
    assert "SAR_STRUCTURING" in built


# --------------------------------------------------------------------------- remittances


@pytest.mark.parametrize("direction", ["in", "out"])
@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [
        ("2999.99", "USD", False),
        ("3000.00", "USD", True),
        ("21086.39", "CNY", False),
        ("21086.40", "CNY", True),  # = USD 3,000 exactly
        ("1", "USD", False),  # inbound too: no "any amount" rule here
    ],
)
def test_remit_missing_info_from_usd_3000(engine, direction, amount, currency, fires):
    event = remittance(
        amount, currency=currency, direction=direction, at=AT, beneficiary={"name": ""}
    )
    assert len(run(engine, [event]).by_rule(REMIT)) == (1 if fires else 0)


def test_remit_missing_info_alert_and_no_follow_up(engine):
    event = remittance("3000", currency="USD", at=AT, txn_id="W-1", beneficiary={"name": ""})
    result = run(engine, [event, cash("1", currency="USD", at="2026-06-01T10:00:00-04:00")])
    (alert,) = result.by_rule(REMIT)
    assert alert.queue == "cip"
    assert alert.report_due == date(2026, 3, 24)  # Tue 3 March + 15 business days
    assert result.by_rule("REMIT_INFO_UNRESOLVED") == []
    assert result.states["C001"].pending == {}


# --------------------------------------------------------------------------- other rules


def test_large_transfer_rules_are_off(engine):
    result = run(engine, [remittance("10000000", currency="USD", at=AT)])
    assert result.by_rule("LV_XBORDER_INDIVIDUAL") == []
    assert result.by_rule("LV_TRANSFER_ENTITY") == []


def _us_individual(**overrides):
    data = individual_opening_data(at=AT)
    data["birth_date"] = "1990-03-07"
    data.update(overrides)
    return data


def test_kyc_incomplete_uses_the_pack_fields(engine):
    data = without(without(_us_individual(), "phone"), "gender")
    assert run(engine, [opening(data)]).by_rule("KYC_INCOMPLETE") == []
    (alert,) = run(engine, [opening(without(_us_individual(), "address"))]).by_rule(
        "KYC_INCOMPLETE"
    )
    assert alert.summary.endswith("mandatory identity fields missing: address")


def test_cip_requires_the_date_of_birth_of_an_individual(engine):
    # 31 CFR 1020.220(a)(2)(i)(A)(2): date of birth, for an individual
    (alert,) = run(engine, [opening(without(_us_individual(), "birth_date"))]).by_rule(
        "KYC_INCOMPLETE"
    )
    assert alert.summary.endswith("mandatory identity fields missing: birth_date")
    assert run(engine, [opening(_us_individual(birth_date=None))]).by_rule("KYC_INCOMPLETE")


def test_cip_birth_date_given_later_by_an_update(engine):
    first = run(engine, [opening(without(_us_individual(), "birth_date"))])
    later = run(
        engine,
        [update({"birth_date": "1990-03-07"}, at="2026-03-10T10:00:00-04:00")],
        states=first.states,
    )
    assert later.by_rule("KYC_INCOMPLETE") == []
    assert "birth_date" in present_paths(later.states["C001"].profile)


def test_birth_date_is_not_required_of_an_entity(engine):
    assert run(engine, [opening(entity_opening_data(at=AT))]).by_rule("KYC_INCOMPLETE") == []


def test_birth_date_is_a_field_any_pack_may_require():
    engine = make_engine({"rules.KYC_INCOMPLETE.individual_fields": ["name", "birth_date"]})
    (alert,) = run(engine, [opening()]).by_rule("KYC_INCOMPLETE")
    assert alert.summary.endswith("missing: birth_date")


def test_one_off_threshold_is_usd_3000(engine):
    below = run(engine, [cash("2999.99", currency="USD", account_id=None, at=AT)])
    at = run(engine, [cash("3000", currency="USD", account_id=None, at=AT)])
    assert below.by_rule("CDD_ONE_OFF") == []
    assert len(at.by_rule("CDD_ONE_OFF")) == 1


# --------------------------------------------------------------------------- beneficial owner


def _entity(pct: str) -> dict:
    data = entity_opening_data(at=AT)
    data["beneficial_owners"][0]["ownership_pct"] = pct
    return data


@pytest.mark.parametrize(
    ("pct", "reported"),
    [
        ("24.99", True),
        ("25", False),  # 31 CFR 1010.230(d)(1): "25 percent or more"
        ("25.01", False),
    ],
)
def test_beneficial_owner_is_25_percent_or_more(engine, pct, reported):
    alerts = run(engine, [opening(_entity(pct))]).by_rule("KYC_BENEFICIAL_OWNER")
    assert len(alerts) == (1 if reported else 0)


def test_beneficial_owner_summary_says_or_more(engine):
    (alert,) = run(engine, [opening(_entity("10"))]).by_rule("KYC_BENEFICIAL_OWNER")
    assert alert.summary == (
        "entity without an identified natural person owning 25% or more (1 owner(s) declared)"
    )


@pytest.mark.parametrize(("pct", "opaque"), [("24.99", True), ("25", False)])
def test_entity_opacity_risk_factor_uses_the_same_comparison(us_pack, pct, opaque):
    rater = RiskRater(us_pack.config.risk, us_pack)
    state = run(Engine(us_pack), [opening(_entity(pct))]).states["E001"]
    assert ("entity_opacity" in rater.factors(state)) is opaque


def test_prc_beneficial_owner_stays_more_than_25_percent(pack):
    # PBoC/NFRA/CSRC Order 2025 No.11: more than 25 %: exactly 25 % is reported
    data = entity_opening_data()
    data["beneficial_owners"][0]["ownership_pct"] = "25"
    assert len(run(Engine(pack), [opening(data)]).by_rule("KYC_BENEFICIAL_OWNER")) == 1
