"""REMIT_INFO_UNRESOLVED: a cross-border payment reported by REMIT_MISSING_INFO whose
required fields are still missing when the follow-up deadline passes.

The deadline is the end (24:00 Asia/Shanghai) of the 10th PRC working day after the
payment's Shanghai date, plus the pack's `deadline_grace_hours`. It is decided on event
time: when the customer's watermark (latest event time seen for the customer, any topic)
passes it. A supplement with the same `txn_id` completing the fields in time resolves it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from monitor.core.engine import Engine
from schemas import Remittance

from .conftest import SHANGHAI, cash, make_engine, opening, remittance, run, update

RULE = "REMIT_INFO_UNRESOLVED"
MISSING = "REMIT_MISSING_INFO"

# Payment on Monday 2026-09-28 (Shanghai). PRC working days after it:
#   Tue 09-29 (1), Wed 09-30 (2), [Oct 1-7: National Day / Mid-Autumn holidays and the
#   weekend 3-4], Thu 10-08 (3), Fri 10-09 (4), Sat 10-10 make-up working day (5),
#   [Sun 10-11], Mon 10-12 (6), Tue 10-13 (7), Wed 10-14 (8), Thu 10-15 (9), Fri 10-16 (10).
# The deadline day is 2026-10-16; it ends at 2026-10-17T00:00+08:00.
PAY_AT = "2026-09-28T10:00:00+08:00"
DEADLINE = date(2026, 10, 16)
LAST_MOMENT = "2026-10-16T23:59:59+08:00"
JUST_AFTER = "2026-10-17T00:00:01+08:00"

# Payment on Monday 2026-03-02: Tue 3 (1), Wed 4, Thu 5, Fri 6, Mon 9 (5), Tue 10, Wed 11,
# Thu 12, Fri 13, Mon 16 (10) -> deadline day 2026-03-16, ends 2026-03-17T00:00+08:00.
MARCH_PAY_AT = "2026-03-02T10:00:00+08:00"
MARCH_DEADLINE = date(2026, 3, 16)


def incomplete(txn_id: str = "RMT-F-1", at: str = PAY_AT, **kw: Any) -> Remittance:
    """An outbound payment of CNY 20,000 lacking the originator address and the beneficiary
    name (account numbers present)."""
    kw.setdefault("originator", {"address": ""})
    kw.setdefault("beneficiary", {"name": None})
    return remittance("20000.00", txn_id=txn_id, at=at, **kw)


def supplement(
    txn_id: str = "RMT-F-1",
    at: str = "2026-10-09T10:00:00+08:00",
    *,
    originator: dict[str, Any] | None = None,
    beneficiary: dict[str, Any] | None = None,
    customer_id: str = "C001",
    event_id: str | None = None,
    **extra: Any,
) -> Remittance:
    """A supplement carrying only the given fields."""
    data: dict[str, Any] = {
        "event_id": event_id or f"evt-supp-{txn_id}-{at}",
        "txn_id": txn_id,
        "kind": "supplement",
        "customer_id": customer_id,
        "occurred_at": at,
        "direction": "out",
        **extra,
    }
    if originator is not None:
        data["originator"] = originator
    if beneficiary is not None:
        data["beneficiary"] = beneficiary
    return Remittance.model_validate(data)


COMPLETING = {"originator": {"address": "88 Century Avenue"}, "beneficiary": {"name": "John"}}


def tick(at: str, **kw: Any):
    """A small cash deposit that only moves the customer's watermark."""
    return cash("10.00", at=at, **kw)


def fired(result) -> list[int]:
    """How many REMIT_INFO_UNRESOLVED alerts each event produced."""
    return [sum(a.rule_id == RULE for a in o.findings.alerts) for o in result.outcomes]


# --------------------------------------------------------------------------- the deadline


def test_deadline_is_recorded_by_hand_computation(engine):
    result = run(engine, [incomplete()])
    item = result.states["C001"].pending["RMT-F-1"]
    assert item["due"] == DEADLINE.isoformat()
    assert item["due_ms"] == int(datetime(2026, 10, 17, tzinfo=SHANGHAI).timestamp() * 1000)
    assert engine.pack.calendar.add_working_days(date(2026, 9, 28), 10) == DEADLINE


