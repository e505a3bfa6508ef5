"""The rule core is deterministic: the same events in the same per-customer order give the
same alerts and tasks (ids and every field except `detected_at`), whatever engine instance,
detection time, restart point or interleaving of customers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.core.engine import Engine
from monitor.core.pack import TRIGGERS
from monitor.core.state import CustomerState
from tests.support.samples import RULE_IDS

from .conftest import (
    SHANGHAI,
    bad_check_digit,
    cash,
    entity_opening_data,
    individual_opening_data,
    make_pack,
    opening,
    remittance,
    run,
    transfer,
    update,
    without,
)

EARLY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
LATE = datetime(2027, 6, 30, 23, 59, tzinfo=UTC)


def _scenario() -> list[Any]:
    """Events of ten customers touching every rule but WATCHLIST_MATCH and every task
    trigger but WATCHLIST_MATCH, in a fixed order (ids fixed, not from the builders'
    counters); STRUCTURING also at the intensity of a high-risk customer (C2, a PEP), a
    PROFILE_CHANGE of an entity and a KYC_INCOMPLETE of an agent."""
    c1_open = individual_opening_data(
        customer_id="C1", event_id="o-C1", at="2026-03-01T09:00:00+08:00"
    )
    c2_open = individual_opening_data(
        customer_id="C2", event_id="o-C2", at="2026-03-01T09:00:00+08:00"
    )
    c2_open.update(is_pep=True, nationality="IR")
    c4_open = without(
        individual_opening_data(customer_id="C4", event_id="o-C4", at="2026-03-01T09:00:00+08:00"),
        "phone",
    )
    c4_open.update(
        gender="F",
        id_document={
            "type": "resident_id",
            "number": bad_check_digit("110101199003077774"),
            "expires_on": "2026-02-28",
        },
    )
    e1_open = entity_opening_data(customer_id="E1", event_id="o-E1", at="2026-03-01T09:00:00+08:00")
    e1_open["beneficial_owners"] = [{"name": "Zhao Min", "ownership_pct": "25"}]
    c5_open = individual_opening_data(
        customer_id="C5", event_id="o-C5", at="2026-03-06T12:00:00+08:00"
    )
    c5_open["agent"] = {
        "name": "Qian Jun",
        "id_document": {"type": "passport", "number": "E1234567", "expires_on": "2026-03-01"},
    }

    def c(txn, amount, at, customer="C1", **kw):
        return cash(amount, customer_id=customer, txn_id=txn, event_id=f"e-{txn}", at=at, **kw)

    def r(txn, amount, at, customer="C1", **kw):
        return remittance(
            amount, customer_id=customer, txn_id=txn, event_id=f"e-{txn}", at=at, **kw
        )

    return [
        opening(c1_open),
        opening(c2_open),
        opening(c4_open),
        opening(e1_open),
        c("T1", "30000", "2026-03-02T09:00:00+08:00"),
        c("T2", "20000", "2026-03-02T10:00:00+08:00"),  # LV_CASH (cumulative)
        c("T3", "46000", "2026-03-03T10:00:00+08:00"),
        c("T4", "47000", "2026-03-04T10:00:00+08:00"),
        c("T5", "48000", "2026-03-05T10:00:00+08:00"),  # STRUCTURING
        r("R1", "20000", "2026-03-02T11:00:00+08:00", beneficiary={"name": ""}),  # missing info
        r("R2", "200000", "2026-03-02T12:00:00+08:00", customer="C2", counterparty_country="KP"),
        r("R3", "2000000", "2026-03-02T12:00:00+08:00", customer="E1", source_of_funds="unknown"),
        r("R4", "60000", "2026-03-03T12:00:00+08:00", customer="E1", source_of_funds=None),
        r("R5", "60000", "2026-03-04T12:00:00+08:00", customer="E1", source_of_funds=""),
        c(
            "T6",
            "50000",
            "2026-03-02T13:00:00+08:00",
            customer="C3",
            account_id=None,
            service="currency_exchange",
        ),  # CDD_ONE_OFF
        c(
            "T7",
            "50000",
            "2026-03-02T14:00:00+08:00",
            customer="C3",
            conductor={"name": "Wang Qiang"},
        ),  # CDD_AGENT
        c("T8", "100", "2026-03-03T14:00:00+08:00", customer="C4"),
        update(
            {"address": "2 Other Road"},
            customer_id="C1",
            event_id="u-C1",
            at="2026-03-06T10:00:00+08:00",
        ),  # PROFILE_CHANGE
        c("T11", "40000", "2026-03-03T15:00:00+08:00", customer="C2"),
        c("T12", "38000", "2026-03-04T15:00:00+08:00", customer="C2"),  # STRUCTURING (high)
        update(
            {"legal_representative": {"name": "Sun Li", "id_document": {"number": "X1"}}},
            customer_id="E1",
            event_id="u-E1",
            at="2026-03-06T11:00:00+08:00",
        ),  # PROFILE_CHANGE of an entity
        opening(c5_open),  # KYC_INCOMPLETE: the agent's document expired
        c("T9", "10", "2026-03-17T00:00:01+08:00"),  # REMIT_INFO_UNRESOLVED for R1
        c("T10", "10", "2026-09-03T10:00:00+08:00", customer="C2"),  # PERIODIC_REVIEW
        *_transfer_patterns(),
    ]


def _transfer_patterns() -> list[Any]:
    """Domestic transfers raising LV_TRANSFER_INDIVIDUAL and the behaviour rules."""
    x5_open = individual_opening_data(
        customer_id="X5", event_id="o-X5", at="2025-06-01T09:00:00+08:00"
    )

    def d(txn, customer, amount, direction, hours, account, **kw):
        when = datetime(2026, 3, 2, tzinfo=SHANGHAI) + timedelta(hours=hours)
        return transfer(
            amount,
            customer_id=customer,
            txn_id=txn,
            event_id=f"e-{txn}",
            direction=direction,
            at=when.isoformat(),
            counterparty=account,
            **kw,
        )

    events: list[Any] = [opening(x5_open)]
    events += [d("D51", "X5", "250000", "in", 10, "A1"), d("D52", "X5", "260000", "in", 11, "A2")]
    events += [d(f"D6{k}", "X6", "10000", "in", 9 + k, f"P{k}") for k in range(10)]
    events.append(d("D6X", "X6", "95000", "out", 20, "Q1"))  # FUNNEL_IN, PASS_THROUGH
    events.append(d("D70", "X7", "150000", "in", 9, "S1"))
    events += [d(f"D7{k + 1}", "X7", "12000", "out", 10 + k, f"R{k}") for k in range(10)]
    events += [
        d(f"D8{k}", "X8", "20000", "in" if k % 2 == 0 else "out", 26 * k, "F1") for k in range(6)
    ]
    return events


SCENARIO = _scenario()


def comparable(result) -> tuple[list[dict], list[dict]]:
    alerts = [a.model_dump(mode="json", exclude={"detected_at"}) for a in result.alerts]
    tasks = [t.model_dump(mode="json") for t in result.tasks]
    return alerts, tasks


@pytest.fixture(scope="module")
def reference():
    return run(Engine(make_pack()), SCENARIO, detected_at=EARLY)


def test_the_scenario_touches_every_rule_and_trigger_but_the_watch_list(reference):
    # the rules across customers run on account records (tests/unit/test_network.py)
    across = {"COUNTERPARTY_HUB", "FUNDS_CYCLE"}
    assert sorted({a.rule_id for a in reference.alerts}) == sorted(
        set(RULE_IDS) - {"WATCHLIST_MATCH"} - across
    )
    assert sorted({t.trigger for t in reference.tasks}) == sorted(
        set(TRIGGERS) - {"WATCHLIST_MATCH"}
    )


def test_the_scenario_covers_risk_intensity_entity_changes_and_agents(reference):
    (high,) = [a for a in reference.by_rule("STRUCTURING") if a.customer_id == "C2"]
    assert high.evidence == ["T11", "T12"]
    assert high.summary.endswith("[high-risk customer: amounts x0.8, counts x0.7]")
    assert ("E1", "PROFILE_CHANGE") in {(t.customer_id, t.trigger) for t in reference.tasks}
    (agent,) = [a for a in reference.by_rule("KYC_INCOMPLETE") if a.customer_id == "C5"]
    assert agent.summary.endswith("agent id_document expired")


def test_two_fresh_engines_give_identical_findings(reference):
    again = run(Engine(make_pack()), SCENARIO, detected_at=LATE)
    assert comparable(again) == comparable(reference)


def test_only_detected_at_differs(reference):
    again = run(Engine(make_pack()), SCENARIO, detected_at=LATE)
    assert {a.detected_at for a in reference.alerts} == {EARLY}
    assert {a.detected_at for a in again.alerts} == {LATE}
    assert [a.alert_id for a in again.alerts] == [a.alert_id for a in reference.alerts]
    assert [t.task_id for t in again.tasks] == [t.task_id for t in reference.tasks]


def test_alert_ids_do_not_depend_on_detected_at():
    one = run(Engine(make_pack()), [cash("50000", txn_id="X", event_id="e-X")], detected_at=EARLY)
    two = run(Engine(make_pack()), [cash("50000", txn_id="X", event_id="e-X")], detected_at=LATE)
    assert one.alerts[0].alert_id == two.alerts[0].alert_id
    assert one.alerts[0].detected_at != two.alerts[0].detected_at


def test_states_are_identical(reference):
    again = run(Engine(make_pack()), SCENARIO, detected_at=LATE)
    assert {k: s.to_bytes() for k, s in again.states.items()} == {
        k: s.to_bytes() for k, s in reference.states.items()
    }


def test_every_finding_has_its_own_id(reference):
    """Only a growing large-value report is emitted again under its id (2016 No.3 art.5),
    each version with more evidence than the one before."""
    alert_ids = [a.alert_id for a in reference.alerts]
    task_ids = [t.task_id for t in reference.tasks]
    versions: dict[str, list[Any]] = {}
    for alert in reference.alerts:
        versions.setdefault(alert.alert_id, []).append(alert)
    for same in versions.values():
        assert len({(a.rule_id, a.customer_id, a.window_start) for a in same}) == 1
        assert len(same) == 1 or same[0].rule_id.startswith("LV_")
        assert [len(a.evidence) for a in same] == sorted({len(a.evidence) for a in same})
    assert len(set(task_ids)) == len(task_ids)
    assert not set(alert_ids) & set(task_ids)


@pytest.mark.parametrize("cut", [1, 5, 9, 12, 17, 19, 25, 33, 40])
def test_restart_from_serialized_state_gives_the_same_findings(reference, cut):
    first = run(Engine(make_pack()), SCENARIO[:cut], detected_at=EARLY)
    restored = {k: CustomerState.from_bytes(s.to_bytes()) for k, s in first.states.items()}
    second = run(Engine(make_pack()), SCENARIO[cut:], detected_at=EARLY, states=restored)
    alerts = first.alerts + second.alerts
    tasks = first.tasks + second.tasks
    assert [a.model_dump(mode="json") for a in alerts] == [
        a.model_dump(mode="json") for a in reference.alerts
    ]
    assert [t.model_dump(mode="json") for t in tasks] == [
        t.model_dump(mode="json") for t in reference.tasks
    ]


def test_replaying_everything_again_on_the_same_states_gives_no_new_id(reference):
    # Event ids are remembered for retention_days + 1 days of event time before the
    # customer's watermark (and at most max_seen_events of them): older events are applied
    # again, but whatever they find carries an id already emitted.
    states = {k: CustomerState.from_bytes(s.to_bytes()) for k, s in reference.states.items()}
    again = run(Engine(make_pack()), SCENARIO, detected_at=LATE, states=states)
    assert {a.alert_id for a in again.alerts} <= {a.alert_id for a in reference.alerts}
    assert {t.task_id for t in again.tasks} <= {t.task_id for t in reference.tasks}
    horizon_days = make_pack().config.state.retention_days + 1
    for event, outcome in zip(SCENARIO, again.outcomes, strict=True):
        watermark = reference.states[event.customer_id].watermark_ms
        age_days = (watermark - event.event_time.timestamp() * 1000) / 86_400_000
        if age_days < horizon_days:
            assert outcome.duplicate, event.event_id


def test_interleaving_of_customers_does_not_matter(reference):
    # per-customer order kept, customers one after the other (as another partitioning would)
    by_customer = sorted(SCENARIO, key=lambda e: e.customer_id)  # stable: keeps each order
    again = run(Engine(make_pack()), by_customer, detected_at=EARLY)

    def per_customer(result):
        out: dict[str, list[dict]] = {}
        for a in result.alerts:
            out.setdefault(a.customer_id, []).append(a.model_dump(mode="json"))
        for t in result.tasks:
            out.setdefault(t.customer_id, []).append(t.model_dump(mode="json"))
        return out

    assert per_customer(again) == per_customer(reference)


def test_a_redelivered_event_in_the_middle_changes_nothing(reference):
    with_dups = []
    for event in SCENARIO:
        with_dups.append(event)
        with_dups.append(event)
    again = run(Engine(make_pack()), with_dups, detected_at=EARLY)
    assert comparable(again) == comparable(reference)
