"""LV_XBORDER_INDIVIDUAL and LV_TRANSFER_ENTITY: large-value transfer reports, single or
same-day (Asia/Shanghai) cumulative per customer and direction.

- an individual's cross-border transfers: >= CNY 200,000 or >= USD 10,000 equivalent;
- an entity's transfers: >= CNY 2,000,000 or >= USD 200,000 equivalent.

Local-currency (CNY) and foreign-currency amounts accumulate apart; every foreign currency
is converted into USD with the dated FX table. Supplements never count.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal

import pytest

from monitor.core.engine import Engine

from .conftest import (
    SHANGHAI,
    entity_opening_data,
    opening,
    remittance,
    run,
    update,
)

XB = "LV_XBORDER_INDIVIDUAL"
ENT = "LV_TRANSFER_ENTITY"

# config/fx-rates.yaml, valid from 2026-01-01 (CNY per unit)
EUR_2026 = Decimal("8.2567")
USD_2026 = Decimal("7.0288")


def eur_for_usd(usd: Decimal) -> Decimal:
    """The smallest EUR amount in cents worth at least `usd` at the 2026 rates."""
    return (usd * USD_2026 / EUR_2026).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def individual(customer_id: str = "C001", at: str = "2026-03-01T10:00:00+08:00"):
    return opening(customer_id=customer_id, opened_at=at, account_id=f"ACC-{customer_id}")


def entity(customer_id: str = "E001", at: str = "2026-03-01T10:00:00+08:00"):
    return opening(entity_opening_data(customer_id=customer_id, at=at))


def rules_fired(result) -> list[str]:
    return [a.rule_id for a in result.alerts]


def per_event(result, rule: str) -> list[int]:
    """How many `rule` alerts each event produced."""
    return [sum(a.rule_id == rule for a in o.findings.alerts) for o in result.outcomes]


# =========================================================================== individual


@pytest.mark.parametrize(
    ("amount", "fires"),
    [("199999.99", False), ("200000.00", True), ("200000", True), ("200000.01", True)],
)
@pytest.mark.parametrize("direction", ["in", "out"])
def test_individual_single_cny_boundary(engine, amount, fires, direction):
    result = run(engine, [individual(), remittance(amount, direction=direction)])
    assert len(result.by_rule(XB)) == (1 if fires else 0)
    assert result.by_rule(ENT) == []


@pytest.mark.parametrize(
    ("amount", "fires"), [("9999.99", False), ("10000.00", True), ("10000.01", True)]
)
def test_individual_single_usd_boundary(engine, amount, fires):
    result = run(engine, [individual(), remittance(amount, currency="USD")])
    assert len(result.by_rule(XB)) == (1 if fires else 0)


def test_eur_boundary_computed_by_hand():
    # USD 10,000 = CNY 70,288 = EUR 8,512.84...; 8512.85 is the first cent at or above it
    assert eur_for_usd(Decimal(10000)) == Decimal("8512.85")


@pytest.mark.parametrize(("amount", "fires"), [("8512.84", False), ("8512.85", True)])
def test_individual_single_eur_is_compared_in_usd(engine, amount, fires):
    result = run(engine, [individual(), remittance(amount, currency="EUR")])
    alerts = result.by_rule(XB)
    assert len(alerts) == (1 if fires else 0)
    if fires:
        assert alerts[0].currency == "USD"
        assert alerts[0].amount == Decimal("10000.01")  # 8512.85 * 8.2567 / 7.0288


def test_individual_alert_fields(engine):
    event = remittance("200000.00", txn_id="RMT-XB-1", at="2026-03-06T10:00:00+08:00")
    result = run(engine, [individual(), event])
    (alert,) = result.by_rule(XB)
    assert alert.summary == (
        "a single outbound cross-border transfer of 200,000.00 CNY reaches the 200,000.00 CNY "
        "large-value threshold"
    )
    assert alert.category == "large_value_report"
    assert alert.queue == "large_value_report"
    assert alert.severity == "medium"
    assert alert.amount == Decimal("200000.00")
    assert alert.currency == "CNY"
    assert alert.evidence == ["RMT-XB-1"]
    assert alert.event_time == datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)
    assert alert.window_start == datetime(2026, 3, 6, tzinfo=SHANGHAI)
    assert alert.window_end == datetime(2026, 3, 7, tzinfo=SHANGHAI)
    assert alert.report_due == date(2026, 3, 13)  # Fri 6 March + 5 PRC working days
    assert result.tasks == []


def test_individual_inbound_summary(engine):
    result = run(engine, [individual(), remittance("10000", currency="USD", direction="in")])
    (alert,) = result.by_rule(XB)
    assert alert.summary == (
        "a single inbound cross-border transfer of 10,000.00 USD reaches the 10,000.00 USD "
        "large-value threshold"
    )


# --------------------------------------------------------------------------- cumulative


def test_individual_same_day_cumulative_fires_and_grows_with_all_txns(engine):
    """2016 No.3 art.5: the transfer after the crossing joins the day's report (same id)."""
    first = remittance("150000", at="2026-03-02T09:00:00+08:00")
    second = remittance("50000", at="2026-03-02T21:00:00+08:00")
    third = remittance("70000", at="2026-03-02T22:00:00+08:00")
    result = run(engine, [individual(), first, second, third])
    crossing, grown = result.by_rule(XB)
    assert per_event(result, XB) == [0, 0, 1, 1]
    assert crossing.evidence == [first.txn_id, second.txn_id]
    assert crossing.amount == Decimal("200000.00")
    assert crossing.summary == (
        "2 outbound cross-border transfers totalling 200,000.00 CNY on 2026-03-02 reach the "
        "200,000.00 CNY large-value threshold"
    )
    assert grown.alert_id == crossing.alert_id
    assert grown.evidence == [first.txn_id, second.txn_id, third.txn_id]
    assert grown.amount == Decimal("270000.00")


