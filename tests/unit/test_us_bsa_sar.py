"""SAR_STRUCTURING in the us-bsa pack: a suspicious activity report for cash aggregating at
least USD 5,000 structured to evade the currency transaction report (31 CFR
1020.320(a)(2)(iii); structuring, 31 U.S.C. 5324; the CTR threshold, 31 CFR 1010.311),
due 30 calendar days after the initial detection (31 CFR 1020.320(b)(3))."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from monitor.core.engine import Engine
from monitor.core.errors import ConfigurationError

from .conftest import DETECTED_AT, cash, make_engine, run

NEW_YORK = ZoneInfo("America/New_York")
SAR = "SAR_STRUCTURING"
USD_2026 = Decimal("7.0288")  # CNY per USD (config/fx-rates.yaml, from 2026-01-01)
EUR_2026 = Decimal("8.2567")

MON = "2026-03-02T10:00:00-05:00"
WED = "2026-03-04T10:00:00-05:00"


def usd(amount: str, at: str, **kw):
    return cash(amount, currency="USD", at=at, **kw)


@pytest.fixture
def engine(us_pack) -> Engine:
    return Engine(us_pack)


def _us(overrides: dict) -> Engine:
    return make_engine(overrides, file="us-bsa.yaml")


# --------------------------------------------------------------------------- near the threshold


@pytest.mark.parametrize(
    ("amount", "counts"),
    [
        ("7999.99", False),
        ("8000.00", True),  # exactly 80 %
        ("9999.99", True),
        ("10000.00", False),  # 100 % is outside the band [80 %, 100 %), as in STRUCTURING
        ("10000.01", False),  # a CTR by itself (31 CFR 1010.311): nothing evaded
    ],
)
def test_near_threshold_band(engine, amount, counts):
    events = [usd("9000", MON), usd(amount, WED)]
    assert len(run(engine, events).by_rule(SAR)) == (1 if counts else 0)


def test_near_threshold_alert(engine):
    events = [usd("9000", MON, txn_id="U-1"), usd("8000", WED, txn_id="U-2")]
    result = run(engine, events)
    (alert,) = result.by_rule(SAR)
    assert alert.summary == (
        "2 cash transactions within 5 days each between 80% and 100% of the 10,000.00 USD "
        "currency transaction report threshold (total 17,000.00 USD)"
    )
    assert alert.evidence == ["U-1", "U-2"]
    assert alert.amount == Decimal("17000.00") and alert.currency == "USD"
    assert alert.category == "suspicious" and alert.severity == "high"
    assert alert.queue == "sar-review"
    assert alert.event_time == datetime(2026, 3, 4, 10, 0, tzinfo=NEW_YORK)
    # 31 CFR 1020.320(b)(3): 30 calendar days after the date of initial detection
    assert alert.report_due == date(2026, 4, 3)
    assert [t.trigger for t in result.tasks] == ["SUSPECTED_ML_TF"]
    assert result.tasks[0].alert_ids == [alert.alert_id]


@pytest.mark.parametrize(
    ("second_at", "fires"),
    [
        ("2026-03-07T09:59:59-05:00", True),  # 4 days 23:59:59 later
        ("2026-03-08T10:00:00-04:00", False),  # 5 days 23 hours later (after the DST change)
    ],
)
def test_near_threshold_window_is_five_days(engine, second_at, fires):
    events = [usd("9000", MON), usd("9000", second_at)]
    assert len(run(engine, events).by_rule(SAR)) == (1 if fires else 0)


def test_reported_transactions_are_not_counted_again(engine):
    events = [usd("9000", MON), usd("9000", WED), usd("9000", "2026-03-05T10:00:00-05:00")]
    assert len(run(engine, events).by_rule(SAR)) == 1
    events.append(usd("9500", "2026-03-06T10:00:00-05:00"))
    assert len(run(engine, events).by_rule(SAR)) == 2


def test_currencies_are_compared_in_usd(engine):
    # CNY 60,000 = USD 8,536.31... and EUR 8,000 = USD 9,397.45...: both in the band
    events = [cash("60000", currency="CNY", at=MON), cash("8000", currency="EUR", at=WED)]
    (alert,) = run(engine, events).by_rule(SAR)
    expected = Decimal(60000) / USD_2026 + Decimal(8000) * EUR_2026 / USD_2026
    assert alert.amount == expected.quantize(Decimal("0.01"))
    assert alert.currency == "USD"


@pytest.mark.parametrize(("total", "fires"), [("4999.98", False), ("5000.00", True)])
def test_aggregating_at_least_5000(total, fires):
    # 31 CFR 1020.320(a)(2): "aggregates at least $5,000"; a wider band lets two amounts
    # of a structuring pattern stay under it
    engine = _us({"rules.SAR_STRUCTURING.lower_pct": "20"})
    half = (Decimal(total) / 2).quantize(Decimal("0.01"))
    events = [usd(str(half), MON), usd(str(Decimal(total) - half), WED)]
    assert len(run(engine, events).by_rule(SAR)) == (1 if fires else 0)


# --------------------------------------------------------------------------- split on one day


def test_smaller_same_day_deposits_above_10000_only_together(engine):
    events = [
        usd("4000", "2026-03-03T09:00:00-05:00", txn_id="S-1"),
        usd("3500", "2026-03-03T12:00:00-05:00", txn_id="S-2"),
        usd("2500.01", "2026-03-03T16:00:00-05:00", txn_id="S-3"),
    ]
    result = run(engine, events)
    (alert,) = result.by_rule(SAR)
    assert [len(o.findings.alerts) for o in result.outcomes] == [0, 0, 2]  # the CTR too
    assert alert.summary == (
        "3 cash deposits on 2026-03-03, none above the 10,000.00 USD currency transaction "
        "report threshold, together 10,000.01 USD: above it only together"
    )
    assert alert.evidence == ["S-1", "S-2", "S-3"]
    assert alert.amount == Decimal("10000.01")
    assert alert.window_start == datetime(2026, 3, 3, tzinfo=NEW_YORK)
    assert alert.window_end == datetime(2026, 3, 4, tzinfo=NEW_YORK)
    assert alert.report_due == date(2026, 4, 2)
    # the aggregated CTR is filed as well (31 CFR 1010.313(b))
    assert len(result.by_rule("LV_CASH")) == 1


def test_exactly_10000_together_is_no_split(engine):
    events = [usd("6000", MON), usd("4000", "2026-03-02T15:00:00-05:00")]
    assert run(engine, events).by_rule(SAR) == []


def test_a_transaction_above_the_threshold_is_not_split(engine):
    # the USD 12,000 deposit is a CTR by itself; the USD 3,000 one crosses nothing alone
    events = [usd("12000", MON), usd("3000", "2026-03-02T15:00:00-05:00")]
    result = run(engine, events)
    assert result.by_rule(SAR) == []
    assert len({a.alert_id for a in result.by_rule("LV_CASH")}) == 1  # one report, grown


def test_split_days_are_per_direction(engine):
    events = [
        usd("6000", MON),
        usd("6000", "2026-03-02T11:00:00-05:00", direction="out"),
    ]
    assert run(engine, events).by_rule(SAR) == []


def test_split_day_is_reported_once(engine):
    events = [usd("6000", MON), usd("6000", "2026-03-02T11:00:00-05:00")]
    events += [usd("1000", "2026-03-02T12:00:00-05:00")]
    assert len(run(engine, events).by_rule(SAR)) == 1


def test_split_day_transactions_are_not_reported_again_as_near_threshold(engine):
    # two USD 9,000 deposits on one day: one split-day report, not a second near-threshold one
    events = [usd("9000", MON), usd("9000", "2026-03-02T11:00:00-05:00")]
    (alert,) = run(engine, events).by_rule(SAR)
    assert alert.summary.startswith("2 cash deposits on 2026-03-02")


def test_split_days_can_be_switched_off():
    engine = _us({"rules.SAR_STRUCTURING.split_days": False})
    events = [usd("6000", MON), usd("6000", "2026-03-02T11:00:00-05:00")]
    assert run(engine, events).by_rule(SAR) == []


def test_redelivered_event_counts_once(engine):
    first = usd("6000", MON)
    assert run(engine, [first, first]).by_rule(SAR) == []


# --------------------------------------------------------------------------- the pack


def test_off_in_a_pack_without_the_section(pack):
    assert pack.config.rules.SAR_STRUCTURING.enabled is False
    assert "SAR_STRUCTURING" not in [r.rule_id for r in Engine(pack).rules]


def test_on_in_a_pack_with_the_section(us_pack):
    assert us_pack.config.rules.SAR_STRUCTURING.enabled is True


def test_band_is_validated():
    with pytest.raises(ConfigurationError, match="lower_pct must be below upper_pct"):
        _us({"rules.SAR_STRUCTURING.lower_pct": "90", "rules.SAR_STRUCTURING.upper_pct": "80"})


def test_state_stored_between_events_gives_the_same_findings(engine):
    # the worker stores the record between batches: SAR_STRUCTURING's window and day
    # totals come back from the stored bytes as they were
    from monitor.core.state import CustomerState

    events = [
        usd("9000", MON),
        usd("4000", WED),
        usd("9500", "2026-03-04T11:00:00-05:00"),  # Wednesday split: 13,500 together
        usd("8500", "2026-03-05T10:00:00-05:00"),  # with Monday's 9,000: near the threshold
    ]
    kept = run(engine, events).by_rule(SAR)
    state = None
    stored = []
    for event in events:
        outcome = engine.process(state, event, DETECTED_AT)
        stored += outcome.findings.alerts
        state = CustomerState.from_bytes(outcome.state.to_bytes())
    assert [a for a in stored if a.rule_id == SAR] == kept
    assert [a.summary.split(" ")[2] for a in kept] == ["deposits", "transactions"]
