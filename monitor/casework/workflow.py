"""The case state machine: a case is the fold of its events; `decide` turns a user's command
into the next event or refuses it (roles, ownership, four eyes)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from monitor.casework.errors import CaseConflict, Forbidden, InvalidInput
from monitor.casework.events import GENESIS, CaseEvent, EventKind, seal
from monitor.casework.measures import parse_measures

__all__ = [
    "REASON_CODES",
    "ROLES",
    "Case",
    "Role",
    "Status",
    "decide",
    "fold",
    "open_event",
    "report_kind",
]

logger = logging.getLogger(__name__)

Role = Literal["analyst", "reviewer", "administrator"]
ROLES: tuple[str, ...] = ("analyst", "reviewer", "administrator")
Status = Literal["open", "claimed", "proposed", "approved", "reported", "filed", "closed"]
#: reason codes of a `close` disposition
REASON_CODES = {
    "explained": "activity explained by the customer's profile or documents",
    "duplicate": "duplicate of another case",
    "false_positive": "rule fired on data error or misidentification",
    "reported_elsewhere": "already reported under another case",
}

_WHO: dict[str, frozenset[str]] = {
    "claim": frozenset({"analyst", "administrator"}),
    "release": frozenset({"analyst", "administrator"}),
    "note": frozenset(ROLES),
    "propose": frozenset({"analyst", "administrator"}),
    "approve": frozenset({"reviewer", "administrator"}),
    "return": frozenset({"reviewer", "administrator"}),
    "report": frozenset({"reviewer", "administrator"}),
    "file": frozenset({"reviewer", "administrator"}),
}
_KIND: dict[str, EventKind] = {
    "claim": "claimed",
    "release": "released",
    "note": "note",
    "propose": "proposed",
    "approve": "approved",
    "return": "returned",
    "report": "report_created",
    "file": "filed",
}
_FROM: dict[str, frozenset[str]] = {
    "claim": frozenset({"open"}),
    "release": frozenset({"claimed"}),
    "note": frozenset({"open", "claimed", "proposed", "approved", "reported", "filed", "closed"}),
    "propose": frozenset({"claimed"}),
    "approve": frozenset({"proposed"}),
    "return": frozenset({"proposed"}),
    "report": frozenset({"approved"}),
    "file": frozenset({"reported"}),
}
COMMANDS: tuple[str, ...] = tuple(_KIND)


@dataclass(slots=True)
class Case:
    """What the events of one case add up to."""

    case_id: str
    customer_id: str = ""
    status: Status = "open"
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    assignee: str | None = None
    proposal: dict[str, Any] | None = None
    approval: dict[str, Any] | None = None
    report: dict[str, Any] | None = None
    filing: dict[str, Any] | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    seq: int = -1
    last_hash: str = GENESIS

    @property
    def is_active(self) -> bool:
        """Not yet filed or closed: new alerts of the customer join this case."""
        return self.status not in ("filed", "closed")

    def apply(self, event: CaseEvent) -> None:
        d = event.data
        if event.kind in ("opened", "alert_added"):
            if event.kind == "opened":
                self.customer_id, self.opened_at = d["customer_id"], event.at
            for alert in d.get("alerts", []):
                self.alerts[alert["alert_id"]] = alert
        elif event.kind == "claimed":
            self.status, self.assignee = "claimed", event.user
        elif event.kind == "released":
            self.status, self.assignee = "open", None
        elif event.kind == "note":
            self.notes.append({"user": event.user, "at": event.at, "text": d.get("text", "")})
        elif event.kind == "proposed":
            self.status = "proposed"
            self.proposal = {**d, "user": event.user, "at": event.at}
        elif event.kind == "approved":
            disposition = (self.proposal or {}).get("disposition")
            self.status = "approved" if disposition == "report" else "closed"
            self.approval = {**d, "user": event.user, "at": event.at}
        elif event.kind == "returned":
            self.status = "claimed"
            self.notes.append(
                {"user": event.user, "at": event.at, "text": "Returned: " + d.get("comment", "")}
            )
            self.proposal = None
        elif event.kind == "report_created":
            self.status, self.report = "reported", {**d, "user": event.user, "at": event.at}
        elif event.kind == "filed":
            self.status, self.filing = "filed", {**d, "user": event.user, "at": event.at}
        self.seq, self.last_hash, self.updated_at = event.seq, event.hash, event.at


def report_kind(case: Case) -> str:
    """`large_value` when every alert of the case is a large-value finding, else `suspicious`."""
    categories = {a.get("category") for a in case.alerts.values()}
    return "large_value" if categories == {"large_value_report"} else "suspicious"


def fold(case_id: str, events: list[CaseEvent]) -> Case:
    case = Case(case_id)
    for event in events:
        case.apply(event)
    return case


def open_event(case_id: str, alerts: list[dict[str, Any]], user: str, at: datetime) -> CaseEvent:
    """The first event of a case grouping `alerts` (all of one customer)."""
    customers = {a["customer_id"] for a in alerts}
    if len(customers) != 1:
        raise InvalidInput("a case groups the alerts of exactly one customer")
    return seal(
        CaseEvent(
            case_id=case_id,
            seq=0,
            kind="opened",
            user=user,
            at=at,
            data={"customer_id": customers.pop(), "alerts": alerts},
            prev_hash=GENESIS,
        )
    )


def next_event(
    case: Case, kind: EventKind, user: str, at: datetime, data: dict[str, Any]
) -> CaseEvent:
    return seal(
        CaseEvent(
            case_id=case.case_id,
            seq=case.seq + 1,
            kind=kind,
            user=user,
            at=at,
            data=data,
            prev_hash=case.last_hash,
        )
    )


def _text(form: dict[str, Any], name: str, limit: int = 10_000) -> str:
    value = str(form.get(name) or "").strip()
    if not value:
        raise InvalidInput(f"{name}: required")
    if len(value) > limit:
        raise InvalidInput(f"{name}: longer than {limit} characters")
    return value


def _report(case: Case, form: dict[str, Any]) -> dict[str, Any]:
    """A `report` proposal: the narrative and the measures taken, at least one of which a
    suspicious report must state (PBoC 2016 No.3: 采取的措施)."""
    narrative = _text(form, "narrative")
    raw = form.get("measures") or []
    measures = parse_measures([raw] if isinstance(raw, str) else raw, form.get("measures_other"))
    if not measures and report_kind(case) == "suspicious":
        raise InvalidInput(
            "measures: required for a suspicious transaction report: tick the measures taken "
            "(采取的措施) or describe them"
        )
    return {"disposition": "report", "narrative": narrative, "measures": measures}


def _payload(case: Case, command: str, form: dict[str, Any]) -> dict[str, Any]:
    if command == "note":
        return {"text": _text(form, "text")}
    if command == "propose":
        disposition = form.get("disposition")
        if disposition == "report":
            return _report(case, form)
        if disposition == "close":
            code = form.get("reason_code")
            if code not in REASON_CODES:
                raise InvalidInput(f"reason_code: one of {', '.join(REASON_CODES)}")
            return {"disposition": "close", "reason_code": code, "text": _text(form, "text")}
        raise InvalidInput("disposition: 'report' or 'close'")
    if command == "return":
        return {"comment": _text(form, "comment")}
    if command == "approve":
        comment = str(form.get("comment") or "").strip()
        return {"comment": comment} if comment else {}
    if command == "file":
        filed_on = _text(form, "filed_on", 10)
        try:
            date.fromisoformat(filed_on)
        except ValueError:
            raise InvalidInput("filed_on: a date YYYY-MM-DD") from None
        return {"reference": _text(form, "reference", 200), "filed_on": filed_on}
    if command == "report":
        return dict(form)
    return {}


def decide(
    case: Case, command: str, user: str, role: str, at: datetime, form: dict[str, Any]
) -> CaseEvent:
    """The event `command` by `user` (in `role`) adds to `case`, or an exception saying why
    not: `Forbidden` (role, another's claim, four eyes), `CaseConflict` (wrong status),
    `InvalidInput` (form)."""
    if command not in _KIND:
        raise InvalidInput(f"unknown action {command!r}")
    if role not in _WHO[command]:
        raise Forbidden(f"a {role} may not {command} a case")
    if case.status not in _FROM[command]:
        raise CaseConflict(f"cannot {command} a case that is {case.status}")
    if command in ("release", "propose") and case.assignee != user and role != "administrator":
        raise Forbidden(f"the case is claimed by {case.assignee}, not by you")
    if command in ("approve", "return"):
        proposer = (case.proposal or {}).get("user")
        if proposer == user:
            raise Forbidden(
                "four eyes: a disposition must be approved or returned by someone other "
                "than its proposer"
            )
    return next_event(case, _KIND[command], user, at, _payload(case, command, form))