def test_individual_same_day_cumulative_just_below_does_not_fire(engine):
    result = run(engine, [individual(), remittance("150000"), remittance("49999.99")])
    assert result.by_rule(XB) == []


@pytest.mark.parametrize(
    ("second_at", "fires"),
    [
        ("2026-03-02T23:59:59+08:00", True),  # same Shanghai day
        ("2026-03-02T15:59:59Z", True),  # = 23:59:59 Shanghai
        ("2026-03-03T00:00:00+08:00", False),  # next Shanghai day
        ("2026-03-02T16:00:00Z", False),  # = 00:00 on 3 March Shanghai, same UTC day
    ],
)
def test_individual_day_is_the_shanghai_day(engine, second_at, fires):
    first = remittance("150000", at="2026-03-02T00:00:00+08:00")
    second = remittance("50000", at=second_at)
    assert len(run(engine, [individual(), first, second]).by_rule(XB)) == (1 if fires else 0)


def test_individual_first_minute_of_the_day_given_in_utc(engine):
    # 2026-03-01T16:00Z is 00:00 on 2 March in Shanghai
    first = remittance("150000", at="2026-03-01T16:00:00Z")
    second = remittance("50000", at="2026-03-02T12:00:00+08:00")
    (alert,) = run(engine, [individual(), first, second]).by_rule(XB)
    assert alert.window_start == datetime(2026, 3, 2, tzinfo=SHANGHAI)


def test_individual_in_and_out_are_apart(engine):
    result = run(
        engine,
        [individual(), remittance("150000", direction="out"), remittance("50000", direction="in")],
    )
    assert result.by_rule(XB) == []


def test_individual_each_direction_fires_on_its_own(engine):
    result = run(
        engine,
        [
            individual(),
            remittance("200000", direction="out"),
            remittance("200000", direction="in"),
        ],
    )
    alerts = result.by_rule(XB)
    assert [a.summary.split(" of ")[0] for a in alerts] == [
        "a single outbound cross-border transfer",
        "a single inbound cross-border transfer",
    ]
    assert alerts[0].alert_id != alerts[1].alert_id


def test_individual_cny_and_usd_sides_never_add_up(engine):
    # USD 9,999.99 is about CNY 70,287.93: CNY 150,000 + that would pass 200,000 if summed
    result = run(
        engine, [individual(), remittance("150000"), remittance("9999.99", currency="USD")]
    )
    assert result.by_rule(XB) == []


def test_individual_eur_and_usd_add_up_on_the_usd_side(engine):
    eur = remittance("4256.43", currency="EUR")  # USD 5,000.0093... at the 2026 rates
    usd = remittance("5000.00", currency="USD")
    (alert,) = run(engine, [individual(), eur, usd]).by_rule(XB)
    assert alert.currency == "USD"
    assert alert.amount == Decimal("10000.01")
    assert alert.evidence == [eur.txn_id, usd.txn_id]