@pytest.mark.parametrize(
    ("at", "fires"),
    [
        ("2026-10-15T23:59:59+08:00", False),  # day 9
        ("2026-10-16T00:00:00+08:00", False),  # the deadline day begins
        (LAST_MOMENT, False),  # 23:59:59 on the deadline day
        ("2026-10-16T15:59:59.999Z", False),  # 23:59:59.999 Shanghai
        (JUST_AFTER, True),  # just after midnight
        ("2026-10-16T16:00:01Z", True),  # = 00:00:01 Shanghai on 17 October
        ("2026-11-30T10:00:00+08:00", True),  # long after
    ],
)
def test_decided_only_after_the_end_of_the_deadline_day(engine, at, fires):
    result = run(engine, [incomplete(), tick(at)])
    assert fired(result) == [0, 1 if fires else 0]


def test_no_alert_before_the_deadline_however_many_events(engine):
    events = [incomplete()] + [
        tick(f"2026-10-{d:02d}T12:00:00+08:00") for d in (1, 5, 8, 10, 12, 15, 16)
    ]
    result = run(engine, events)
    assert result.by_rule(RULE) == []
    assert "RMT-F-1" in result.states["C001"].pending


def test_the_payment_date_is_the_shanghai_date(engine):
    # 2026-09-27T16:30Z is 00:30 on Monday 28 September in Shanghai: deadline 16 October
    result = run(engine, [incomplete(at="2026-09-27T16:30:00Z"), tick(LAST_MOMENT)])
    assert result.by_rule(RULE) == []
    assert result.states["C001"].pending["RMT-F-1"]["due"] == "2026-10-16"


def test_payment_on_a_sunday_counts_from_the_next_working_day(engine):
    # 2026-09-27T15:30Z is 23:30 on Sunday 27 September in Shanghai (a rest day):
    # Mon 28 (1), Tue 29, Wed 30, Thu 10-08, Fri 10-09 (5), Sat 10-10 (6), Mon 12, Tue 13,
    # Wed 14, Thu 15 (10) -> deadline day 2026-10-15
    result = run(
        engine,
        [
            incomplete(at="2026-09-27T15:30:00Z"),
            tick("2026-10-15T23:59:59+08:00"),
            tick("2026-10-16T00:00:01+08:00"),
        ],
    )
    assert fired(result) == [0, 0, 1]


def test_march_deadline(engine):
    result = run(
        engine,
        [
            incomplete(at=MARCH_PAY_AT),
            tick("2026-03-16T23:59:59+08:00"),
            tick("2026-03-17T00:00:01+08:00"),
        ],
    )
    assert fired(result) == [0, 0, 1]
    assert result.by_rule(RULE)[0].summary.endswith(
        f"after the follow-up deadline {MARCH_DEADLINE.isoformat()} (10 working days)"
    )


def test_alert_fields(engine):
    payment = incomplete()
    result = run(engine, [payment, tick(JUST_AFTER)])
    (missing,) = result.by_rule(MISSING)
    (alert,) = result.by_rule(RULE)
    assert alert.summary == (
        "remittance RMT-F-1 still lacks originator.address, beneficiary.name after the "
        "follow-up deadline 2026-10-16 (10 working days)"
    )
    assert alert.category == "suspicious"
    assert alert.severity == "medium"
    assert alert.amount == Decimal("20000.00")
    assert alert.currency == "CNY"
    assert alert.evidence == ["RMT-F-1"]
    assert alert.event_time == datetime(2026, 10, 17, 0, 0, tzinfo=SHANGHAI)  # the deadline
    assert alert.window_start == datetime(2026, 9, 28, 10, 0, tzinfo=SHANGHAI)
    assert alert.window_end == alert.event_time
    assert alert.customer_id == "C001"
    assert alert.alert_id != missing.alert_id
    assert result.states["C001"].pending == {}


def test_fires_once_even_with_more_events_after_the_deadline(engine):
    result = run(
        engine,
        [
            incomplete(),
            tick(JUST_AFTER),
            tick("2026-10-20T10:00:00+08:00"),
            tick("2026-12-01T10:00:00+08:00"),
        ],
    )
    assert fired(result) == [0, 1, 0, 0]


def test_inbound_payment_is_followed_up_too(engine):
    payment = remittance(
        "1", direction="in", txn_id="RMT-IN-1", at=PAY_AT, originator={"address": ""}
    )
    result = run(engine, [payment, tick(LAST_MOMENT), tick(JUST_AFTER)])
    assert fired(result) == [0, 0, 1]


