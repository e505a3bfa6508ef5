"""REMIT_INFO_UNRESOLVED is a suspicious-behaviour matter: information still missing after
the request to the remitting institution (customer identification rules, 可疑行为报告:
对向境内汇入资金的境外机构提出要求后, 仍无法完整获得汇款人姓名或者名称、汇款人账号和汇款人住所)
is reported as suspicious, and the report is due counted from the day the deadline passed
(the day the suspicion arises), never from the payment's day."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from monitor.core.rules.remittance import RemitUnresolvedConfig

from .conftest import SHANGHAI, cash, make_engine, make_pack, remittance, run

RULE = "REMIT_INFO_UNRESOLVED"


def incomplete(at: str, direction: str = "out"):
    return remittance(
        "20000.00", txn_id="RMT-U-1", at=at, direction=direction, originator={"address": ""}
    )


def test_the_default_category_is_suspicious():
    assert RemitUnresolvedConfig().category == "suspicious"
    assert make_pack().config.rules.REMIT_INFO_UNRESOLVED.category == "suspicious"


@pytest.mark.parametrize(
    ("paid", "passed", "deadline", "due"),
    [
        # Mon 28 Sep: 10 PRC working days -> Fri 16 Oct; passes at Sat 17 Oct 00:00;
        # 5 working days from Sat 17 Oct: Mon 19 .. Fri 23 Oct
        ("2026-09-28T10:00:00+08:00", "2026-10-17T08:00:00+08:00", "2026-10-17", "2026-10-23"),
        # Mon 2 Mar -> Mon 16 Mar; passes at Tue 17 Mar; Wed 18 .. Tue 24 Mar
        ("2026-03-02T10:00:00+08:00", "2026-03-20T09:00:00+08:00", "2026-03-17", "2026-03-24"),
    ],
)
@pytest.mark.parametrize("direction", ["in", "out"])
def test_report_due_counts_from_the_day_the_deadline_passed(
    engine, paid, passed, deadline, due, direction
):
    result = run(engine, [incomplete(paid, direction), cash("10", at=passed)])
    (alert,) = result.by_rule(RULE)
    assert alert.category == "suspicious"
    assert alert.queue == "suspicious"
    assert alert.event_time == datetime.fromisoformat(f"{deadline}T00:00:00+08:00")
    assert alert.event_time.tzinfo is not None
    assert alert.report_due == date.fromisoformat(due)
    assert alert.report_due > alert.event_time.astimezone(SHANGHAI).date()
    (missing,) = result.by_rule("REMIT_MISSING_INFO")
    assert missing.report_due is not None and alert.report_due > missing.report_due


def test_the_event_time_is_the_deadline_whatever_event_decides_it(engine):
    """A late decision (the next event weeks later) changes neither event_time nor the due
    date: both follow from the deadline, so live and replay agree."""
    soon = run(
        engine,
        [incomplete("2026-09-28T10:00:00+08:00"), cash("10", at="2026-10-17T00:00:01+08:00")],
    )
    late = run(
        make_engine(),
        [incomplete("2026-09-28T10:00:00+08:00"), cash("10", at="2026-12-01T10:00:00+08:00")],
    )
    (a,), (b,) = soon.by_rule(RULE), late.by_rule(RULE)
    assert (a.alert_id, a.event_time, a.report_due) == (b.alert_id, b.event_time, b.report_due)


def test_the_grace_period_delays_the_decision_not_the_deadline():
    engine = make_engine({"deadline_grace_hours": 6})
    result = run(
        engine,
        [incomplete("2026-09-28T10:00:00+08:00"), cash("10", at="2026-10-17T06:00:01+08:00")],
    )
    (alert,) = result.by_rule(RULE)
    assert alert.event_time == datetime(2026, 10, 17, tzinfo=SHANGHAI)
    assert alert.report_due == date(2026, 10, 23)


def test_a_pack_may_still_choose_another_category():
    engine = make_engine({"rules.REMIT_INFO_UNRESOLVED.category": "due_diligence"})
    result = run(
        engine,
        [incomplete("2026-09-28T10:00:00+08:00"), cash("10", at="2026-10-17T00:00:01+08:00")],
    )
    (alert,) = result.by_rule(RULE)
    assert alert.category == "due_diligence"
