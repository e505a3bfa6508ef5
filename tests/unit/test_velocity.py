"""STRUCTURING and FREQUENT_LARGE_UNCLEAR_SOURCE: suspicious patterns over a sliding
event-time window (default 7 days = 168 hours before the latest transaction).

- STRUCTURING: >= 3 cash transactions each in [90 %, 100 %) of the single-transaction
  threshold (CNY 45,000 .. 49,999.99; USD 9,000 .. 9,999.99) -> SUSPECTED_ML_TF task.
- FREQUENT_LARGE_UNCLEAR_SOURCE: >= 3 transfers each >= CNY 50,000 / USD 10,000 with an
  unclear source of funds, or whose total is above 50 % of the declared annual income
  -> ABNORMAL_ACTIVITY task.
Transactions already reported are not reported again: the next alert needs 3 new ones.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from monitor.core.engine import Engine

from .conftest import cash, individual_opening_data, opening, remittance, run

STRUCT = "STRUCTURING"
FREQ = "FREQUENT_LARGE_UNCLEAR_SOURCE"

USD_2026 = Decimal("7.0288")  # CNY per USD from 2026-01-01 (config/fx-rates.yaml)
EUR_2026 = Decimal("8.2567")

# three moments within 7 days (Mon 2, Wed 4, Fri 6 March 2026, Shanghai)
DAYS = ("2026-03-02T10:00:00+08:00", "2026-03-04T10:00:00+08:00", "2026-03-06T10:00:00+08:00")


def per_event(result, rule: str) -> list[int]:
    return [sum(a.rule_id == rule for a in o.findings.alerts) for o in result.outcomes]


def tasks_of(result, trigger: str):
    return [t for t in result.tasks if t.trigger == trigger]


# =========================================================================== STRUCTURING


def test_three_in_band_within_seven_days_fire_once_with_a_task(engine):
    events = [
        cash("45000.00", at=DAYS[0], txn_id="S-1"),
        cash("49999.99", at=DAYS[1], txn_id="S-2"),
        cash("47000.00", at=DAYS[2], txn_id="S-3", event_id="evt-S-3"),
    ]
    result = run(engine, events)
    assert per_event(result, STRUCT) == [0, 0, 1]
    (alert,) = result.by_rule(STRUCT)
    assert alert.summary == (
        "3 cash transactions within 7 days each between 90% and 100% of the 50,000.00 CNY "
        "threshold (total 141,999.99 CNY)"
    )
    assert alert.severity == "high"
    assert alert.category == "suspicious"
    assert alert.queue == "suspicious"
    assert alert.amount == Decimal("141999.99")
    assert alert.currency == "CNY"
    assert alert.evidence == ["S-1", "S-2", "S-3"]
    assert alert.report_due == date(2026, 3, 13)  # Fri 6 March + 5 PRC working days
    (task,) = result.tasks
    assert task.trigger == "SUSPECTED_ML_TF"
    assert task.alert_ids == [alert.alert_id]
    assert task.source_event_id == "evt-S-3"
    assert task.measures == engine.pack.config.tasks["SUSPECTED_ML_TF"].measures
    assert task.due_by == date(2026, 3, 13)
    assert task.customer_id == "C001"


@pytest.mark.parametrize(
    ("amount", "counts"),
    [
        ("44995.00", False),  # 89.99 %
        ("44999.99", False),  # 89.99998 %
        ("45000.00", True),  # exactly 90 %
        ("45000.01", True),
        ("49999.99", True),
        ("50000.00", False),  # exactly 100 %: a large-value report, not structuring
        ("50000.01", False),
    ],
)
def test_cny_band_boundaries(engine, amount, counts):
    events = [cash("46000", at=DAYS[0]), cash("46000", at=DAYS[1]), cash(amount, at=DAYS[2])]
    assert per_event(run(engine, events), STRUCT) == [0, 0, 1 if counts else 0]


@pytest.mark.parametrize(
    ("amount", "counts"),
    [
        ("8999.00", False),  # 89.99 %
        ("8999.99", False),
        ("9000.00", True),  # 90 %
        ("9999.99", True),
        ("10000.00", False),  # 100 %
    ],
)
def test_usd_band_boundaries(engine, amount, counts):
    events = [
        cash("9500", currency="USD", at=DAYS[0]),
        cash("9500", currency="USD", at=DAYS[1]),
        cash(amount, currency="USD", at=DAYS[2]),
    ]
    result = run(engine, events)
    assert per_event(result, STRUCT) == [0, 0, 1 if counts else 0]
    if counts:
        (alert,) = result.by_rule(STRUCT)
        assert alert.currency == "USD"
        assert alert.amount == Decimal("19000") + Decimal(amount)
        assert "of the 10,000.00 USD threshold" in alert.summary


def test_eur_is_measured_against_the_usd_threshold(engine):
    # EUR 7,700 = USD 9,045.34... (7700 * 8.2567 / 7.0288): inside the USD band
    usd = Decimal(7700) * EUR_2026 / USD_2026
    assert Decimal(9000) <= usd < Decimal(10000)
    events = [
        cash("7700", currency="EUR", at=DAYS[0]),
        cash("9500", currency="USD", at=DAYS[1]),
        cash("7700", currency="EUR", at=DAYS[2]),
    ]
    (alert,) = run(engine, events).by_rule(STRUCT)
    assert alert.currency == "USD"
    assert alert.amount == (usd * 2 + Decimal(9500)).quantize(Decimal("0.01"))


def test_cny_and_usd_transactions_in_band_count_together(engine):
    events = [
        cash("45000", at=DAYS[0], txn_id="M-1"),
        cash("9500", currency="USD", at=DAYS[1], txn_id="M-2"),
        cash("46000", at=DAYS[2], txn_id="M-3"),
    ]
    (alert,) = run(engine, events).by_rule(STRUCT)
    assert alert.evidence == ["M-1", "M-2", "M-3"]


def test_mixed_currency_structuring_total_is_in_one_currency(engine):
    events = [
        cash("45000", at=DAYS[0]),
        cash("9500", currency="USD", at=DAYS[1]),
        cash("46000", at=DAYS[2]),
    ]
    (alert,) = run(engine, events).by_rule(STRUCT)
    # in CNY, the FX table's base, as FREQUENT_LARGE_UNCLEAR_SOURCE reports:
    # 45,000 + 46,000 + 9,500 * 7.0288 = 157,773.60
    assert alert.currency == "CNY"
    assert alert.amount == Decimal("157773.60")


@pytest.mark.parametrize(
    ("third_at", "fires"),
    [
        ("2026-03-09T09:59:59+08:00", True),  # 6 days 23:59:59 after the first
        ("2026-03-09T01:59:59Z", True),  # the same moment in UTC
        ("2026-03-10T10:00:00+08:00", False),  # 8 days: the first has left the window
    ],
)
def test_window_edge(engine, third_at, fires):
    events = [
        cash("46000", at="2026-03-02T10:00:00+08:00"),
        cash("46000", at="2026-03-05T10:00:00+08:00"),
        cash("46000", at=third_at),
    ]
    assert per_event(run(engine, events), STRUCT) == [0, 0, 1 if fires else 0]


def test_three_spread_over_more_than_seven_days_do_not_fire(engine):
    events = [
        cash("46000", at="2026-03-02T10:00:00+08:00"),
        cash("46000", at="2026-03-06T10:00:00+08:00"),
        cash("46000", at="2026-03-10T10:00:00+08:00"),
        cash("46000", at="2026-03-14T10:00:00+08:00"),
    ]
    assert run(engine, events).by_rule(STRUCT) == []


def test_two_only_do_not_fire(engine):
    assert run(engine, [cash("46000", at=DAYS[0]), cash("46000", at=DAYS[1])]).by_rule(STRUCT) == []


def test_a_fourth_does_not_refire_but_three_new_ones_do(engine):
    events = [
        cash("46000", at=f"2026-03-0{d}T10:00:00+08:00", txn_id=f"S-{d}") for d in range(2, 8)
    ]
    result = run(engine, events)
    assert per_event(result, STRUCT) == [0, 0, 1, 0, 0, 1]
    first, second = result.by_rule(STRUCT)
    assert first.evidence == ["S-2", "S-3", "S-4"]
    assert second.evidence == ["S-5", "S-6", "S-7"]
    assert first.alert_id != second.alert_id
    assert len(tasks_of(result, "SUSPECTED_ML_TF")) == 2


def test_out_of_band_cash_in_between_changes_nothing(engine):
    events = [
        cash("46000", at="2026-03-02T10:00:00+08:00"),
        cash("100", at="2026-03-02T11:00:00+08:00"),
        cash("60000", at="2026-03-03T11:00:00+08:00"),
        cash("46000", at="2026-03-04T10:00:00+08:00"),
        cash("46000", at="2026-03-05T10:00:00+08:00"),
    ]
    assert per_event(run(engine, events), STRUCT) == [0, 0, 0, 0, 1]


def test_deposits_and_withdrawals_count_together(engine):
    events = [
        cash("46000", direction="in", at=DAYS[0]),
        cash("46000", direction="out", at=DAYS[1]),
        cash("46000", direction="in", at=DAYS[2]),
    ]
    assert len(run(engine, events).by_rule(STRUCT)) == 1


def test_redelivered_cash_never_counts_twice_for_structuring(engine):
    once = cash("46000", event_id="evt-s-dup", at=DAYS[0])
    result = run(engine, [once, once, once, cash("46000", at=DAYS[1])])
    assert result.by_rule(STRUCT) == []


def test_customers_are_apart(engine):
    events = [
        cash("46000", at=DAYS[0], customer_id="C001"),
        cash("46000", at=DAYS[1], customer_id="C002"),
        cash("46000", at=DAYS[2], customer_id="C003"),
    ]
    assert run(engine, events).by_rule(STRUCT) == []


def test_structuring_alert_id_depends_on_the_transactions(pack):
    def once(ids):
        events = [cash("46000", at=d, txn_id=i) for d, i in zip(DAYS, ids, strict=True)]
        return run(Engine(pack), events).by_rule(STRUCT)[0].alert_id

    assert once(["A", "B", "C"]) == once(["A", "B", "C"])
    assert once(["A", "B", "C"]) != once(["A", "B", "D"])


# =========================================================================== FREQUENT_LARGE


def large(amount="50000", *, source="unknown", at=DAYS[0], **kw):
    """A complete outbound transfer with the given source of funds (None removes it)."""
    if source is None:
        return remittance(amount, at=at, source_of_funds=None, **kw)
    return remittance(amount, at=at, source_of_funds=source, **kw)


def three(amounts=("50000", "50000", "50000"), sources=("unknown",) * 3, **kw):
    return [
        large(a, source=s, at=d, txn_id=f"F-{i}", event_id=f"evt-F-{i}", **kw)
        for i, (a, s, d) in enumerate(zip(amounts, sources, DAYS, strict=True), start=1)
    ]


@pytest.mark.parametrize(
    "source", [None, "", "   ", "unknown", "Unknown", " UNKNOWN ", "n/a", "none", "unclear"]
)
def test_three_large_transfers_with_unclear_source_fire(engine, source):
    result = run(engine, three(sources=(source,) * 3))
    assert per_event(result, FREQ) == [0, 0, 1]
    (alert,) = result.by_rule(FREQ)
    assert alert.summary == (
        "3 large transfers within 7 days totalling 150,000.00 CNY: source of funds unclear"
    )
    assert alert.evidence == ["F-1", "F-2", "F-3"]
    assert alert.amount == Decimal("150000.00")
    assert alert.currency == "CNY"
    assert alert.severity == "high"
    assert alert.category == "suspicious"
    assert alert.report_due == date(2026, 3, 13)
    (task,) = tasks_of(result, "ABNORMAL_ACTIVITY")
    assert task.alert_ids == [alert.alert_id]
    assert task.source_event_id == "evt-F-3"
    assert task.due_by == date(2026, 3, 20)  # Fri 6 March + 10 PRC working days
    assert task.measures == engine.pack.config.tasks["ABNORMAL_ACTIVITY"].measures


def test_mixed_unclear_sources_fire(engine):
    result = run(engine, three(sources=(None, "", "unknown")))
    assert len(result.by_rule(FREQ)) == 1


@pytest.mark.parametrize(
    ("amount", "currency", "counts"),
    [
        ("49999.99", "CNY", False),
        ("50000.00", "CNY", True),
        ("9999.99", "USD", False),
        ("10000.00", "USD", True),
    ],
)
def test_each_transfer_must_reach_the_threshold(engine, amount, currency, counts):
    events = [
        large("60000", at=DAYS[0]),
        large("60000", at=DAYS[1]),
        large(amount, currency=currency, at=DAYS[2]),
    ]
    assert per_event(run(engine, events), FREQ) == [0, 0, 1 if counts else 0]


def test_usd_transfers_are_totalled_in_cny(engine):
    events = [large("10000", currency="USD", at=d) for d in DAYS]
    (alert,) = run(engine, events).by_rule(FREQ)
    assert alert.currency == "CNY"
    assert alert.amount == Decimal("210864.00")  # 3 * 10,000 * 7.0288
    assert alert.summary.startswith("3 large transfers within 7 days totalling 210,864.00 CNY")


def test_two_only_do_not_fire_freq(engine):
    assert run(engine, three()[:2]).by_rule(FREQ) == []


def test_two_unclear_and_one_clear_without_income_do_not_fire(engine):
    # customer never opened: no declared income to compare with
    assert run(engine, three(sources=("unknown", "salary", ""))).by_rule(FREQ) == []


@pytest.mark.parametrize(
    ("third_at", "fires"),
    [
        ("2026-03-09T09:59:59+08:00", True),
        ("2026-03-10T10:00:00+08:00", False),
    ],
)
def test_freq_window_edge(engine, third_at, fires):
    events = [
        large(at="2026-03-02T10:00:00+08:00"),
        large(at="2026-03-05T10:00:00+08:00"),
        large(at=third_at),
    ]
    assert per_event(run(engine, events), FREQ) == [0, 0, 1 if fires else 0]


def test_a_fourth_does_not_refire_but_three_new_ones_do_freq(engine):
    events = [large(at=f"2026-03-0{d}T10:00:00+08:00", txn_id=f"F-{d}") for d in range(2, 8)]
    result = run(engine, events)
    assert per_event(result, FREQ) == [0, 0, 1, 0, 0, 1]
    assert [a.evidence for a in result.by_rule(FREQ)] == [
        ["F-2", "F-3", "F-4"],
        ["F-5", "F-6", "F-7"],
    ]


def test_inbound_transfers_count_too(engine):
    events = [large(at=d, direction="in") for d in DAYS]
    assert len(run(engine, events).by_rule(FREQ)) == 1


def test_supplements_never_count(engine):
    events = [large(at=d, kind="supplement") for d in DAYS]
    assert run(engine, events).by_rule(FREQ) == []


# --------------------------------------------------------------------------- declared income

# the default opening declares CNY 300,000 a year: 50 % is CNY 150,000


def test_clear_source_in_line_with_income_does_not_fire(engine):
    result = run(engine, [opening(), *three(sources=("salary",) * 3)])  # 150,000: not above
    assert result.by_rule(FREQ) == []


def test_clear_source_above_half_the_income_fires(engine):
    events = three(amounts=("50000", "50000", "50000.01"), sources=("salary",) * 3)
    result = run(engine, [opening(), *events])
    (alert,) = result.by_rule(FREQ)
    assert alert.summary == (
        "3 large transfers within 7 days totalling 150,000.01 CNY: total above 50% of the "
        "declared annual income"
    )
    assert alert.evidence == ["F-1", "F-2", "F-3"]
    assert len(tasks_of(result, "ABNORMAL_ACTIVITY")) == 1


def test_two_transfers_far_above_the_income_do_not_fire(engine):
    events = three(amounts=("900000",) * 3, sources=("salary",) * 3)[:2]
    assert run(engine, [opening(), *events]).by_rule(FREQ) == []


def test_income_rule_counts_clear_and_unclear_together(engine):
    events = three(amounts=("60000",) * 3, sources=("unknown", "salary", ""))  # 180,000
    (alert,) = run(engine, [opening(), *events]).by_rule(FREQ)
    assert alert.summary.endswith("total above 50% of the declared annual income")


def test_income_declared_in_usd_is_converted_at_the_opening_date(engine):
    # USD 40,000 at 7.0288 (2026) = CNY 281,152; half is 140,576 < 150,000
    data = individual_opening_data()
    data.update(declared_annual_income="40000", income_currency="USD")
    result = run(engine, [opening(data), *three(sources=("salary",) * 3)])
    assert len(result.by_rule(FREQ)) == 1


def test_without_declared_income_a_clear_source_never_fires(engine):
    data = individual_opening_data()
    del data["declared_annual_income"]
    events = three(amounts=("900000",) * 3, sources=("salary",) * 3)
    assert run(engine, [opening(data), *events]).by_rule(FREQ) == []
