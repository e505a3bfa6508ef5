"""A large-value day report grows (PBoC 2016 No.3 art.5): the report lists the day's
transactions that make the cumulative amount, so every same-day, same-direction, same-side
transaction after the crossing joins it. Each one emits the report again under the same
`alert_id` with the grown evidence and amount; consumers keep the latest version."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from monitor.core.engine import Engine

from .conftest import cash, entity_opening_data, opening, remittance, run

RULE = "LV_CASH"
DAY = "2026-03-02"


def deposit(amount: str, txn: str, at: str = f"{DAY}T10:00:00+08:00", **kw):
    return cash(amount, txn_id=txn, event_id=f"e-{txn}", at=at, **kw)


def lv(result, rule: str = RULE):
    return result.by_rule(rule)


def per_event(result, rule: str = RULE) -> list[int]:
    return [sum(a.rule_id == rule for a in o.findings.alerts) for o in result.outcomes]


THREE = [
    deposit("42000", "D1", f"{DAY}T09:00:00+08:00"),
    deposit("9000", "D2", f"{DAY}T11:00:00+08:00"),
    deposit("7000", "D3", f"{DAY}T15:00:00+08:00"),
]


def test_2016_no3_art5_the_third_deposit_joins_the_day_report(engine: Engine):
    """42,000 + 9,000 crosses 50,000; the 7,000 after the crossing belongs to the same
    report: one alert id, the latest version with three transactions and 58,000."""
    result = run(engine, THREE)
    assert per_event(result) == [0, 1, 1]
    crossing, latest = lv(result)
    assert latest.alert_id == crossing.alert_id
    assert crossing.evidence == ["D1", "D2"] and crossing.amount == Decimal("51000.00")
    assert latest.evidence == ["D1", "D2", "D3"] and latest.amount == Decimal("58000.00")
    assert latest.summary == (
        "3 cash deposits totalling 58,000.00 CNY on 2026-03-02 reach the 50,000.00 CNY "
        "large-value threshold"
    )
    assert latest.report_due == crossing.report_due == date(2026, 3, 9)
    assert latest.window_start == crossing.window_start
    assert latest.category == "large_value_report" and latest.currency == "CNY"
    # the later version is marked as such, so counters count the finding once
    assert [o.findings.grown for o in result.outcomes] == [[], [], [latest.alert_id]]


def test_2016_no3_art5_a_single_large_deposit_grows_too(engine: Engine):
    result = run(engine, [deposit("50000", "S1"), deposit("100", "S2")])
    first, latest = lv(result)
    assert first.alert_id == latest.alert_id
    assert latest.evidence == ["S1", "S2"] and latest.amount == Decimal("50100.00")
    assert latest.summary.startswith("2 cash deposits totalling 50,100.00 CNY")


def test_2016_no3_art5_a_withdrawal_the_same_day_is_not_added(engine: Engine):
    result = run(engine, [*THREE[:2], deposit("7000", "W1", direction="out")])
    assert per_event(result) == [0, 1, 0]
    (report,) = lv(result)
    assert report.evidence == ["D1", "D2"]


def test_2016_no3_art5_the_next_day_is_not_added(engine: Engine):
    result = run(engine, [*THREE[:2], deposit("7000", "N1", "2026-03-03T09:00:00+08:00")])
    assert per_event(result) == [0, 1, 0]
    assert result.states["C001"].buckets["LV_CASH|2026-03-03|in|CNY"][0] == "7000"


def test_2016_no3_art5_shanghai_midnight_ends_the_report(engine: Engine):
    # 16:30Z on 2 March is 00:30 on 3 March in Shanghai
    result = run(engine, [*THREE[:2], deposit("7000", "N2", "2026-03-02T16:30:00Z")])
    assert per_event(result) == [0, 1, 0]


def test_2016_no3_art5_a_redelivered_deposit_does_not_grow_the_report(engine: Engine):
    result = run(engine, [*THREE, THREE[2], THREE[1]])
    assert per_event(result) == [0, 1, 1, 0, 0]
    assert [o.duplicate for o in result.outcomes] == [False, False, False, True, True]
    assert lv(result)[-1].amount == Decimal("58000.00")
    assert result.states["C001"].buckets[f"LV_CASH|{DAY}|in|CNY"][1] == ["D1", "D2", "D3"]


def test_2016_no3_art5_usd_and_cny_sides_are_reports_apart(engine: Engine):
    usd = deposit("10000", "U1", currency="USD")
    result = run(engine, [*THREE[:2], usd, deposit("500", "U2", currency="USD"), THREE[2]])
    assert per_event(result) == [0, 1, 1, 1, 1]
    cny = [a for a in lv(result) if a.currency == "CNY"]
    usd_side = [a for a in lv(result) if a.currency == "USD"]
    assert len({a.alert_id for a in cny}) == len({a.alert_id for a in usd_side}) == 1
    assert cny[0].alert_id != usd_side[0].alert_id
    assert cny[-1].evidence == ["D1", "D2", "D3"] and cny[-1].amount == Decimal("58000.00")
    assert usd_side[-1].evidence == ["U1", "U2"] and usd_side[-1].amount == Decimal("10500.00")


def test_2016_no3_art5_a_late_arrival_of_the_same_day_joins_in_arrival_order(engine: Engine):
    """A deposit made before the crossing but arriving after it joins the report too; the
    evidence is in the order the monitor applied the transactions."""
    early = deposit("1000", "E0", f"{DAY}T08:00:00+08:00")
    result = run(engine, [*THREE, early])
    latest = lv(result)[-1]
    assert latest.evidence == ["D1", "D2", "D3", "E0"]
    assert latest.amount == Decimal("59000.00")


def test_2016_no3_art5_the_final_version_does_not_depend_on_arrival_order(engine: Engine):
    forward = lv(run(engine, THREE))[-1]
    backward = lv(run(Engine(engine.pack), list(reversed(THREE))))
    assert len(backward) == 1  # 7,000 + 9,000 + 42,000 crosses only with the last
    (last,) = backward
    assert last.alert_id == forward.alert_id
    assert (last.amount, sorted(last.evidence)) == (forward.amount, sorted(forward.evidence))


def test_2016_no3_art5_evidence_stays_capped_while_the_amount_grows(engine: Engine):
    events = [deposit("50000", "B0")] + [deposit("1", f"B{n}") for n in range(1, 230)]
    alerts = lv(run(engine, events))
    assert len(alerts) == 230 and len({a.alert_id for a in alerts}) == 1
    assert len(alerts[-1].evidence) == 200
    assert alerts[-1].amount == Decimal("50229.00")
    versions = [(len(a.evidence), a.amount) for a in alerts]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


@pytest.mark.parametrize("direction", ["in", "out"])
def test_2016_no3_art5_cross_border_individual_grows(engine: Engine, direction: str):
    events = [
        remittance("150000", direction=direction, txn_id="X1", event_id="e-X1"),
        remittance("60000", direction=direction, txn_id="X2", event_id="e-X2"),
        remittance("5000", direction=direction, txn_id="X3", event_id="e-X3"),
    ]
    alerts = lv(run(engine, events), "LV_XBORDER_INDIVIDUAL")
    assert len(alerts) == 2 and alerts[0].alert_id == alerts[1].alert_id
    assert alerts[-1].evidence == ["X1", "X2", "X3"]
    assert alerts[-1].amount == Decimal("215000.00")


def test_2016_no3_art5_entity_transfer_grows(engine: Engine):
    events = [
        opening(entity_opening_data(customer_id="E001", at="2026-03-01T10:00:00+08:00")),
        remittance("2000000", customer_id="E001", txn_id="Y1", event_id="e-Y1"),
        remittance("1", customer_id="E001", txn_id="Y2", event_id="e-Y2"),
        remittance("1", customer_id="E001", txn_id="Y3", event_id="e-Y3", kind="supplement"),
    ]
    alerts = lv(run(engine, events), "LV_TRANSFER_ENTITY")
    assert len(alerts) == 2 and alerts[0].alert_id == alerts[1].alert_id
    assert alerts[-1].evidence == ["Y1", "Y2"]  # a supplement never counts
    assert alerts[-1].amount == Decimal("2000001.00")
