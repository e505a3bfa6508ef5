"""Deadlines decided on stream time: `Engine.advance`, `Engine.next_deadline_ms`, a
partition's `StreamTime`, the `DeadlineIndex`, and the merged stream's time of offline runs.

A quiet customer's deadline (periodic review, remittance follow-up) is decided when the
stream time of the partition holding its state passes it plus the pack's grace, with the
same finding (id and every field but `detected_at`) that its own next event would give;
the finding's event time is the deadline itself."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from monitor.core.clock import DeadlineIndex, StreamTime
from monitor.core.engine import Engine
from monitor.core.rules import Findings
from monitor.core.state import CustomerState
from monitor.tools.offline import TOPIC_RANK, OfflineRun, merge_key

from .conftest import DETECTED_AT, SHANGHAI, cash, make_engine, opening, remittance, run


def ms(at: str) -> int:
    return int(datetime.fromisoformat(at).timestamp() * 1000)


# A PEP opened on Mon 2 March 2026 is rated high: review on 2026-09-02, decided when event
# time passes 2026-09-03T00:00+08:00.
REVIEW_DEADLINE = "2026-09-03T00:00:00+08:00"


def pep(customer_id: str = "C001") -> Any:
    return opening(customer_id=customer_id, is_pep=True, opened_at="2026-03-02T10:00:00+08:00")


# An outbound payment of 28 Sep 2026 lacking two fields: follow-up deadline day 2026-10-16,
# decided when event time passes 2026-10-17T00:00+08:00.
REMIT_DEADLINE = "2026-10-17T00:00:00+08:00"


def incomplete(customer_id: str = "C001") -> Any:
    return remittance(
        "20000.00",
        customer_id=customer_id,
        txn_id=f"RMT-{customer_id}",
        at="2026-09-28T10:00:00+08:00",
        originator={"address": ""},
        beneficiary={"name": None},
    )


def quiet(engine: Engine, *events: Any) -> CustomerState:
    result = run(engine, events)
    (state,) = result.states.values()
    return state


def reviews(findings: Findings) -> list[Any]:
    return [t for t in findings.tasks if t.trigger == "PERIODIC_REVIEW"]


# --------------------------------------------------------------------------- Engine.advance


def test_dormant_high_risk_customer_gets_its_periodic_review_from_stream_time(engine):
    state = quiet(engine, pep())
    assert engine.next_deadline_ms(state) == ms(REVIEW_DEADLINE)
    assert reviews(engine.advance(state, ms(REVIEW_DEADLINE), DETECTED_AT).findings) == []
    outcome = engine.advance(state, ms(REVIEW_DEADLINE) + 1, DETECTED_AT)
    (task,) = reviews(outcome.findings)
    assert task.source_event_id == "periodic-review:2026-09-02"
    assert task.risk_rating == "high"
    assert task.due_by == date(2026, 10, 8)  # 20 PRC working days from Thu 3 September
    assert state.risk["next_review"] == "2027-03-02"
    assert state.watermark_ms == ms("2026-03-02T10:00:00+08:00")  # no event: unchanged
    assert engine.next_deadline_ms(state) == ms("2027-03-03T00:00:00+08:00")
    # decided once
    assert engine.advance(state, ms(REVIEW_DEADLINE) + 2, DETECTED_AT).findings.tasks == []


def test_stream_time_and_own_event_give_the_same_review(pack):
    by_event = run(Engine(pack), [pep(), cash("10", at="2026-11-20T10:00:00+08:00")])
    engine = Engine(pack)
    state = quiet(engine, pep())
    by_clock = engine.advance(state, ms("2026-11-20T10:00:00+08:00"), DETECTED_AT).findings
    (expected,) = [t for t in by_event.tasks if t.trigger == "PERIODIC_REVIEW"]
    (task,) = reviews(by_clock)
    assert task == expected


def test_remittance_follow_up_fires_when_stream_time_passes_it(engine):
    state = quiet(engine, incomplete())
    assert engine.next_deadline_ms(state) == ms(REMIT_DEADLINE)
    assert engine.advance(state, ms(REMIT_DEADLINE), DETECTED_AT).findings.alerts == []
    (alert,) = engine.advance(state, ms(REMIT_DEADLINE) + 1, DETECTED_AT).findings.alerts
    assert alert.rule_id == "REMIT_INFO_UNRESOLVED"
    assert alert.event_time == datetime(2026, 10, 17, 0, 0, tzinfo=SHANGHAI)
    assert state.pending == {}


def test_stream_time_and_own_event_give_the_same_follow_up_alert(pack):
    # the own event is a cash deposit with a branch code: the alert still has no branch
    by_event = run(Engine(pack), [incomplete(), cash("10", at="2026-10-20T10:00:00+08:00")])
    engine = Engine(pack)
    state = quiet(engine, incomplete())
    (alert,) = engine.advance(state, ms("2026-10-25T10:00:00+08:00"), DETECTED_AT).findings.alerts
    assert alert == by_event.by_rule("REMIT_INFO_UNRESOLVED")[0]


@pytest.mark.parametrize(
    ("now", "fires"),
    [("2026-10-17T05:59:59+08:00", False), ("2026-10-17T06:00:01+08:00", True)],
)
def test_grace_period_is_respected(now, fires):
    engine = make_engine({"deadline_grace_hours": 6})
    state = quiet(engine, incomplete())
    # with a grace, the behaviour rules decide the payment first, once the grace has passed
    paid = state.watermark_ms
    assert engine.next_deadline_ms(state) == paid + 6 * 3_600_000
    assert engine.advance(state, paid + 6 * 3_600_000 + 1, DETECTED_AT).findings == Findings()
    assert engine.next_deadline_ms(state) == ms(REMIT_DEADLINE) + 6 * 3_600_000
    findings = engine.advance(state, ms(now), DETECTED_AT).findings
    assert [a.rule_id for a in findings.alerts] == (["REMIT_INFO_UNRESOLVED"] if fires else [])
    if fires:  # the event time is the deadline, not the deadline plus grace
        assert findings.alerts[0].event_time == datetime(2026, 10, 17, 0, 0, tzinfo=SHANGHAI)


def test_a_customer_without_deadlines_has_none(engine):
    state = quiet(engine, cash("10"))
    assert engine.next_deadline_ms(state) is None
    assert engine.advance(state, ms("2030-01-01T00:00:00+08:00"), DETECTED_AT).findings == (
        Findings()
    )


def test_stream_time_behind_the_customers_watermark_decides_nothing(engine):
    state = quiet(engine, pep(), cash("10", at="2026-09-02T23:00:00+08:00"))
    assert engine.advance(state, ms("2026-08-01T00:00:00+08:00"), DETECTED_AT).findings == (
        Findings()
    )


# --------------------------------------------------------------------------- StreamTime


def test_stream_time_is_the_lowest_latest_event_time_over_the_topics():
    stream = StreamTime(["cash", "remit"], idle_ms=60_000, started_wall_ms=0)
    stream.observe("cash", 5_000, wall_ms=1)
    assert stream.time(wall_ms=2) is None  # "remit" not seen yet and not idle: held back
    stream.observe("remit", 3_000, wall_ms=3)
    assert stream.time(wall_ms=4) == 3_000
    stream.observe("cash", 9_000, wall_ms=5)
    assert stream.time(wall_ms=6) == 3_000  # the lagging topic holds it back
    stream.observe("remit", 7_000, wall_ms=7)
    assert stream.time(wall_ms=8) == 7_000


def test_an_idle_topic_stops_holding_stream_time_back():
    stream = StreamTime(["cash", "remit"], idle_ms=1_000, started_wall_ms=0)
    stream.observe("remit", 3_000, wall_ms=0)
    stream.observe("cash", 9_000, wall_ms=0)
    stream.observe("cash", 12_000, wall_ms=900)
    assert stream.time(wall_ms=950) == 3_000
    assert stream.time(wall_ms=1_001) == 12_000  # "remit" brought nothing for over 1 s
    # it comes back with older events: stream time never goes back
    stream.observe("remit", 4_000, wall_ms=1_100)
    assert stream.time(wall_ms=1_200) == 12_000


def test_a_topic_never_seen_holds_back_until_idle():
    stream = StreamTime(["cash", "events"], idle_ms=1_000, started_wall_ms=100)
    stream.observe("cash", 5_000, wall_ms=200)
    assert stream.time(wall_ms=1_000) is None
    assert stream.time(wall_ms=1_101) == 5_000


def test_when_every_topic_is_idle_the_latest_event_time_counts():
    stream = StreamTime(["cash", "remit"], idle_ms=1_000, started_wall_ms=0)
    stream.observe("cash", 5_000, wall_ms=0)
    stream.observe("remit", 8_000, wall_ms=0)
    assert stream.time(wall_ms=10) == 5_000
    assert stream.time(wall_ms=5_000) == 8_000


# --------------------------------------------------------------------------- DeadlineIndex


def test_index_pops_every_passed_deadline_once_earliest_first():
    index: DeadlineIndex[str] = DeadlineIndex()
    index.set("a", 30)
    index.set("b", 10)
    index.set("c", 20)
    index.set("a", 5)  # moved: the entry at 30 is stale
    index.set("d", None)
    assert index.head() == 5
    assert index.pop_due(20) == [("a", 5), ("b", 10)]  # 20 has not passed 20
    assert index.pop_due(100) == [("c", 20)]
    assert index.pop_due(1000) == []
    assert len(index) == 0


def test_index_drops_a_customer_whose_deadlines_are_gone():
    index: DeadlineIndex[str] = DeadlineIndex()
    index.set("a", 10)
    index.set("a", None)
    assert index.head() is None
    assert index.pop_due(100) == []


# --------------------------------------------------------------------------- offline runs


def _offline(pack, events: list[Any]) -> tuple[list[Any], list[Any]]:
    alerts: list[Any] = []
    tasks: list[Any] = []

    def collect(findings: Findings) -> None:
        alerts.extend(findings.alerts)
        tasks.extend(findings.tasks)

    runner = OfflineRun(pack, collect, DETECTED_AT)
    items = sorted(
        (
            merge_key(ms(e.event_time.isoformat()), TOPIC_RANK[_kind(e)], 0, i),
            e,
        )
        for i, e in enumerate(events)
    )
    runner.run(items)
    return alerts, tasks


def _kind(event: Any) -> str:
    return {
        "AccountOpening": "account_opening",
        "CashTransaction": "cash",
        "Remittance": "remittance",
    }[type(event).__name__]


def test_offline_run_decides_quiet_customers_deadlines_on_the_merged_streams_time(pack):
    others = [
        cash("10", customer_id="BUSY", at=at)
        for at in ("2026-09-02T12:00:00+08:00", "2026-10-20T10:00:00+08:00")
    ]
    alerts, tasks = _offline(pack, [pep("QUIET1"), incomplete("QUIET2"), *others])
    assert [(t.customer_id, t.trigger) for t in tasks if t.trigger == "PERIODIC_REVIEW"] == [
        ("QUIET1", "PERIODIC_REVIEW")
    ]
    assert [(a.customer_id, a.rule_id) for a in alerts if a.rule_id == "REMIT_INFO_UNRESOLVED"] == [
        ("QUIET2", "REMIT_INFO_UNRESOLVED")
    ]
    # the same findings as when each quiet customer's own later event decides them
    own_alerts, own_tasks = _offline(
        pack,
        [
            pep("QUIET1"),
            incomplete("QUIET2"),
            cash("10", customer_id="QUIET1", at="2026-10-20T10:00:00+08:00"),
            cash("10", customer_id="QUIET2", at="2026-10-20T10:00:00+08:00"),
        ],
    )
    assert [t for t in own_tasks if t.trigger == "PERIODIC_REVIEW"] == [
        t for t in tasks if t.trigger == "PERIODIC_REVIEW"
    ]
    assert [a for a in own_alerts if a.rule_id == "REMIT_INFO_UNRESOLVED"] == [
        a for a in alerts if a.rule_id == "REMIT_INFO_UNRESOLVED"
    ]


def test_offline_run_before_the_deadline_decides_nothing(pack):
    alerts, tasks = _offline(
        pack, [pep("QUIET1"), cash("10", customer_id="BUSY", at="2026-09-02T23:59:59+08:00")]
    )
    assert [t for t in tasks if t.trigger == "PERIODIC_REVIEW"] == []


# --------------------------------------------------------------------------- path independence


def _two_unresolved(customer_id: str = "C001") -> list[Any]:
    """An individual (rated low) with two payments lacking fields, on Mon 28 and Tue 29
    September: follow-up deadlines decided at 17 and 20 October 00:00 Shanghai. Each
    REMIT_INFO_UNRESOLVED is suspicious: the second raises the rating to medium."""
    return [
        opening(customer_id=customer_id, opened_at="2026-03-02T10:00:00+08:00"),
        incomplete(customer_id),
        remittance(
            "20000.00",
            customer_id=customer_id,
            txn_id=f"RMT2-{customer_id}",
            at="2026-09-29T10:00:00+08:00",
            originator={"address": ""},
        ),
    ]


@pytest.mark.parametrize(
    "stream_times",
    [
        [],  # decided by the customer's own event on 1 December
        ["2026-12-01T09:00:00+08:00"],  # one stream time past both
        ["2026-10-18T00:00:00+08:00", "2026-11-05T00:00:00+08:00"],  # one after the other
    ],
    ids=["own-event", "one-stream-time", "two-stream-times"],
)
def test_deadlines_change_the_state_the_same_whatever_decides_them(pack, stream_times):
    engine = Engine(pack)
    state = quiet(engine, *_two_unresolved())
    decided = Findings()
    for at in stream_times:
        found = engine.advance(state, ms(at), DETECTED_AT).findings
        decided.alerts += found.alerts
        decided.tasks += found.tasks
    later = engine.process(state, cash("10", at="2026-12-01T10:00:00+08:00"), DETECTED_AT)
    decided.alerts += later.findings.alerts
    decided.tasks += later.findings.tasks
    unresolved = [a for a in decided.alerts if a.rule_id == "REMIT_INFO_UNRESOLVED"]
    assert [a.event_time.isoformat() for a in unresolved] == [
        "2026-10-17T00:00:00+08:00",
        "2026-10-20T00:00:00+08:00",
    ]
    # rated medium when the second deadline passed: the next review counts from that day
    assert state.risk["rating"] == "medium"
    assert state.risk["next_review"] == "2027-10-20"