def test_individual_eur_and_usd_just_below_do_not_fire(engine):
    eur = remittance("4256.42", currency="EUR")  # USD 4,999.9975...
    usd = remittance("5000.00", currency="USD")
    assert run(engine, [individual(), eur, usd]).by_rule(XB) == []


# --------------------------------------------------------------------------- who is individual


def test_unknown_customer_is_treated_as_individual(engine):
    result = run(engine, [remittance("200000", customer_id="C404")])
    assert rules_fired(result) == [XB]
    assert result.states["C404"].profile is None


def test_unknown_customer_usd_boundary(engine):
    below = run(engine, [remittance("9999.99", currency="USD", customer_id="C404")])
    at = run(engine, [remittance("10000", currency="USD", customer_id="C405")])
    assert below.alerts == []
    assert rules_fired(at) == [XB]


@pytest.mark.parametrize(
    ("amount", "currency"), [("200000", "CNY"), ("10000", "USD"), ("1999999.99", "CNY")]
)
def test_entity_never_fires_the_individual_rule(engine, amount, currency):
    result = run(engine, [entity(), remittance(amount, currency=currency, customer_id="E001")])
    assert result.by_rule(XB) == []
    assert result.by_rule(ENT) == []


def test_customer_becoming_an_entity_by_update_leaves_the_individual_rule(engine):
    result = run(
        engine,
        [
            individual(),
            update({"customer_type": "entity"}, at="2026-03-02T08:00:00+08:00"),
            remittance("200000", at="2026-03-02T10:00:00+08:00"),
        ],
    )
    assert result.by_rule(XB) == []


# =========================================================================== entity


@pytest.mark.parametrize(
    ("amount", "fires"),
    [("1999999.99", False), ("2000000.00", True), ("2000000", True), ("2000000.01", True)],
)
@pytest.mark.parametrize("direction", ["in", "out"])
def test_entity_single_cny_boundary(engine, amount, fires, direction):
    event = remittance(amount, direction=direction, customer_id="E001")
    result = run(engine, [entity(), event])
    assert len(result.by_rule(ENT)) == (1 if fires else 0)
    assert result.by_rule(XB) == []


@pytest.mark.parametrize(
    ("amount", "fires"), [("199999.99", False), ("200000.00", True), ("200000.01", True)]
)
def test_entity_single_usd_boundary(engine, amount, fires):
    result = run(engine, [entity(), remittance(amount, currency="USD", customer_id="E001")])
    assert len(result.by_rule(ENT)) == (1 if fires else 0)


@pytest.mark.parametrize(("amount", "fires"), [("170256.88", False), ("170256.89", True)])
def test_entity_single_eur_is_compared_in_usd(engine, amount, fires):
    # USD 200,000 = CNY 1,405,760 = EUR 170,256.88... at the 2026 rates
    assert eur_for_usd(Decimal(200000)) == Decimal("170256.89")
    result = run(engine, [entity(), remittance(amount, currency="EUR", customer_id="E001")])
    assert len(result.by_rule(ENT)) == (1 if fires else 0)


def test_entity_alert_fields(engine):
    event = remittance("2000000", customer_id="E001", txn_id="RMT-E-1", direction="in")
    result = run(engine, [entity(), event])
    (alert,) = result.by_rule(ENT)
    assert alert.summary == (
        "a single inbound transfer of 2,000,000.00 CNY reaches the 2,000,000.00 CNY "
        "large-value threshold"
    )
    assert alert.category == "large_value_report"
    assert alert.amount == Decimal("2000000.00")
    assert alert.currency == "CNY"
    assert alert.evidence == ["RMT-E-1"]
    assert alert.report_due == date(2026, 3, 9)  # Mon 2 March + 5 working days


def test_entity_same_day_cumulative(engine):
    events = [
        remittance("1500000", customer_id="E001", at="2026-03-02T00:00:01+08:00"),
        remittance("499999.99", customer_id="E001", at="2026-03-02T12:00:00+08:00"),
        remittance("0.01", customer_id="E001", at="2026-03-02T23:59:59+08:00"),
    ]
    result = run(engine, [entity(), *events])
    (alert,) = result.by_rule(ENT)
    assert per_event(result, ENT) == [0, 0, 0, 1]
    assert alert.evidence == [e.txn_id for e in events]
    assert alert.amount == Decimal("2000000.00")
    assert alert.summary.startswith("3 outbound transfers totalling 2,000,000.00 CNY on 2026-03-02")