def test_complete_payment_is_never_followed_up(engine):
    result = run(engine, [remittance("20000", at=PAY_AT), tick(JUST_AFTER)])
    assert result.alerts == []
    assert result.states["C001"].pending == {}


def test_payment_below_the_outbound_threshold_is_never_followed_up(engine):
    payment = remittance("4999.99", at=PAY_AT, beneficiary={"name": None})
    result = run(engine, [payment, tick(JUST_AFTER)])
    assert result.alerts == []


def test_two_payments_are_decided_apart(engine):
    # second payment on Tue 29 September: deadline one working day later, 19 October
    result = run(
        engine,
        [
            incomplete("RMT-A"),
            incomplete("RMT-B", at="2026-09-29T10:00:00+08:00"),
            tick(JUST_AFTER),
            tick("2026-10-19T23:59:59+08:00"),
            tick("2026-10-20T00:00:01+08:00"),
        ],
    )
    assert fired(result) == [0, 0, 1, 0, 1]
    assert [a.evidence[0] for a in result.by_rule(RULE)] == ["RMT-A", "RMT-B"]


def test_redelivered_payment_is_followed_up_once(engine):
    payment = incomplete(event_id="evt-pay-dup")
    result = run(engine, [payment, payment, tick(JUST_AFTER), payment])
    assert fired(result) == [0, 0, 1, 0]


def test_watermark_is_per_customer(engine):
    result = run(engine, [incomplete(), tick(JUST_AFTER, customer_id="C002")])
    assert result.by_rule(RULE) == []
    assert "RMT-F-1" in result.states["C001"].pending


def test_a_late_arriving_older_event_does_not_move_the_watermark_back(engine):
    result = run(
        engine,
        [
            incomplete(),
            tick("2026-10-16T12:00:00+08:00"),
            tick("2026-09-30T10:00:00+08:00"),
            tick(JUST_AFTER),
        ],
    )
    assert fired(result) == [0, 0, 0, 1]


# --------------------------------------------------------------------------- any topic


def test_decided_by_a_customer_update(engine):
    result = run(
        engine,
        [
            opening(opened_at="2026-09-01T10:00:00+08:00"),
            incomplete(),
            update({"branch_code": "SH002"}, at=LAST_MOMENT),
            update({"branch_code": "SH003"}, at=JUST_AFTER),
        ],
    )
    assert fired(result) == [0, 0, 0, 1]


def test_decided_by_a_customer_update_without_an_opening(engine):
    result = run(engine, [incomplete(), update({"phone": "1"}, at=JUST_AFTER)])
    assert fired(result) == [0, 1]


def test_decided_by_a_cash_withdrawal(engine):
    result = run(engine, [incomplete(), cash("5", direction="out", at=JUST_AFTER)])
    assert fired(result) == [0, 1]


def test_decided_by_another_remittance(engine):
    result = run(engine, [incomplete(), remittance("100", at=JUST_AFTER)])
    assert fired(result) == [0, 1]


def test_decided_by_an_account_opening(engine):
    result = run(engine, [incomplete(), opening(opened_at=JUST_AFTER)])
    assert fired(result) == [0, 1]


def test_the_same_alert_id_whichever_event_decides(pack):
    by_cash = run(Engine(pack), [incomplete(), tick(JUST_AFTER)]).by_rule(RULE)
    by_update = run(
        Engine(pack), [incomplete(), update({"phone": "1"}, at="2026-11-02T10:00:00+08:00")]
    ).by_rule(RULE)
    assert by_cash[0].alert_id == by_update[0].alert_id


# --------------------------------------------------------------------------- supplements


def test_supplement_completing_all_fields_in_time_resolves_it(engine):
    result = run(
        engine,
        [
            incomplete(),
            supplement(**COMPLETING),
            tick(JUST_AFTER),
            tick("2027-01-04T10:00:00+08:00"),
        ],
    )
    assert result.by_rule(RULE) == []
    assert result.states["C001"].pending == {}
    assert [a.rule_id for a in result.alerts] == [MISSING]


def test_supplement_at_the_last_second_resolves_it(engine):
    late = supplement(at=LAST_MOMENT, **COMPLETING)
    result = run(engine, [incomplete(), late, tick(JUST_AFTER)])
    assert result.by_rule(RULE) == []


