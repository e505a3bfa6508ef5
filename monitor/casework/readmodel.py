"""The inbox's read model in Redis: each case's events and a summary per case, rebuilt from
`aml.case-events` whenever it is missing. Redis is a cache here; the topic is the record."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

import orjson
import redis.asyncio as aioredis

from monitor.casework.deadlines import deadline
from monitor.casework.events import CaseEvent
from monitor.casework.log import encode
from monitor.casework.workflow import Case, fold
from monitor.core.calendar import WorkingDayCalendar

__all__ = ["RedisReadModel", "summarise"]

logger = logging.getLogger(__name__)

_SEVERITY = {"low": 0, "medium": 1, "high": 2}


def summarise(case: Case, calendar: WorkingDayCalendar, tz: tzinfo) -> dict[str, Any]:
    """The inbox row of a case (JSON-ready)."""
    alerts = list(case.alerts.values())
    severity = max((a.get("severity", "low") for a in alerts), key=lambda s: _SEVERITY.get(s, 0))
    due = deadline(case, calendar, tz)
    return {
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "status": case.status,
        "assignee": case.assignee,
        "rules": sorted({a.get("rule_id", "?") for a in alerts}),
        "categories": sorted({a.get("category", "?") for a in alerts}),
        "branches": sorted({a["branch_code"] for a in alerts if a.get("branch_code")}),
        "severity": severity if alerts else "low",
        "alerts": len(alerts),
        "due": due.due.isoformat() if due.due else None,
        "due_basis": due.basis,
        "proposed_by": (case.proposal or {}).get("user"),
        "measures": [
            str(m.get("code"))
            for m in (case.proposal or {}).get("measures") or []
            if isinstance(m, dict)
        ],
        "opened_at": case.opened_at.isoformat() if case.opened_at else None,
        "updated_at": case.updated_at.isoformat() if case.updated_at else None,
    }


@dataclass
class RedisReadModel:
    """Keys under `prefix`: `events:<case>` (list of event JSON), `cases` (case id -> summary
    JSON), `alerts` (alert id -> case id), `active` (customer id -> open case id), `ready`
    (set once the model holds the whole topic); `tasks:<customer>` (re-identification
    tasks from `aml.reid-tasks`, with the customer's risk rating)."""

    client: aioredis.Redis
    calendar: WorkingDayCalendar
    tz: tzinfo
    prefix: str = "aml:casework:"

    def _k(self, name: str) -> str:
        return self.prefix + name

    async def is_ready(self) -> bool:
        return bool(await self.client.exists(self._k("ready")))

    async def events(self, case_id: str) -> list[CaseEvent]:
        rows = await self.client.lrange(self._k(f"events:{case_id}"), 0, -1)
        return [CaseEvent.model_validate(orjson.loads(r)) for r in rows]

    async def case(self, case_id: str) -> Case | None:
        events = await self.events(case_id)
        return fold(case_id, events) if events else None

    async def summaries(self) -> list[dict[str, Any]]:
        rows = await self.client.hgetall(self._k("cases"))
        return [orjson.loads(v) for v in rows.values()]

    async def case_of_alert(self, alert_id: str) -> str | None:
        found = await self.client.hget(self._k("alerts"), alert_id)
        return found.decode() if isinstance(found, bytes) else found

    async def active_case(self, customer_id: str) -> str | None:
        found = await self.client.hget(self._k("active"), customer_id)
        return found.decode() if isinstance(found, bytes) else found

    async def past_cases(self, customer_id: str, exclude: str) -> list[dict[str, Any]]:
        return [
            s
            for s in await self.summaries()
            if s["customer_id"] == customer_id and s["case_id"] != exclude
        ]

    async def add_task(self, task: dict[str, Any]) -> None:
        """Keep a customer's re-identification tasks (latest 20) and risk rating; not part
        of the case record, so not rebuilt from the case topic."""
        key = self._k(f"tasks:{task['customer_id']}")
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(key, task["task_id"], orjson.dumps(task))
        await pipe.execute()
        if await self.client.hlen(key) > 20:
            rows = await self.client.hgetall(key)
            oldest = sorted(rows, key=lambda k: orjson.loads(rows[k]).get("due_by") or "")
            await self.client.hdel(key, *oldest[: len(rows) - 20])

    async def tasks(self, customer_id: str) -> list[dict[str, Any]]:
        rows = await self.client.hgetall(self._k(f"tasks:{customer_id}"))
        tasks = [orjson.loads(v) for v in rows.values()]
        return sorted(tasks, key=lambda t: t.get("due_by") or "", reverse=True)

    async def apply(self, event: CaseEvent) -> Case:
        """Add one event (already on the topic) and refresh the case's summary."""
        await self.client.rpush(self._k(f"events:{event.case_id}"), encode(event))
        case = await self.case(event.case_id)
        assert case is not None
        await self._index(case)
        return case

    async def _index(self, case: Case) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(
            self._k("cases"), case.case_id, orjson.dumps(summarise(case, self.calendar, self.tz))
        )
        for alert_id in case.alerts:
            pipe.hset(self._k("alerts"), alert_id, case.case_id)
        if case.is_active:
            pipe.hset(self._k("active"), case.customer_id, case.case_id)
        else:
            pipe.hdel(self._k("active"), case.customer_id)
        await pipe.execute()

    async def rebuild(self, events: list[CaseEvent]) -> int:
        """Replace the model with the fold of `events` (the topic in log order); returns the
        number of cases."""
        tasks = self._k("tasks:").encode()
        keys = [
            k
            async for k in self.client.scan_iter(match=self.prefix + "*")
            if not (k if isinstance(k, bytes) else k.encode()).startswith(tasks)
        ]
        if keys:
            await self.client.delete(*keys)
        by_case: dict[str, list[CaseEvent]] = {}
        for event in events:
            by_case.setdefault(event.case_id, []).append(event)
        for case_id, case_events in by_case.items():
            await self.client.rpush(self._k(f"events:{case_id}"), *[encode(e) for e in case_events])
            await self._index(fold(case_id, case_events))
        await self.client.set(self._k("ready"), str(len(events)))
        logger.info("read model rebuilt: %s events, %s cases", len(events), len(by_case))
        return len(by_case)