def test_entity_cumulative_across_shanghai_midnight_does_not_fire(engine):
    events = [
        remittance("1500000", customer_id="E001", at="2026-03-02T15:59:59Z"),  # 23:59:59
        remittance("500000", customer_id="E001", at="2026-03-02T16:00:00Z"),  # 00:00 next day
    ]
    assert run(engine, [entity(), *events]).by_rule(ENT) == []


def test_entity_in_and_out_are_apart(engine):
    events = [
        remittance("1500000", customer_id="E001", direction="out"),
        remittance("500000", customer_id="E001", direction="in"),
    ]
    assert run(engine, [entity(), *events]).by_rule(ENT) == []


def test_entity_usd_cumulative_and_cny_side_apart(engine):
    events = [
        remittance("150000", currency="USD", customer_id="E001"),
        remittance("1000000", currency="CNY", customer_id="E001"),  # never on the USD side
        remittance("50000", currency="USD", customer_id="E001"),
    ]
    (alert,) = run(engine, [entity(), *events]).by_rule(ENT)
    assert alert.currency == "USD"
    assert alert.amount == Decimal("200000.00")
    assert alert.evidence == [events[0].txn_id, events[2].txn_id]


@pytest.mark.parametrize(
    ("amount", "currency"), [("2000000", "CNY"), ("200000", "USD"), ("10000000", "CNY")]
)
def test_individual_never_fires_the_entity_rule(engine, amount, currency):
    result = run(engine, [individual(), remittance(amount, currency=currency)])
    assert result.by_rule(ENT) == []
    assert len(result.by_rule(XB)) == 1


def test_unknown_customer_never_fires_the_entity_rule(engine):
    result = run(engine, [remittance("2000000", customer_id="C404")])
    assert result.by_rule(ENT) == []
    assert rules_fired(result) == [XB]


# =========================================================================== supplements


def supplement(amount: str, customer_id: str, txn_id: str, **kw):
    return remittance(amount, kind="supplement", customer_id=customer_id, txn_id=txn_id, **kw)


@pytest.mark.parametrize(
    ("customer", "amount", "rule"),
    [("C001", "200000", XB), ("E001", "2000000", ENT)],
)
def test_a_supplement_alone_never_counts(engine, customer, amount, rule):
    setup = individual() if customer == "C001" else entity()
    result = run(engine, [setup, supplement(amount, customer, "RMT-S-1")])
    assert result.by_rule(rule) == []
    assert result.states[customer].buckets == {}


@pytest.mark.parametrize(
    ("customer", "payment", "extra", "rule"),
    [("C001", "150000", "50000", XB), ("E001", "1500000", "500000", ENT)],
)
def test_a_supplement_never_adds_to_the_day_total(engine, customer, payment, extra, rule):
    setup = individual() if customer == "C001" else entity()
    first = remittance(payment, customer_id=customer, txn_id="RMT-P-1")
    late = supplement(extra, customer, "RMT-P-1", event_id="evt-supp-1")
    result = run(engine, [setup, first, late])
    assert result.by_rule(rule) == []
    (key,) = result.states[customer].buckets
    assert result.states[customer].buckets[key][0] == payment


def test_redelivered_transfer_never_counts_twice(engine):
    first = remittance("150000", event_id="evt-dup")
    result = run(engine, [individual(), first, first, remittance("49999.99")])
    assert result.by_rule(XB) == []
    assert [o.duplicate for o in result.outcomes] == [False, False, True, False]


def test_alert_ids_are_per_day_direction_and_side(pack):
    one = run(Engine(pack), [individual(), remittance("200000", txn_id="A")]).by_rule(XB)
    two = run(
        Engine(pack),
        [individual(), remittance("100000", txn_id="B"), remittance("100000", txn_id="C")],
    ).by_rule(XB)
    other_day = run(
        Engine(pack), [individual(), remittance("200000", at="2026-03-03T10:00:00+08:00")]
    ).by_rule(XB)
    assert one[0].alert_id == two[0].alert_id
    assert one[0].alert_id != other_day[0].alert_id
