"""Every conversion uses the FX rate of the bank's local day of the event (PBoC Order 2016
No.3: thresholds are judged per natural day in the bank's zone, and "USD equivalent" on that
day), even when the event's timestamp is written in UTC on the previous date.

The FX table's USD rate changes on 2026-01-01 (7.1586 before, 7.0288 from then on):
2025-12-31T17:00:00Z is already 2026-01-01 01:00 in Shanghai."""

from __future__ import annotations

from decimal import Decimal

from .conftest import cash, individual_opening_data, opening, remittance, run, update

LATE_UTC = "2025-12-31T17:00:00Z"  # 2026-01-01 01:00 in Shanghai
RATE_2025 = Decimal("7.1586")
RATE_2026 = Decimal("7.0288")


def test_declared_income_of_an_opening_late_in_the_utc_evening_uses_the_bank_days_rate(engine):
    data = individual_opening_data(customer_id="FX1", at=LATE_UTC)
    data.update(declared_annual_income="100000", income_currency="USD")
    result = run(engine, [opening(data)])
    income = Decimal(result.states["FX1"].profile["income"])
    assert income == Decimal(100000) * RATE_2026
    assert income != Decimal(100000) * RATE_2025


def test_declared_income_of_an_update_uses_the_rate_of_the_updates_own_bank_day(engine):
    data = individual_opening_data(customer_id="FX2", at="2025-06-02T10:00:00+08:00")
    change = update(
        {"declared_annual_income": "100000", "income_currency": "USD"},
        customer_id="FX2",
        at=LATE_UTC,
    )
    result = run(engine, [opening(data), change])
    assert Decimal(result.states["FX2"].profile["income"]) == Decimal(100000) * RATE_2026


def test_frequent_large_income_branch_compares_amounts_converted_on_the_bank_day(engine):
    # income USD 100,000 at the 2026 rate is CNY 702,880: half is 351,440. Three payments of
    # USD 16,700 on the bank's 2026 days are 3 x 117,380.96 = 352,142.88, above half.
    # Converted at the UTC date's 2025 rate the income would be CNY 715,860 (half 357,930)
    # and the same payments would not be above it.
    data = individual_opening_data(customer_id="FX3", at=LATE_UTC)
    data.update(declared_annual_income="100000", income_currency="USD")
    payments = [
        remittance("16700", currency="USD", customer_id="FX3", at=at)
        for at in ("2025-12-31T18:00:00Z", "2026-01-02T10:00:00+08:00", "2026-01-03T10:00:00+08:00")
    ]
    result = run(engine, [opening(data), *payments])
    alerts = result.by_rule("FREQUENT_LARGE_UNCLEAR_SOURCE")
    assert len(alerts) == 1
    assert alerts[0].amount == (3 * Decimal("16700") * RATE_2026).quantize(Decimal("0.01"))


def test_cash_late_in_the_utc_evening_is_converted_at_the_bank_days_rate(engine):
    # EUR 8,512.50 is USD 9,999.60 at the 2026 cross rate (no large-value report) and
    # USD 10,000.34 at the 2025 one: the deposit is on 1 January 2026 in Shanghai
    deposit = cash("8512.50", currency="EUR", customer_id="FX4", at=LATE_UTC)
    assert run(engine, [deposit]).by_rule("LV_CASH") == []
    day_before = cash("8512.50", currency="EUR", customer_id="FX5", at="2025-12-31T15:59:59Z")
    assert len(run(engine, [day_before]).by_rule("LV_CASH")) == 1
