"""The analyst inbox as a FastAPI application: sessions, error pages, static files, metrics,
and the routers of `monitor.casework.web.routes`."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.middleware.sessions import SessionMiddleware

from monitor.casework.errors import CaseworkError
from monitor.casework.service import CaseService
from monitor.casework.web.auth import NotSignedIn, User, Users, csrf_token, current_user
from monitor.casework.web.paging import PAGE_SIZE
from monitor.casework.web.throttle import LoginThrottle

__all__ = ["HTMX", "create_app", "templates"]

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent
#: the pinned htmx shipped in static/ (no frontend build step)
HTMX = "htmx-2.0.4.min.js"
templates = Jinja2Templates(directory=str(_HERE / "templates"))  # autoescape on for .html


def _local(value: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in the zone set by `create_app` (the rule pack's), with its UTC offset."""
    local = value.astimezone(templates.env.globals.get("zone"))  # type: ignore[arg-type]
    return f"{local.strftime(fmt)} {local.isoformat()[-6:]}"


templates.env.filters["local"] = _local


def create_app(
    service: CaseService,
    users: Users,
    registry: CollectorRegistry | None = None,
    *,
    secret_key: str | None = None,
    session_seconds: int = 8 * 3600,
    https_only: bool = False,
    start_log: bool = True,
    page_size: int = PAGE_SIZE,
    throttle: LoginThrottle | None = None,
) -> FastAPI:
    """The inbox on `service`. The session cookie is signed with `secret_key` (random per
    process when not given: sign-ins then end with a restart) and expires after
    `session_seconds`. The queue shows `page_size` cases a page; `throttle` (default: 5
    failures in 15 minutes) refuses sign-ins after repeated failures."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_log:
            await service.log.start()
        await service.rebuild()
        try:
            yield
        finally:
            if start_log:
                await service.log.stop()

    app = FastAPI(title="AML inbox", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.service, app.state.users = service, users
    app.state.session_seconds = session_seconds
    app.state.registry = registry
    app.state.page_size = page_size
    app.state.throttle = throttle or LoginThrottle()
    templates.env.globals["zone"] = service.model.tz
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key or secrets.token_urlsafe(32),
        session_cookie="aml_inbox",
        max_age=session_seconds,
        same_site="strict",
        https_only=https_only,
    )
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")

    @app.exception_handler(CaseworkError)
    async def _refused(request: Request, exc: CaseworkError) -> Response:
        if isinstance(exc, NotSignedIn) and request.method == "GET":
            return RedirectResponse("/login", status_code=303)
        logger.info("refused %s %s: %s", request.method, request.url.path, type(exc).__name__)
        return templates.TemplateResponse(
            request,
            "error.html",
            {
                "message": str(exc),
                "status": exc.status,
                "user": _signed_in(request),
                "case_id": _case_in(request.url.path),
                "csrf": csrf_token(request),
                "htmx": HTMX,
            },
            status_code=exc.status,
        )

    @app.get("/healthz")
    async def _health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def _metrics() -> Response:
        if registry is None:
            return Response(status_code=404)
        await service.refresh_gauges()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    from monitor.casework.web.routes import router

    app.include_router(router)
    return app


def _case_in(path: str) -> str | None:
    found = re.match(r"^/cases/(C-[0-9A-F]+)(/|$)", path)
    return found.group(1) if found else None


def _signed_in(request: Request) -> User | None:
    try:
        return current_user(request)
    except CaseworkError:
        return None


def page(
    request: Request, name: str, context: dict[str, object], status: int = 200
) -> HTMLResponse:
    """Render a template with the common context (user, CSRF token, htmx file)."""
    return templates.TemplateResponse(
        request, name, {"csrf": csrf_token(request), "htmx": HTMX, **context}, status_code=status
    )
