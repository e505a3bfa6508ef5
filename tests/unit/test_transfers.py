"""Domestic transfers (`txn.transfers`): LV_TRANSFER_INDIVIDUAL (PBoC 2016 No.3 art. 5(3):
an individual's transfers, single or same-day cumulative per direction, >= CNY 500,000 or
>= USD 100,000 equivalent) and LV_TRANSFER_ENTITY (art. 5(2): an entity's domestic and
cross-border transfers summed, >= CNY 2,000,000 or >= USD 200,000)."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from monitor.core.decode import Decoder
from monitor.core.engine import Engine

from .conftest import (
    entity_opening_data,
    individual_opening_data,
    make_engine,
    opening,
    remittance,
    run,
    transfer,
)

IND = "LV_TRANSFER_INDIVIDUAL"
ENT = "LV_TRANSFER_ENTITY"


def individual(customer_id: str = "C001"):
    return opening(individual_opening_data(customer_id=customer_id, at="2026-03-01T09:00:00+08:00"))


def entity(customer_id: str = "E001"):
    return opening(entity_opening_data(customer_id=customer_id, at="2026-03-01T09:00:00+08:00"))


@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [
        ("499999.99", "CNY", False),
        ("500000.00", "CNY", True),
        ("99999.99", "USD", False),
        ("100000.00", "USD", True),
    ],
)
def test_individual_single_transfer_boundary(engine: Engine, amount, currency, fires) -> None:
    result = run(engine, [individual(), transfer(amount, currency=currency, txn_id="T1")])
    found = result.by_rule(IND)
    assert bool(found) is fires
    if fires:
        alert = found[0]
        assert (alert.evidence, alert.category, alert.currency) == (
            ["T1"],
            "large_value_report",
            currency if currency == "CNY" else "USD",
        )
        assert alert.amount == Decimal(amount)


def test_individual_same_day_cumulative_per_direction(engine: Engine) -> None:
    events = [
        individual(),
        transfer("300000", txn_id="T1", at="2026-03-02T09:00:00+08:00"),
        transfer("300000", txn_id="T2", direction="out", at="2026-03-02T10:00:00+08:00"),
        transfer("200000", txn_id="T3", at="2026-03-02T23:59:00+08:00"),
        transfer("250000", txn_id="T4", direction="out", at="2026-03-03T00:01:00+08:00"),
    ]
    found = run(engine, events).by_rule(IND)
    assert [(a.evidence, a.amount) for a in found] == [(["T1", "T3"], Decimal("500000.00"))]
    assert "2 inbound domestic transfers totalling 500,000.00 CNY" in found[0].summary


def test_an_unknown_customer_counts_as_an_individual(engine: Engine) -> None:
    assert run(engine, [transfer("600000")]).by_rule(IND)


def test_an_entity_reports_under_the_entity_threshold_only(engine: Engine) -> None:
    result = run(engine, [entity(), transfer("600000", customer_id="E001")])
    assert not result.by_rule(IND)
    assert not result.by_rule(ENT)


def test_entity_domestic_and_cross_border_transfers_add_up(engine: Engine) -> None:
    events = [
        entity(),
        transfer("1500000", customer_id="E001", direction="out", txn_id="T1"),
        remittance("500000", customer_id="E001", direction="out", txn_id="R1"),
    ]
    found = run(engine, events).by_rule(ENT)
    assert [(a.evidence, a.amount) for a in found] == [(["T1", "R1"], Decimal("2000000.00"))]


def test_entity_transfer_boundary(engine: Engine) -> None:
    events = [entity(), transfer("1999999.99", customer_id="E001", txn_id="T1")]
    assert not run(engine, events).by_rule(ENT)
    events = [entity(), transfer("2000000", customer_id="E001", txn_id="T2")]
    assert run(engine, events).by_rule(ENT)


def test_switched_off_it_does_not_fire() -> None:
    engine = make_engine({"rules.LV_TRANSFER_INDIVIDUAL.enabled": False})
    assert IND not in [r.rule_id for r in engine.rules]
    assert not run(engine, [transfer("600000")]).by_rule(IND)


def test_a_transfer_decodes_and_runs_like_any_input(engine: Engine) -> None:
    event = transfer("600000", txn_id="T9")
    decoded = Decoder(engine.pack.fx).decode(
        "transfer", orjson.dumps(event.model_dump(mode="json"))
    )
    assert decoded == event
    assert run(engine, [decoded]).by_rule(IND)[0].evidence == ["T9"]
