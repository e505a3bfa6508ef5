"""The inbox's pages: sign-in, the queue with filters, the case view and its actions, the
report record download. Every action is authorised in `CaseService.act`, not by the page."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from monitor.casework.errors import CaseNotFound, InvalidInput
from monitor.casework.measures import MEASURES
from monitor.casework.service import CaseService
from monitor.casework.web.app import page
from monitor.casework.web.auth import User, check_csrf, current_user, sign_in
from monitor.casework.web.paging import page_number, paginate
from monitor.casework.web.throttle import LoginThrottle
from monitor.casework.workflow import REASON_CODES, Case, report_kind

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter()
_ACTIONS = ("claim", "release", "note", "propose", "approve", "return", "file")
_FILTERS = ("rule", "severity", "due", "status", "branch", "assignee")

SignedIn = Annotated[User, Depends(current_user)]


def _service(request: Request) -> CaseService:
    service: CaseService = request.app.state.service
    return service


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    return page(request, "login.html", {"user": None, "error": None})


@router.post("/login", dependencies=[Depends(check_csrf)])
async def login(
    request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
) -> Response:
    users = request.app.state.users
    throttle: LoginThrottle = request.app.state.throttle
    client = request.client.host if request.client else "unknown"
    # a user name is a staff id, fine to log; what was typed for an unknown one is not logged
    known = username if username in users.by_name else "(unknown user)"
    keys = (f"user:{username}", f"client:{client}")
    wait = throttle.retry_after(*keys)
    if wait:
        logger.warning("sign-in throttled: %s from %s", known, client)
        minutes = -(-wait // 60)
        message = (
            f"Too many failed sign-ins: try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
        answer = page(request, "login.html", {"user": None, "error": message}, 429)
        answer.headers["Retry-After"] = str(wait)
        return answer
    user = users.authenticate(username, password)
    if user is None:
        throttle.failed(*keys)
        logger.info("sign-in refused: %s from %s", known, client)
        return page(
            request, "login.html", {"user": None, "error": "Unknown user or wrong password."}, 401
        )
    throttle.succeeded(keys[0])
    sign_in(request, user)
    logger.info("signed in: %s (%s)", user.name, user.role)
    return RedirectResponse("/", status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _filters(request: Request) -> dict[str, str]:
    chosen = {k: request.query_params.get(k, "") for k in _FILTERS}
    if "status" not in request.query_params:
        chosen["status"] = "active"
    return chosen


@router.get("/", response_class=HTMLResponse)
async def inbox(request: Request, user: SignedIn) -> Response:
    service = _service(request)
    chosen = _filters(request)
    everything = await service.inbox({"status": ""})
    wanted = {**chosen, "assignee": user.name if chosen["assignee"] == "me" else chosen["assignee"]}
    rows = paginate(
        await service.inbox(wanted),
        page_number(request.query_params.get("page")),
        request.app.state.page_size,
        chosen,
    )
    options = {
        "rule": sorted({r for row in everything for r in row["rules"]}),
        "branch": sorted({b for row in everything for b in row["branches"]}),
    }
    context = {
        "user": user,
        "rows": rows.rows,
        "paging": rows,
        "chosen": chosen,
        "options": options,
        "counts": _counts(everything),
    }
    name = "_rows.html" if request.headers.get("HX-Request") else "inbox.html"
    return page(request, name, context)


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    active = [r for r in rows if r["status"] not in ("filed", "closed")]
    return {
        "active": len(active),
        "overdue": sum(r["urgency"] == "overdue" for r in active),
        "due_soon": sum(r["urgency"] == "due_soon" for r in active),
    }


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_view(request: Request, case_id: str, user: SignedIn) -> Response:
    return await _case_page(request, case_id, user)


async def _case_page(
    request: Request,
    case_id: str,
    user: User,
    refusal: str | None = None,
    entered: dict[str, Any] | None = None,
) -> Response:
    """The case view; after a refused proposal, with the refusal beside the form and what
    was entered kept (status 400)."""
    service = _service(request)
    case = await service.case(case_id)
    events = await service.model.events(case_id)
    summary = next((r for r in await service.inbox({"status": ""}) if r["case_id"] == case_id), {})
    past = await service.model.past_cases(case.customer_id, case_id)
    return page(
        request,
        "case.html",
        {
            "user": user,
            "case": case,
            "summary": summary,
            "events": events,
            "past": past,
            "tasks": await service.model.tasks(case.customer_id),
            "alerts": _alerts(case),
            "reasons": REASON_CODES,
            "measures": MEASURES,
            "kind": report_kind(case),
            "refusal": refusal,
            "entered": entered or {"disposition": "report", "measures": []},
        },
        status=400 if refusal else 200,
    )


def _alerts(case: Case) -> list[dict[str, Any]]:
    return sorted(case.alerts.values(), key=lambda a: str(a.get("event_time", "")))


@router.post("/cases/{case_id}/{action}", dependencies=[Depends(check_csrf)])
async def act(request: Request, case_id: str, action: str, user: SignedIn) -> Response:
    if action not in _ACTIONS:
        raise CaseNotFound(f"no action {action!r}")
    posted = await request.form()
    form: dict[str, Any] = {k: v for k, v in posted.items() if isinstance(v, str)}
    form.pop("csrf_token", None)
    if action == "propose":
        form["measures"] = [v for v in posted.getlist("measures") if isinstance(v, str)]
    try:
        await _service(request).act(case_id, action, user.name, user.role, form)
    except InvalidInput as exc:
        if action != "propose" or request.headers.get("HX-Request"):
            raise
        if (await _service(request).case(case_id)).assignee != user.name:
            raise  # an administrator's proposal on another's claim: the page has no form
        return await _case_page(request, case_id, user, str(exc), form)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.get("/cases/{case_id}/report.json")
async def report_record(request: Request, case_id: str, user: SignedIn) -> Response:
    case = await _service(request).case(case_id)
    if case.report is None:
        raise InvalidInput(f"case {case_id} has no report record (not approved for reporting)")
    record = case.report["record"]
    return JSONResponse(
        record,
        headers={"Content-Disposition": f'attachment; filename="{record["report_id"]}.json"'},
    )
