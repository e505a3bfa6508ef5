"""The casework service: opens cases from alerts, records each decision on the case topic
first and then in the read model, and rebuilds the read model from the topic when Redis
lost it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from monitor.casework.deadlines import urgency
from monitor.casework.errors import CaseNotFound
from monitor.casework.events import CaseEvent
from monitor.casework.log import CaseLog, decode_events
from monitor.casework.metrics import CaseMetrics
from monitor.casework.readmodel import RedisReadModel
from monitor.casework.records import build_report_record
from monitor.casework.workflow import Case, decide, next_event, open_event

__all__ = ["SYSTEM_USER", "CaseService", "case_id_for"]

logger = logging.getLogger(__name__)

#: the `user` of events the service writes on its own (cases opened from alerts)
SYSTEM_USER = "system"


def case_id_for(alert_id: str) -> str:
    """A case's id, from the id of the alert that opened it (no customer data in it)."""
    return "C-" + hashlib.sha256(alert_id.encode()).hexdigest()[:10].upper()


class CaseService:
    """One per inbox process: decisions are serialised by a lock, written to the log (the
    record) and then to the read model (the inbox's view of it)."""

    def __init__(
        self,
        log: CaseLog,
        model: RedisReadModel,
        metrics: CaseMetrics | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.log, self.model, self.metrics, self.clock = log, model, metrics, clock
        self._lock = asyncio.Lock()

    def today(self) -> date:
        return self.clock().astimezone(self.model.tz).date()

    async def rebuild(self) -> int:
        """Fold the whole topic into the read model (at start, and when Redis lost it)."""
        events = [e for _, e in decode_events(await self.log.read_raw()) if e is not None]
        return await self.model.rebuild(events)

    async def ensure_ready(self) -> None:
        if not await self.model.is_ready():
            async with self._lock:
                if not await self.model.is_ready():
                    logger.warning("case read model missing: rebuilding from the case topic")
                    await self.rebuild()

    async def _record(self, event: CaseEvent) -> Case:
        await self.log.append(event)
        case = await self.model.apply(event)
        if self.metrics is not None:
            self.metrics.events_total.labels(kind=event.kind).inc()
        return case

    async def add_alert(self, alert: dict[str, Any]) -> str:
        """Open a case for the alert, add it to its customer's open case, or (same id, same
        content) do nothing. Returns the case id."""
        await self.ensure_ready()
        async with self._lock:
            known = await self.model.case_of_alert(alert["alert_id"])
            if known is not None:
                case = await self.model.case(known)
                if case is None or case.alerts.get(alert["alert_id"]) == alert:
                    return known
                if case.is_active:  # a grown finding: keep the latest version
                    await self._record(
                        next_event(
                            case, "alert_added", SYSTEM_USER, self.clock(), {"alerts": [alert]}
                        )
                    )
                    return known
            active = await self.model.active_case(alert["customer_id"])
            if active is not None:
                case = await self.model.case(active)
                assert case is not None
                await self._record(
                    next_event(case, "alert_added", SYSTEM_USER, self.clock(), {"alerts": [alert]})
                )
                return active
            case_id, n = case_id_for(alert["alert_id"]), 0
            while await self.model.case(case_id) is not None:  # a grown finding, case closed
                n += 1
                case_id = case_id_for(f"{alert['alert_id']}#{n}")
            await self._record(open_event(case_id, [alert], SYSTEM_USER, self.clock()))
            return case_id

    async def case(self, case_id: str) -> Case:
        await self.ensure_ready()
        case = await self.model.case(case_id)
        if case is None:
            raise CaseNotFound(f"no case {case_id}")
        return case

    async def act(
        self, case_id: str, command: str, user: str, role: str, form: dict[str, Any]
    ) -> Case:
        """Carry out `command` by `user`; refusals raise (nothing is written then). An
        approved `report` disposition creates its report record at once."""
        await self.ensure_ready()
        async with self._lock:
            case = await self.model.case(case_id)
            if case is None:
                raise CaseNotFound(f"no case {case_id}")
            try:
                event = decide(case, command, user, role, self.clock(), form)
            except Exception:
                if self.metrics is not None:
                    self.metrics.refusals_total.labels(action=command).inc()
                raise
            case = await self._record(event)
            if event.kind == "approved" and case.status == "approved":
                record = build_report_record(case, self.clock())
                await self.log.publish_report(case_id, record)
                event = next_event(
                    case,
                    "report_created",
                    user,
                    self.clock(),
                    {"report_id": record["report_id"], "record": record},
                )
                case = await self._record(event)
            logger.info("case %s: %s by %s", case_id, event.kind, user)
            return case

    async def inbox(self, filters: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Summaries matching `filters` (rule, severity, status, branch, due: overdue |
        due_soon | on_time, assignee: a user or `none`), each with its `urgency` today; the
        most urgent first."""
        await self.ensure_ready()
        filters = {k: v for k, v in (filters or {}).items() if v}
        today = self.today()
        rows = []
        for row in await self.model.summaries():
            due = date.fromisoformat(row["due"]) if row["due"] else None
            row["urgency"] = urgency(due, today)
            if _matches(row, filters):
                rows.append(row)
        order = {"overdue": 0, "due_soon": 1, "on_time": 2, "none": 3}
        rows.sort(key=lambda r: (order[r["urgency"]], r["due"] or "9999", r["case_id"]))
        return rows

    async def refresh_gauges(self) -> None:
        if self.metrics is None:
            return
        self.metrics.observe_inbox(await self.inbox())


def _matches(row: dict[str, Any], filters: dict[str, str]) -> bool:
    if "rule" in filters and filters["rule"] not in row["rules"]:
        return False
    if "severity" in filters and filters["severity"] != row["severity"]:
        return False
    if "status" in filters:
        wanted = filters["status"]
        if wanted == "active":
            if row["status"] in ("filed", "closed"):
                return False
        elif wanted != row["status"]:
            return False
    if "branch" in filters and filters["branch"] not in row["branches"]:
        return False
    if "assignee" in filters:
        assignee = None if filters["assignee"] == "none" else filters["assignee"]
        if row["assignee"] != assignee:
            return False
    return not ("due" in filters and filters["due"] != row["urgency"])
