"""Arrival order (CONTRACT.md): an update processed before its opening and a supplement
processed before its payment give the findings event-time order gives, as long as the
predecessor arrives within `state.early_ttl_hours` (event time) of them.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.engine import Engine
from monitor.core.state import CustomerState

from .conftest import (
    PERSON_NAME,
    cash,
    individual_opening_data,
    make_engine,
    needs_watchlist,
    opening,
    remittance,
    run,
    update,
)
from .test_remittance_followup import COMPLETING, incomplete, supplement

OPEN_AT = "2026-03-02T10:00:00+08:00"
NEW_NAME = "Zhang Weiming"


def findings(result: Any) -> tuple[list[str], list[str]]:
    """Alert and task ids, sorted: what must not depend on the arrival order."""
    return sorted(a.alert_id for a in result.alerts), sorted(t.task_id for t in result.tasks)


def in_event_order(events: list[Any]) -> list[Any]:
    return sorted(events, key=lambda e: e.event_time)


def both_orders(engine: Engine, events: list[Any]) -> tuple[Any, Any]:
    """Run `events` in event-time order and in the given (arrival) order."""
    return run(engine, in_event_order(events)), run(engine, events)


def rules(result: Any) -> list[str]:
    return sorted(a.rule_id for a in result.alerts)


# --------------------------------------------------------------------------- supplements


def test_supplement_before_its_payment_resolves_it(engine):
    pay = incomplete(at="2026-09-28T10:00:00+08:00")
    supp = supplement(at="2026-09-28T11:00:00+08:00", **COMPLETING)
    after = cash("10.00", at="2026-11-30T10:00:00+08:00")
    ordered, early = both_orders(engine, [supp, pay, after])
    assert rules(early) == ["REMIT_MISSING_INFO"]  # reported at the payment, then resolved
    assert findings(early) == findings(ordered)
    assert early.states["C001"].pending == {} == ordered.states["C001"].pending
    assert early.states["C001"].early == []
    # nothing waiting: the stored record is byte for byte what it was before `early`
    raw = early.states["C001"].to_bytes()
    assert b'"e":' not in raw
    assert CustomerState.from_bytes(raw).early == []


def test_a_partial_early_supplement_is_counted_as_evidence(engine):
    pay = incomplete(at="2026-09-28T10:00:00+08:00")
    supp = supplement(at="2026-09-28T11:00:00+08:00", originator={"address": "88 Century"})
    after = cash("10.00", at="2026-11-30T10:00:00+08:00")
    ordered, early = both_orders(engine, [supp, pay, after])
    assert rules(early) == ["REMIT_INFO_UNRESOLVED", "REMIT_MISSING_INFO"]
    assert findings(early) == findings(ordered)
    unresolved = [a for a in early.alerts if a.rule_id == "REMIT_INFO_UNRESOLVED"]
    assert supp.event_id in unresolved[0].evidence
    assert "beneficiary.name" in unresolved[0].summary


def test_a_supplement_dated_after_the_deadline_does_not_resolve(engine):
    # the deadline day of a payment on 2026-09-28 is 2026-10-16 (test_remittance_followup)
    pay = incomplete(at="2026-09-28T10:00:00+08:00")
    supp = supplement(at="2026-10-20T10:00:00+08:00", **COMPLETING)
    ordered, early = both_orders(engine, [supp, pay])
    assert rules(early) == ["REMIT_INFO_UNRESOLVED", "REMIT_MISSING_INFO"]
    assert findings(early) == findings(ordered)


def test_two_early_supplements_apply_in_event_time_order(engine):
    pay = incomplete(at="2026-09-28T10:00:00+08:00")
    first = supplement(at="2026-09-28T11:00:00+08:00", originator={"address": "88 Century"})
    second = supplement(at="2026-09-28T12:00:00+08:00", beneficiary={"name": "John"})
    for arrival in itertools.permutations([first, second, pay]):
        result = run(engine, list(arrival))
        assert rules(result) == ["REMIT_MISSING_INFO"]
        assert result.states["C001"].pending == {}
        assert result.states["C001"].early == []


def test_an_early_supplement_of_a_complete_payment_is_dropped(engine):
    pay = remittance(txn_id="RMT-C-1", at="2026-09-28T10:00:00+08:00")
    supp = supplement("RMT-C-1", at="2026-09-28T11:00:00+08:00", **COMPLETING)
    result = run(engine, [supp, pay])
    assert result.alerts == []
    assert result.states["C001"].early == []


def test_a_supplement_whose_payment_never_comes_expires(engine):
    supp = supplement("RMT-X-9", at="2026-09-28T11:00:00+08:00", **COMPLETING)
    later = cash("10.00", at="2026-10-02T11:00:00+08:00")  # 4 days later: past the 72 h
    result = run(engine, [supp, later])
    assert result.states["C001"].early == []
    assert [o.expired for o in result.outcomes] == [0, 1]


def test_a_redelivered_early_supplement_counts_once(engine):
    pay = incomplete(at="2026-09-28T10:00:00+08:00")
    supp = supplement(at="2026-09-28T11:00:00+08:00", originator={"address": "88 Century"})
    result = run(engine, [supp, supp, pay])
    assert result.outcomes[1].duplicate
    assert result.states["C001"].pending["RMT-F-1"]["supplements"] == [supp.event_id]


def test_no_supplement_is_kept_when_the_follow_up_is_off():
    engine = make_engine({"rules.REMIT_INFO_UNRESOLVED.enabled": False})
    supp = supplement(at="2026-09-28T11:00:00+08:00", **COMPLETING)
    result = run(engine, [supp])
    assert result.states["C001"].early == []


# --------------------------------------------------------------------------- updates


def test_a_pep_flag_before_the_opening_is_kept(engine):
    pep = update({"is_pep": True}, at="2026-03-02T12:00:00+08:00")
    ordered, early = both_orders(engine, [pep, opening(opened_at=OPEN_AT)])
    assert "KYC_PEP" in rules(early)
    assert findings(early) == findings(ordered)
    assert early.states["C001"].profile["pep"] is True


def test_a_renewed_id_before_the_opening_stops_the_expired_id_alert(engine):
    data = individual_opening_data(at=OPEN_AT)
    data["id_document"]["expires_on"] = "2026-03-10"
    renewed = update(
        {"id_document": {**data["id_document"], "expires_on": "2036-03-10"}},
        at="2026-03-05T10:00:00+08:00",
    )
    deposit = cash("1000.00", at="2026-03-20T10:00:00+08:00")
    ordered, early = both_orders(engine, [renewed, opening(data), deposit])
    assert "KYC_ID_EXPIRED" not in rules(early)
    assert findings(early) == findings(ordered)
    assert early.states["C001"].profile["id_exp"] == "2036-03-10"


def test_a_new_name_before_the_opening_is_kept_as_a_fingerprint_only(engine):
    renamed = update({"name": NEW_NAME}, at="2026-03-03T10:00:00+08:00")
    first = run(engine, [renamed])
    raw = first.states["C001"].to_bytes()
    assert NEW_NAME.encode() not in raw
    assert first.states["C001"].early[0]["id"] == renamed.event_id
    # the state is saved and restored between the two events, as the worker does
    restored = CustomerState.from_bytes(raw)
    early = run(engine, [opening(opened_at=OPEN_AT)], states={"C001": restored})
    ordered = run(engine, [opening(opened_at=OPEN_AT), renamed])
    assert findings(early) == findings(ordered)
    assert [t.trigger for t in early.tasks] == ["PROFILE_CHANGE"]
    assert early.states["C001"].profile["fp"] == ordered.states["C001"].profile["fp"]
    assert PERSON_NAME.encode() not in early.states["C001"].to_bytes()


def test_an_update_dated_before_its_opening_is_superseded_in_any_order(engine):
    stale = update({"is_pep": True}, at="2026-03-01T10:00:00+08:00")
    ordered, early = both_orders(engine, [opening(opened_at=OPEN_AT), stale])
    assert findings(early) == findings(ordered)
    assert early.states["C001"].profile["pep"] is False
    assert early.states["C001"].early == []


def test_an_update_whose_opening_never_comes_expires(engine):
    pep = update({"is_pep": True}, at="2026-03-02T12:00:00+08:00")
    later = cash("10.00", at="2026-03-06T12:00:00+08:00")  # 4 days later
    result = run(engine, [pep, later, opening(opened_at=OPEN_AT)])
    assert "KYC_PEP" not in rules(result)  # as before early arrivals were kept
    assert [o.expired for o in result.outcomes] == [0, 1, 0]


def test_early_updates_are_capped(engine):
    updates = [
        update({"occupation": f"job {i}"}, at=f"2026-03-02T{11 + i // 6:02d}:{i % 6}0:00+08:00")
        for i in range(25)
    ]
    result = run(engine, updates)
    state = result.states["C001"]
    assert len(state.early) == engine.pack.config.state.max_early_items == 20
    assert sum(o.expired for o in result.outcomes) == 5
    assert [item["id"] for item in state.early] == [u.event_id for u in updates[5:]]


@pytest.mark.parametrize("arrival", [(0, 1), (1, 0)])
def test_the_later_update_of_a_field_wins_whatever_the_arrival_order(engine, arrival):
    first = update({"nationality": "US"}, at="2026-03-03T10:00:00+08:00")
    second = update({"nationality": "GB", "is_pep": True}, at="2026-03-04T10:00:00+08:00")
    pair = (first, second)
    result = run(engine, [opening(opened_at=OPEN_AT), *(pair[i] for i in arrival)])
    profile = result.states["C001"].profile
    assert profile["nationality"] == "GB"
    assert profile["pep"] is True
    assert profile["ft"]["nationality"] == int(second.event_time.timestamp() * 1000)


# --------------------------------------------------------------------------- any order


def _story() -> list[Any]:
    """One customer's events within two days: the opening, three updates (PEP, a renewed
    identity document, a new name), an incomplete payment, two supplements completing it,
    and a deposit after the first document expired."""
    data = individual_opening_data(at=OPEN_AT)
    data["id_document"]["expires_on"] = "2026-03-03"
    return [
        opening(data),
        update({"is_pep": True}, at="2026-03-02T11:00:00+08:00", event_id="u1"),
        update(
            {"id_document": {**data["id_document"], "expires_on": "2036-03-03"}},
            at="2026-03-02T12:00:00+08:00",
            event_id="u2",
        ),
        update({"name": NEW_NAME}, at="2026-03-02T13:00:00+08:00", event_id="u3"),
        incomplete(at="2026-03-02T14:00:00+08:00"),
        supplement(at="2026-03-02T15:00:00+08:00", originator={"address": "88 Century"}),
        supplement(at="2026-03-02T16:00:00+08:00", beneficiary={"name": "John"}),
        cash("1000.00", at="2026-03-04T10:00:00+08:00"),  # the first ID expired on 03-03
    ]


def _waits_only_for_predecessors(order: list[int]) -> bool:
    """Whether an arrival order only moves what the monitor keeps waiting: updates may come
    before the opening, supplements before or after the payment; the deposit (transactions
    never wait) comes after the opening, the payment and the updates it is checked against
    (an update arriving after a later transaction is late, not early)."""
    pos = {index: order.index(index) for index in range(8)}
    return pos[0] < pos[4] and all(pos[i] < pos[7] for i in (0, 1, 2, 3, 4))


_PERMUTATIONS = [p for p in itertools.permutations(range(8)) if _waits_only_for_predecessors(p)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.sampled_from(_PERMUTATIONS))
def test_any_arrival_order_gives_the_event_time_outcome(order):
    engine = _ENGINE
    events = _story()
    ordered = run(engine, events)
    arrived = run(engine, [events[i] for i in order])
    assert findings(arrived) == findings(ordered)
    a, b = arrived.states["C001"], ordered.states["C001"]
    assert a.pending == b.pending == {}
    assert a.early == b.early == []
    assert a.profile == b.profile


def test_the_story_in_event_time_order():
    result = run(_ENGINE, _story())
    assert rules(result) == ["KYC_PEP", "REMIT_MISSING_INFO"]
    assert sorted(t.trigger for t in result.tasks) == [
        "ENHANCED_DUE_DILIGENCE",
        "PROFILE_CHANGE",
        "PROFILE_CHANGE",
    ]


_ENGINE = make_engine()


# --------------------------------------------------------------------------- watch list


@needs_watchlist
def test_an_early_updates_names_are_screened_once_when_it_arrives():
    engine = make_engine({"rules.WATCHLIST_MATCH.enabled": True})
    renamed = update({"name": "Zhang Xiaoming"}, at="2026-03-03T10:00:00+08:00")
    result = run(engine, [renamed, opening(opened_at=OPEN_AT)])
    # screened on arrival (without the opening's birth date), not again when applied
    per_event = [[a.rule_id for a in o.findings.alerts] for o in result.outcomes]
    assert per_event == [["WATCHLIST_MATCH"], []]
    assert [t.trigger for t in result.outcomes[1].findings.tasks] == ["PROFILE_CHANGE"]


_PARTS = {
    "address": {"originator": {"address": "88 Century Avenue"}},
    "name": {"beneficiary": {"name": "John"}},
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first_hours=st.integers(min_value=-48, max_value=600),
    gap_hours=st.integers(min_value=0, max_value=72),
    parts=st.lists(st.sampled_from(sorted(_PARTS)), min_size=2, max_size=2),
    order=st.permutations([0, 1, 2]),
)
def test_supplements_in_any_order_within_the_bound(first_hours, gap_hours, parts, order):
    """A payment and two supplements 0-72 h apart, anywhere around its deadline (day 16
    October, 432 h after it and beyond), arriving in any order, then a deposit after
    every deadline: the findings of event-time order."""
    pay_at = datetime.fromisoformat("2026-09-28T10:00:00+08:00")
    times = [pay_at + timedelta(hours=first_hours + h) for h in (0, gap_hours)]
    events = [
        incomplete(at=pay_at.isoformat()),
        *(
            supplement(at=t.isoformat(), event_id=f"s{i}", **_PARTS[part])
            for i, (t, part) in enumerate(zip(times, parts, strict=True))
        ),
    ]
    after = cash("10.00", at="2026-12-30T10:00:00+08:00")
    ordered = run(_ENGINE, [*in_event_order(events), after])
    arrived = run(_ENGINE, [*(events[i] for i in order), after])
    assert findings(arrived) == findings(ordered)
    assert arrived.states["C001"].pending == ordered.states["C001"].pending == {}


def test_an_expired_document_is_reported_at_its_first_use_in_event_time(engine):
    """A remittance (another topic) that used the expired document before the cash already
    reported arrives late: the same alert id is emitted again citing the earlier use, so the
    latest version is the one event order gives."""
    data = individual_opening_data(at=OPEN_AT)
    data["id_document"]["expires_on"] = "2026-03-05"
    pay = remittance("2000.00", at="2026-03-07T09:30:00+08:00", txn_id="RMT-EARLY")
    deposit = cash("1000.00", at="2026-03-07T16:00:00+08:00", txn_id="CASH-LATER")
    ordered, late = both_orders(engine, [opening(data), deposit, pay])

    def latest(result: Any) -> dict[str, Any]:
        return {a.alert_id: a for a in result.alerts if a.rule_id == "KYC_ID_EXPIRED"}

    assert list(latest(ordered).values())[0].evidence == ["RMT-EARLY"]
    assert {i: a.model_dump() for i, a in latest(late).items()} == {
        i: a.model_dump() for i, a in latest(ordered).items()
    }
    assert sorted({t.task_id for t in late.tasks}) == sorted({t.task_id for t in ordered.tasks})
