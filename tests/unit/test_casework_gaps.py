"""Measures taken on a proposal, inbox pages and sign-in throttling (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.casework.errors import InvalidInput
from monitor.casework.measures import MEASURES, measure_texts, parse_measures
from monitor.casework.readmodel import summarise
from monitor.casework.reports import build_record
from monitor.casework.settings import CaseworkSettings
from monitor.casework.web.paging import page_number, paginate
from monitor.casework.web.throttle import LoginThrottle
from monitor.casework.workflow import Case, decide, fold, open_event
from monitor.core.pack import load_pack
from tests.casework_samples import alert, large_value

T0 = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
NARRATIVE = "Four cash deposits just under the threshold in six days."


def _claimed(*alerts: dict) -> Case:
    case = fold("C-1", [open_event("C-1", list(alerts) or [alert(1)], "system", T0)])
    case.apply(decide(case, "claim", "ana", "analyst", T0, {}))
    return case


def _propose(case: Case, **form: object) -> Case:
    base = {"disposition": "report", "narrative": NARRATIVE}
    case.apply(decide(case, "propose", "ana", "analyst", T0, base | form))
    return case


# --- measures taken ------------------------------------------------------------------------


def test_a_suspicious_report_without_measures_is_refused_naming_the_field() -> None:
    case = _claimed()
    for form in ({}, {"measures": []}, {"measures": [], "measures_other": "   "}):
        with pytest.raises(InvalidInput, match=r"^measures: required"):
            report = {"disposition": "report", "narrative": NARRATIVE}
            decide(case, "propose", "ana", "analyst", T0, report | form)
    with pytest.raises(InvalidInput, match="measures: unknown measure 'freeze_all'"):
        _propose(case, measures=["freeze_all"])
    assert case.status == "claimed"


def test_measures_are_carried_on_the_event_the_case_and_its_summary() -> None:
    case = _claimed()
    event = decide(
        case,
        "propose",
        "ana",
        "analyst",
        T0,
        {
            "disposition": "report",
            "narrative": NARRATIVE,
            "measures": ["reported_to_police", "enhanced_monitoring"],
            "measures_other": "来源证明已索取 (source of funds requested)",
        },
    )
    # catalogue order, free text last; each with the wording shown on the form
    assert event.data["measures"] == [
        {"code": "enhanced_monitoring", "text": "加强持续监测 (enhanced ongoing monitoring)"},
        {"code": "reported_to_police", "text": "报告公安机关 (reported to the police)"},
        {"code": "other", "text": "来源证明已索取 (source of funds requested)"},
    ]
    case.apply(event)
    assert case.proposal is not None and case.proposal["measures"] == event.data["measures"]
    pack = load_pack()
    row = summarise(case, pack.calendar, pack.tz)
    assert row["measures"] == ["enhanced_monitoring", "reported_to_police", "other"]


def test_free_text_alone_is_a_measure_and_a_large_value_report_needs_none() -> None:
    only_text = _propose(_claimed(), measures_other="账户已冻结 (account frozen by court order)")
    assert only_text.proposal is not None
    assert [m["code"] for m in only_text.proposal["measures"]] == ["other"]
    lvr = _propose(_claimed(large_value(2, "CUST-0001")))
    assert lvr.status == "proposed" and lvr.proposal is not None
    assert lvr.proposal["measures"] == []


def test_the_report_record_lists_the_measures_taken() -> None:
    case = _propose(_claimed(), measures=["customer_reidentified", "relationship_ended"])
    case.apply(decide(case, "approve", "rita", "reviewer", T0, {}))
    record = build_record(case, T0, CaseworkSettings(report_format="pboc"))
    assert record["suspicion"]["measures_taken"] == [
        "重新识别客户身份 (customer re-identified)",
        "终止业务关系 (business relationship ended)",
    ]
    assert "suspicion.measures_taken" not in record["missing_elements"]


def test_the_catalogue_and_texts() -> None:
    assert set(MEASURES) == {
        "enhanced_monitoring",
        "customer_reidentified",
        "transactions_restricted",
        "business_refused",
        "relationship_ended",
        "reported_to_police",
    }
    assert all(m.zh and m.en for m in MEASURES.values())
    assert parse_measures(["", "business_refused"], None) == [
        {"code": "business_refused", "text": "拒绝办理业务 (business refused)"}
    ]
    with pytest.raises(InvalidInput, match="measures_other: longer than"):
        parse_measures([], "x" * 2001)
    assert measure_texts([{"code": "other", "text": "a"}, "plain", {"code": "x"}]) == [
        "a",
        "plain",
    ]


# --- paging --------------------------------------------------------------------------------


def test_pages_keep_the_filters_and_clamp_past_the_end() -> None:
    rows = [{"case_id": f"C-{n:03d}"} for n in range(120)]
    filters = {"rule": "STRUCTURING", "severity": "", "status": "active"}
    first = paginate(rows, 1, 50, filters)
    assert (first.number, first.pages, first.total, first.first, first.last) == (1, 3, 120, 1, 50)
    assert first.previous_url is None
    assert first.next_url == "/?rule=STRUCTURING&status=active&page=2"
    last = paginate(rows, 9, 50, filters)
    assert last.number == 3 and [r["case_id"] for r in last.rows][0] == "C-100"
    assert (last.first, last.last, last.next_url) == (101, 120, None)
    assert last.previous_url == "/?rule=STRUCTURING&status=active&page=2"
    assert paginate(rows, 2, 50, {"status": ""}).url(1) == "/?status="  # "all" stays all
    empty = paginate([], 1, 50, {})
    assert (empty.pages, empty.first, empty.last, empty.next_url) == (1, 0, 0, None)


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5", "9999999999"])
def test_a_bad_page_number_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput, match="page: a whole number from 1"):
        page_number(raw)
    assert page_number(None) == page_number("") == 1 and page_number("3") == 3


# --- sign-in throttling --------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_the_user_for_the_rest_of_the_window() -> None:
    clock = _Clock()
    throttle = LoginThrottle(max_failures=5, window_seconds=900, clock=clock)
    for _ in range(4):
        throttle.failed("user:ana", "client:10.0.0.1")
        clock.now += 60
    assert throttle.retry_after("user:ana", "client:10.0.0.1") == 0
    throttle.failed("user:ana", "client:10.0.0.1")  # the fifth, at t=1240
    assert throttle.retry_after("user:ana") == 900 - 240
    assert throttle.retry_after("client:10.0.0.1") == 900 - 240
    assert throttle.retry_after("user:rita", "client:10.0.0.2") == 0
    clock.now = 1000.0 + 900  # the first failure leaves the window
    assert throttle.retry_after("user:ana") == 0
    throttle.failed("user:ana")  # five in the window again
    assert throttle.retry_after("user:ana") == 60


def test_success_clears_the_user_not_the_client_and_keys_are_bounded() -> None:
    clock = _Clock()
    throttle = LoginThrottle(max_failures=2, window_seconds=60, clock=clock, max_keys=3)
    throttle.failed("user:ana", "client:x")
    throttle.succeeded("user:ana")
    throttle.failed("user:bob", "client:x")
    assert throttle.retry_after("user:ana") == 0 and throttle.retry_after("client:x") == 60
    for n in range(5):
        throttle.failed(f"user:u{n}")
    assert len(throttle._failures) <= 3  # noqa: SLF001 - the bound itself is the subject


def test_minutes_pass_in_a_fake_clock() -> None:
    clock = _Clock()
    throttle = LoginThrottle(clock=clock)
    for _ in range(5):
        throttle.failed("client:a")
    clock.now += timedelta(minutes=14).total_seconds()
    assert throttle.retry_after("client:a") == 60
