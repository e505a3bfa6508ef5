"""LV_CASH: large cash, single or same-day (Asia/Shanghai) cumulative per customer and
direction, >= CNY 50,000 or >= USD 10,000 equivalent (foreign cash against USD)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal

import pytest

from monitor.core.engine import Engine
from monitor.core.state import CustomerState

from .conftest import DETECTED_AT, SHANGHAI, UTC, cash, make_engine, run

RULE = "LV_CASH"

# The FX table values (config/fx-rates.yaml, base CNY) used to compute EUR boundaries by hand.
EUR_2026 = Decimal("8.2567")  # valid from 2026-01-01
USD_2026 = Decimal("7.0288")
EUR_2025H2 = Decimal("8.4098")  # valid from 2025-07-01
USD_2025H2 = Decimal("7.1586")


def eur_to_usd(amount: Decimal, eur: Decimal, usd: Decimal) -> Decimal:
    return amount * eur / usd


def eur_boundary(eur: Decimal, usd: Decimal) -> Decimal:
    """The smallest EUR amount in cents whose USD equivalent reaches 10,000."""
    return (Decimal(10000) * usd / eur).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


# --------------------------------------------------------------------------- single CNY


@pytest.mark.parametrize(
    ("amount", "fires"),
    [("49999.99", False), ("50000.00", True), ("50000", True), ("50000.01", True), ("1", False)],
)
def test_single_cny_cash_threshold_is_inclusive(engine, amount, fires):
    result = run(engine, [cash(amount)])
    assert len(result.by_rule(RULE)) == (1 if fires else 0)


@pytest.mark.parametrize("direction", ["in", "out"])
def test_single_cny_cash_of_exactly_50000_fires_in_both_directions(engine, direction):
    event = cash("50000.00", direction=direction)
    (alert,) = run(engine, [event]).alerts
    assert alert.rule_id == RULE
    assert alert.amount == Decimal("50000.00")
    assert alert.currency == "CNY"
    assert alert.evidence == [event.txn_id]
    assert alert.customer_id == "C001"


def test_alert_fields_of_a_single_large_deposit(engine):
    event = cash("50000.00", at="2026-03-02T09:15:00+08:00")
    (alert,) = run(engine, [event]).alerts
    assert alert.severity == "medium"
    assert alert.category == "large_value_report"
    assert alert.queue == "large_value_report"
    assert alert.detected_at == DETECTED_AT
    assert alert.event_time == datetime(2026, 3, 2, 9, 15, tzinfo=SHANGHAI)
    assert alert.event_time.utcoffset() == timedelta(hours=8)
    assert alert.summary == (
        "a single cash deposit of 50,000.00 CNY reaches the 50,000.00 CNY large-value threshold"
    )


def test_engine_produces_no_task_for_large_cash(engine):
    assert run(engine, [cash("80000")]).tasks == []


# --------------------------------------------------------------------------- cumulative


def test_same_shanghai_day_deposits_summing_to_50000_fire_once_with_both_txns(engine):
    first = cash("30000.00", at="2026-03-02T09:00:00+08:00")
    second = cash("20000.00", at="2026-03-02T17:45:00+08:00")
    result = run(engine, [first, second])
    assert result.outcomes[0].findings.alerts == []
    (alert,) = result.outcomes[1].findings.alerts
    assert alert.evidence == [first.txn_id, second.txn_id]
    assert alert.amount == Decimal("50000.00")
    assert alert.currency == "CNY"
    assert alert.summary == (
        "2 cash deposits totalling 50,000.00 CNY on 2026-03-02 reach the 50,000.00 CNY "
        "large-value threshold"
    )


def test_same_day_cumulative_just_below_threshold_does_not_fire(engine):
    result = run(engine, [cash("30000.00"), cash("19999.99", at="2026-03-02T18:00:00+08:00")])
    assert result.alerts == []


def test_same_shanghai_day_given_in_utc_is_summed(engine):
    # 2026-03-01T16:30Z is 00:30 on 2 March in Shanghai, 2026-03-02T15:29Z is 23:29 on 2 March.
    result = run(
        engine,
        [cash("30000", at="2026-03-01T16:30:00Z"), cash("20000", at="2026-03-02T15:29:00Z")],
    )
    (alert,) = result.alerts
    assert alert.window_start == datetime(2026, 3, 2, tzinfo=SHANGHAI)


def test_shanghai_midnight_splits_days_even_on_the_same_utc_day(engine):
    # 15:30Z = 23:30 Shanghai on 2 March; 16:30Z = 00:30 Shanghai on 3 March.
    result = run(
        engine,
        [cash("30000", at="2026-03-02T15:30:00Z"), cash("20000", at="2026-03-02T16:30:00Z")],
    )
    assert result.alerts == []
    assert sorted(k.split("|")[1] for k in result.states["C001"].buckets) == [
        "2026-03-02",
        "2026-03-03",
    ]


def test_deposits_and_withdrawals_are_never_summed(engine):
    result = run(engine, [cash("30000", direction="in"), cash("20000", direction="out")])
    assert result.alerts == []


def test_each_direction_fires_on_its_own(engine):
    result = run(
        engine,
        [
            cash("30000", direction="in"),
            cash("30000", direction="out"),
            cash("20000", direction="in"),
            cash("20000", direction="out"),
        ],
    )
    assert [a.amount for a in result.alerts] == [Decimal("50000.00"), Decimal("50000.00")]
    assert result.alerts[0].summary.startswith("2 cash deposits totalling 50,000.00 CNY")
    assert result.alerts[1].summary.startswith("2 cash withdrawals totalling 50,000.00 CNY")
    assert result.alerts[0].alert_id != result.alerts[1].alert_id


def test_a_day_is_one_report_that_grows(engine):
    """2016 No.3 art.5: one finding per day and direction; later deposits grow it."""
    result = run(
        engine,
        [
            cash("30000", at="2026-03-02T09:00:00+08:00"),
            cash("20000", at="2026-03-02T10:00:00+08:00"),
            cash("10000", at="2026-03-02T11:00:00+08:00"),
            cash("90000", at="2026-03-02T12:00:00+08:00"),
        ],
    )
    assert len({a.alert_id for a in result.alerts}) == 1
    assert [len(o.findings.alerts) for o in result.outcomes] == [0, 1, 1, 1]
    assert [a.amount for a in result.alerts] == [Decimal(x) for x in ("50000", "60000", "150000")]


def test_next_day_starts_a_new_total(engine):
    result = run(
        engine,
        [
            cash("50000", at="2026-03-02T09:00:00+08:00"),
            cash("30000", at="2026-03-03T09:00:00+08:00"),
            cash("20000", at="2026-03-03T10:00:00+08:00"),
        ],
    )
    assert [a.window_start.date() for a in result.alerts] == [date(2026, 3, 2), date(2026, 3, 3)]


def test_customers_are_never_summed_together(engine):
    result = run(engine, [cash("30000", customer_id="C001"), cash("20000", customer_id="C002")])
    assert result.alerts == []


# --------------------------------------------------------------------------- foreign cash


@pytest.mark.parametrize(
    ("amount", "fires"), [("9999.99", False), ("10000.00", True), ("10000", True)]
)
def test_single_usd_cash_threshold(engine, amount, fires):
    result = run(engine, [cash(amount, currency="USD")])
    assert len(result.alerts) == (1 if fires else 0)


def test_usd_alert_is_in_usd(engine):
    event = cash("10000.00", currency="USD")
    (alert,) = run(engine, [event]).alerts
    assert alert.amount == Decimal("10000.00")
    assert alert.currency == "USD"
    assert alert.evidence == [event.txn_id]


def test_usd_cash_never_counts_toward_the_cny_side(engine):
    # USD 9,000 is about CNY 63,259: above the CNY threshold, but sides are never added.
    result = run(engine, [cash("45000", currency="CNY"), cash("9000", currency="USD")])
    assert result.alerts == []


def test_cny_cash_never_counts_toward_the_usd_side(engine):
    result = run(engine, [cash("9000", currency="USD"), cash("49999", currency="CNY")])
    assert result.alerts == []


def test_cny_and_usd_sides_each_fire_with_different_ids(engine):
    result = run(engine, [cash("50000", currency="CNY"), cash("10000", currency="USD")])
    assert [(a.currency, a.amount) for a in result.alerts] == [
        ("CNY", Decimal("50000.00")),
        ("USD", Decimal("10000.00")),
    ]
    assert result.alerts[0].alert_id != result.alerts[1].alert_id


def test_fx_table_values_used_by_these_tests(pack):
    assert pack.fx.rate("EUR", date(2026, 3, 2)) == EUR_2026
    assert pack.fx.rate("USD", date(2026, 3, 2)) == USD_2026
    assert pack.fx.rate("EUR", date(2025, 8, 1)) == EUR_2025H2
    assert pack.fx.rate("USD", date(2025, 8, 1)) == USD_2025H2


def test_eur_boundary_computed_by_hand():
    assert eur_boundary(EUR_2026, USD_2026) == Decimal("8512.85")
    assert eur_boundary(EUR_2025H2, USD_2025H2) == Decimal("8512.22")


@pytest.mark.parametrize(("amount", "fires"), [("8512.84", False), ("8512.85", True)])
def test_eur_cash_converted_at_the_2026_rate(engine, amount, fires):
    result = run(engine, [cash(amount, currency="EUR", at="2026-03-02T10:00:00+08:00")])
    assert len(result.alerts) == (1 if fires else 0)


def test_eur_alert_amount_is_the_usd_equivalent(engine):
    (alert,) = run(engine, [cash("8512.85", currency="EUR")]).alerts
    expected = eur_to_usd(Decimal("8512.85"), EUR_2026, USD_2026).quantize(Decimal("0.01"))
    assert expected == Decimal("10000.01")
    assert alert.amount == expected
    assert alert.currency == "USD"


@pytest.mark.parametrize(
    ("at", "fires"),
    [
        ("2025-08-01T10:00:00+08:00", True),  # 8512.50 EUR >= USD 10,000 at the 2025-H2 rates
        ("2026-03-02T10:00:00+08:00", False),  # ... but below it at the 2026 rates
    ],
)
def test_eur_cash_uses_the_rate_of_the_transaction_date(engine, at, fires):
    result = run(engine, [cash("8512.50", currency="EUR", at=at)])
    assert len(result.alerts) == (1 if fires else 0)


def test_eur_rate_follows_the_shanghai_day_not_the_utc_day(engine):
    # 2025-12-31T16:30Z is 2026-01-01 00:30 in Shanghai: the 2026 rates apply (8512.50 < limit).
    assert run(engine, [cash("8512.50", currency="EUR", at="2025-12-31T16:30:00Z")]).alerts == []
    # 2025-12-31T15:30Z is still 2025-12-31 in Shanghai: the 2025-H2 rates apply.
    assert (
        len(run(engine, [cash("8512.50", currency="EUR", at="2025-12-31T15:30:00Z")]).alerts) == 1
    )


def test_eur_and_usd_cash_just_below_usd_10000_together_do_not_fire(engine):
    # EUR 4,256.42 is USD 4,999.9975... at the 2026 rates: the sum stays below 10,000.
    assert (
        run(engine, [cash("4256.42", currency="EUR"), cash("5000.00", currency="USD")]).alerts == []
    )


def test_eur_and_usd_cash_accumulate_on_the_usd_side(engine):
    eur = cash("4256.43", currency="EUR")  # USD 5,000.0093... at the 2026 rates
    usd = cash("5000.00", currency="USD")
    (alert,) = run(engine, [eur, usd]).alerts
    expected = (eur_to_usd(Decimal("4256.43"), EUR_2026, USD_2026) + Decimal("5000")).quantize(
        Decimal("0.01")
    )
    assert alert.amount == expected
    assert alert.currency == "USD"
    assert alert.evidence == [eur.txn_id, usd.txn_id]


# --------------------------------------------------------------------------- alert id


def test_alert_id_is_deterministic_across_fresh_engines(pack):
    events = [cash("30000", txn_id="T-1"), cash("20000", txn_id="T-2")]
    first = run(Engine(pack), events).alerts
    second = run(Engine(pack), events).alerts
    assert len(first) == 1
    assert [a.alert_id for a in first] == [a.alert_id for a in second]


def test_alert_id_does_not_depend_on_detection_time(pack):
    events = [cash("50000", txn_id="T-1")]
    early = run(Engine(pack), events, detected_at=datetime(2026, 3, 2, tzinfo=UTC)).alerts
    late = run(Engine(pack), events, detected_at=datetime(2027, 1, 1, tzinfo=UTC)).alerts
    assert early[0].alert_id == late[0].alert_id
    assert early[0].detected_at != late[0].detected_at


def test_alert_id_is_the_same_for_the_same_day_whatever_the_transactions(pack):
    # The finding is "customer, day, direction, currency side reached the threshold".
    one = run(Engine(pack), [cash("50000", txn_id="T-1")]).alerts
    two = run(Engine(pack), [cash("25000", txn_id="T-8"), cash("25000", txn_id="T-9")]).alerts
    assert one[0].alert_id == two[0].alert_id


@pytest.mark.parametrize(
    "other",
    [
        {"at": "2026-03-03T10:00:00+08:00"},
        {"direction": "out"},
        {"customer_id": "C002"},
        {"currency": "USD", "amount": "10000"},
    ],
    ids=["other-day", "other-direction", "other-customer", "other-side"],
)
def test_alert_id_differs_for_a_different_finding(pack, other):
    base = run(Engine(pack), [cash("50000", at="2026-03-02T10:00:00+08:00")]).alerts
    kwargs = {"amount": "50000", "at": "2026-03-02T10:00:00+08:00", **other}
    amount = kwargs.pop("amount")
    different = run(Engine(pack), [cash(amount, **kwargs)]).alerts
    assert len(base) == len(different) == 1
    assert base[0].alert_id != different[0].alert_id


# --------------------------------------------------------------------------- report due


@pytest.mark.parametrize(
    ("at", "due"),
    [
        # Friday 6 March 2026 -> Mon 9 .. Fri 13
        ("2026-03-06T10:00:00+08:00", date(2026, 3, 13)),
        # Friday in Shanghai although Thursday in UTC (17:00Z Thu = 01:00 Fri)
        ("2026-03-05T17:00:00Z", date(2026, 3, 13)),
        # Monday 2 March 2026 -> Tue 3 .. Mon 9
        ("2026-03-02T10:00:00+08:00", date(2026, 3, 9)),
        # Wed 30 Sep 2026: Oct 1-2 and 5-7 holidays, 3-4 weekend; working: Thu 8 (1), Fri 9 (2),
        # Sat 10 make-up day (3), Sun 11 rest, Mon 12 (4), Tue 13 (5)
        ("2026-09-30T10:00:00+08:00", date(2026, 10, 13)),
        # Fri 13 Feb 2026: Sat 14 make-up (1), 15 Sun, 16-20 + 23 Spring Festival, Tue 24 (2),
        # Wed 25 (3), Thu 26 (4), Fri 27 (5)
        ("2026-02-13T10:00:00+08:00", date(2026, 2, 27)),
    ],
)
def test_report_due_is_five_prc_working_days_later(engine, at, due):
    (alert,) = run(engine, [cash("50000", at=at)]).alerts
    assert alert.report_due == due


# --------------------------------------------------------------------------- window


def test_window_is_the_shanghai_day(engine):
    (alert,) = run(engine, [cash("50000", at="2026-03-02T15:30:00Z")]).alerts  # 23:30 Shanghai
    assert alert.window_start == datetime(2026, 3, 2, 0, 0, tzinfo=SHANGHAI)
    assert alert.window_end == datetime(2026, 3, 3, 0, 0, tzinfo=SHANGHAI)
    assert alert.window_start == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert alert.window_end == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert alert.window_start.utcoffset() == timedelta(hours=8)
    assert alert.window_end.utcoffset() == timedelta(hours=8)


# --------------------------------------------------------------------------- redelivery


def test_redelivered_event_never_counts_twice(engine):
    deposit = cash("30000", event_id="evt-dup", txn_id="T-dup")
    result = run(engine, [deposit, deposit])
    assert result.alerts == []
    assert [o.duplicate for o in result.outcomes] == [False, True]
    assert result.states["C001"].buckets["LV_CASH|2026-03-02|in|CNY"][0] == "30000"


def test_process_returns_duplicate_with_no_findings(engine):
    deposit = cash("50000", event_id="evt-dup")
    first = engine.process(None, deposit, DETECTED_AT)
    assert len(first.findings.alerts) == 1
    before = first.state.to_bytes()
    again = engine.process(first.state, deposit, DETECTED_AT)
    assert again.duplicate is True
    assert again.findings.alerts == [] and again.findings.tasks == []
    assert again.state.to_bytes() == before


def test_redelivery_after_state_round_trip_is_still_a_duplicate(engine):
    deposit = cash("30000", event_id="evt-dup")
    state = engine.process(None, deposit, DETECTED_AT).state
    restored = CustomerState.from_bytes(state.to_bytes())
    outcome = engine.process(restored, deposit, DETECTED_AT)
    assert outcome.duplicate is True
    assert run(engine, [cash("19999.99")], states={"C001": outcome.state}).alerts == []


def test_redelivery_in_between_does_not_change_the_total(engine):
    first = cash("30000", event_id="evt-1")
    result = run(engine, [first, first, first, cash("19999.99")])
    assert result.alerts == []
    result = run(engine, [cash("0.01")], states=result.states)
    assert len(result.alerts) == 1
    assert result.alerts[0].amount == Decimal("50000.00")


def test_redelivery_after_watermark_moves_on_never_counts_twice(engine):
    # retention 8 days; horizon after B = 2026-03-10T08:00 - 8 days = 2026-03-02T08:00+08:00.
    # The 2 March bucket ends 2026-03-03T00:00+08:00, after the horizon -> it is kept; the
    # seen ids are kept one day longer (from 2026-03-01T08:00), so A (00:30 on 2 March) is
    # still remembered and its redelivery is a duplicate.
    a = cash("30000", event_id="evt-A", at="2026-03-02T00:30:00+08:00")
    b = cash("100", event_id="evt-B", at="2026-03-10T08:00:00+08:00")
    result = run(engine, [a, b, a])
    assert result.outcomes[2].duplicate is True
    assert result.alerts == []


@pytest.mark.xfail(
    strict=True,
    reason="documented bound: redeliveries older than max_seen_events ids per customer are "
    "not detected",
)
def test_redelivery_after_seen_cap_never_counts_twice():
    engine = make_engine({"state.max_seen_events": 10})
    big = cash("30000", event_id="evt-big", at="2026-03-02T08:00:00+08:00")
    small = [cash("1", at=f"2026-03-02T09:{m:02d}:00+08:00") for m in range(10)]
    result = run(engine, [big, *small, big])
    assert result.outcomes[-1].duplicate is True
    assert result.alerts == []