def test_two_supplements_completing_together_resolve_it(engine):
    result = run(
        engine,
        [
            incomplete(),
            supplement(at="2026-09-29T10:00:00+08:00", originator={"address": "88 Century Avenue"}),
            supplement(at="2026-10-12T10:00:00+08:00", beneficiary={"name": "John"}),
            tick(JUST_AFTER),
        ],
    )
    assert result.by_rule(RULE) == []


def test_supplement_completing_only_some_fields_does_not_resolve_it(engine):
    part = supplement(originator={"address": "88 Century Avenue"}, event_id="evt-supp-part")
    result = run(engine, [incomplete(), part, tick(JUST_AFTER)])
    (alert,) = result.by_rule(RULE)
    assert alert.summary.startswith("remittance RMT-F-1 still lacks beneficiary.name after")
    assert alert.evidence == ["RMT-F-1", "evt-supp-part"]


@pytest.mark.parametrize("blank", ["", "   "])
def test_supplement_with_blank_values_does_not_resolve_it(engine, blank):
    empty = supplement(originator={"address": blank}, beneficiary={"name": blank})
    result = run(engine, [incomplete(), empty, tick(JUST_AFTER)])
    (alert,) = result.by_rule(RULE)
    assert "originator.address, beneficiary.name" in alert.summary


def test_supplement_for_another_txn_does_not_resolve_it(engine):
    other = supplement(txn_id="RMT-OTHER", **COMPLETING)
    result = run(engine, [incomplete(), other, tick(JUST_AFTER)])
    assert len(result.by_rule(RULE)) == 1


def test_supplement_after_the_deadline_passed_does_not_cancel_the_alert(engine):
    late = supplement(at="2026-10-20T10:00:00+08:00", **COMPLETING)
    result = run(engine, [incomplete(), tick(JUST_AFTER), late])
    assert fired(result) == [0, 1, 0]
    assert result.outcomes[2].findings.alerts == []  # nothing withdraws or repeats it


def test_late_supplement_that_itself_passes_the_deadline_still_fires(engine):
    # the supplement is the first event after the deadline: the decision comes first
    late = supplement(at=JUST_AFTER, **COMPLETING)
    result = run(engine, [incomplete(), late])
    assert fired(result) == [0, 1]
    (alert,) = result.by_rule(RULE)
    assert alert.summary.startswith(
        "remittance RMT-F-1 still lacks originator.address, beneficiary.name"
    )


def test_supplement_never_raises_missing_info_itself(engine):
    result = run(engine, [supplement(originator={"name": ""})])
    assert result.alerts == []
    assert result.states["C001"].pending == {}


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize(
    ("at", "fires"),
    [
        (JUST_AFTER, False),
        ("2026-10-17T05:59:59+08:00", False),
        ("2026-10-17T06:00:01+08:00", True),
    ],
)
def test_deadline_grace_hours_moves_the_decision(at, fires):
    engine = make_engine({"deadline_grace_hours": 6})
    result = run(engine, [incomplete(), tick(at)])
    assert fired(result) == [0, 1 if fires else 0]


def test_supplement_within_the_grace_period_resolves_it():
    engine = make_engine({"deadline_grace_hours": 6})
    result = run(
        engine,
        [
            incomplete(),
            supplement(at="2026-10-17T05:00:00+08:00", **COMPLETING),
            tick("2026-10-18T10:00:00+08:00"),
        ],
    )
    assert result.by_rule(RULE) == []


def test_follow_up_working_days_is_configurable():
    # 1 working day after Mon 28 September: Tue 29 September
    engine = make_engine({"rules.REMIT_INFO_UNRESOLVED.follow_up_working_days": 1})
    result = run(
        engine,
        [incomplete(), tick("2026-09-29T23:59:59+08:00"), tick("2026-09-30T00:00:01+08:00")],
    )
    assert fired(result) == [0, 0, 1]
    assert result.by_rule(RULE)[0].summary.endswith(
        "after the follow-up deadline 2026-09-29 (1 working days)"
    )


def test_disabled_rule_keeps_nothing_pending():
    engine = make_engine({"rules.REMIT_INFO_UNRESOLVED.enabled": False})
    result = run(engine, [incomplete(), tick(JUST_AFTER)])
    assert result.by_rule(RULE) == []
    assert len(result.by_rule(MISSING)) == 1
    assert result.states["C001"].pending == {}
