"""The pure casework parts: hash chain, state machine, four eyes, deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.casework.audit import verify_records
from monitor.casework.deadlines import deadline, urgency
from monitor.casework.errors import CaseConflict, Forbidden, InvalidInput
from monitor.casework.events import CaseEvent, seal, verify_chain
from monitor.casework.log import RawRecord, encode
from monitor.casework.workflow import Case, decide, fold, open_event
from monitor.core.pack import load_pack
from tests.casework_samples import alert, large_value

T0 = datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _walk(*steps: tuple[str, str, str, dict]) -> tuple[Case, list[CaseEvent]]:
    events = [open_event("C-1", [alert(1)], "system", T0)]
    case = fold("C-1", events)
    for n, (command, user, role, form) in enumerate(steps, 1):
        events.append(decide(case, command, user, role, T0 + timedelta(minutes=n), form))
        case.apply(events[-1])
    return case, events


REPORT = {
    "disposition": "report",
    "narrative": "Structured cash deposits, no business reason.",
    "measures": ["enhanced_monitoring"],
}
TO_APPROVAL = (
    ("claim", "ana", "analyst", {}),
    ("propose", "ana", "analyst", REPORT),
)


def test_a_report_disposition_takes_effect_on_a_second_persons_approval() -> None:
    case, events = _walk(*TO_APPROVAL, ("approve", "rita", "reviewer", {}))
    assert case.status == "approved"
    assert [e.kind for e in events] == ["opened", "claimed", "proposed", "approved"]
    assert verify_chain("C-1", events) == []


def test_the_proposer_cannot_approve_even_as_administrator() -> None:
    case, _ = _walk(
        ("claim", "ada", "administrator", {}), ("propose", "ada", "administrator", REPORT)
    )
    with pytest.raises(Forbidden, match="four eyes"):
        decide(case, "approve", "ada", "administrator", T0, {})
    with pytest.raises(Forbidden, match="four eyes"):
        decide(case, "return", "ada", "administrator", T0, {"comment": "x"})


@pytest.mark.parametrize(
    ("command", "role"),
    [("approve", "analyst"), ("claim", "reviewer"), ("propose", "reviewer"), ("file", "analyst")],
)
def test_roles_limit_actions(command: str, role: str) -> None:
    case, _ = _walk()
    with pytest.raises(Forbidden):
        decide(case, command, "someone", role, T0, {})


def test_only_the_assignee_proposes_and_status_is_checked() -> None:
    case, _ = _walk(("claim", "ana", "analyst", {}))
    with pytest.raises(Forbidden, match="claimed by ana"):
        decide(case, "propose", "bob", "analyst", T0, REPORT)
    with pytest.raises(CaseConflict):
        decide(case, "claim", "bob", "analyst", T0, {})


@pytest.mark.parametrize(
    "form",
    [{}, {"disposition": "report"}, {"disposition": "close", "reason_code": "nope", "text": "x"}],
)
def test_incomplete_proposals_are_refused(form: dict) -> None:
    case, _ = _walk(("claim", "ana", "analyst", {}))
    with pytest.raises(InvalidInput):
        decide(case, "propose", "ana", "analyst", T0, form)


def test_a_report_record_then_the_filing_end_the_case() -> None:
    case, _ = _walk(
        *TO_APPROVAL,
        ("approve", "rita", "reviewer", {}),
        ("report", "rita", "reviewer", {"report_id": "R-1", "record": {}}),
    )
    assert case.status == "reported" and case.is_active
    with pytest.raises(InvalidInput, match="reference"):
        decide(case, "file", "rita", "reviewer", T0, {"filed_on": "2026-03-09"})
    filing = {"reference": "PBOC-2026-000123", "filed_on": "2026-03-09"}
    case.apply(decide(case, "file", "rita", "reviewer", T0, filing))
    assert case.status == "filed" and not case.is_active
    assert case.filing is not None and case.filing["reference"] == "PBOC-2026-000123"


def test_returned_goes_back_to_the_analyst_and_close_ends_the_case() -> None:
    case, _ = _walk(*TO_APPROVAL, ("return", "rita", "reviewer", {"comment": "more detail"}))
    assert (case.status, case.assignee, case.proposal) == ("claimed", "ana", None)
    close = {"disposition": "close", "reason_code": "explained", "text": "payroll"}
    case = _walk(
        ("claim", "ana", "analyst", {}),
        ("propose", "ana", "analyst", close),
        ("approve", "rita", "reviewer", {}),
    )[0]
    assert case.status == "closed" and not case.is_active


def test_an_altered_event_breaks_its_chain() -> None:
    _, events = _walk(*TO_APPROVAL, ("approve", "rita", "reviewer", {}))
    forged = events[2].model_copy(update={"data": {**events[2].data, "narrative": "nothing"}})
    assert [b.seq for b in verify_chain("C-1", [*events[:2], forged, events[3]])] == [2]
    resealed = seal(forged)  # a forger who recomputes the hash breaks the next link
    problems = verify_chain("C-1", [*events[:2], resealed, events[3]])
    assert [(b.seq, "prev_hash" in b.problem) for b in problems] == [(3, True)]


def test_a_removed_event_and_a_garbled_record_name_their_case() -> None:
    _, events = _walk(*TO_APPROVAL)
    records = [RawRecord("C-1", encode(e)) for e in events]
    assert verify_records(records).intact
    result = verify_records([records[0], records[2]])
    assert {b.case_id for b in result.breaks} == {"C-1"} and not result.intact
    result = verify_records([*records, RawRecord("C-9", b"{not json")])
    assert [b.case_id for b in result.breaks] == ["C-9"]


def test_suspicious_report_due_five_prc_working_days_after_approval() -> None:
    pack = load_pack()
    events = [open_event("C-1", [alert(1)], "system", T0)]
    case = fold("C-1", events)
    assert deadline(case, pack.calendar, SHANGHAI).due is None  # nothing confirmed yet
    # approved on Thursday 30 April 2026 (Shanghai): 1-5 May is the Labour Day holiday,
    # Saturday 9 May a make-up working day
    approved_at = datetime(2026, 4, 30, 3, 0, tzinfo=UTC)
    for command, user, role, form in (*TO_APPROVAL, ("approve", "rita", "reviewer", {})):
        case.apply(decide(case, command, user, role, approved_at, form))
    due = deadline(case, pack.calendar, SHANGHAI)
    assert due.due == pack.calendar.add_working_days(date(2026, 4, 30), 5)
    assert due.due > date(2026, 5, 7)


def test_large_value_due_is_the_alerts_report_due_and_urgency_counts_days() -> None:
    pack = load_pack()
    case = fold("C-2", [open_event("C-2", [large_value(2, due="2026-03-09")], "system", T0)])
    assert deadline(case, pack.calendar, SHANGHAI).due == date(2026, 3, 9)
    assert urgency(date(2026, 3, 9), date(2026, 3, 10)) == "overdue"
    assert urgency(date(2026, 3, 9), date(2026, 3, 8)) == "due_soon"
    assert urgency(date(2026, 3, 9), date(2026, 3, 5)) == "on_time"
    assert urgency(None, date(2026, 3, 5)) == "none"
