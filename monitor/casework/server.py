"""Assemble the inbox from the settings: Kafka case log, Redis read model, the alert intake
and the web application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from monitor.casework.log import KafkaCaseLog
from monitor.casework.metrics import CaseMetrics
from monitor.casework.readmodel import RedisReadModel
from monitor.casework.service import CaseService
from monitor.casework.web.app import create_app
from monitor.casework.web.auth import load_users
from monitor.io.settings import Settings

__all__ = ["build_inbox"]

logger = logging.getLogger(__name__)


def build_inbox(
    users_file: Path,
    proxy_header: str | None = None,
    session_seconds: int = 8 * 3600,
    https_only: bool = False,
    secret_key: str | None = None,
    settings: Settings | None = None,
    idempotent: bool = True,
) -> FastAPI:
    """The inbox on the settings' (default: `MONITOR_*`) Kafka and Redis, consuming
    `aml.alerts`."""
    from monitor.casework.settings import load_casework_settings
    from monitor.core.pack import load_pack
    from monitor.io.settings import load_settings

    settings = settings or load_settings()
    own = load_casework_settings()
    if secret_key is None and own.inbox_secret is not None:
        secret_key = own.inbox_secret.get_secret_value()
    pack = load_pack(settings.rules)
    users = load_users(users_file, proxy_header)
    client = aioredis.Redis.from_url(settings.redis_url.get_secret_value())
    registry = CollectorRegistry()
    service = CaseService(
        KafkaCaseLog(settings, own.topic_case_events, own.topic_reports, idempotent=idempotent),
        RedisReadModel(client, pack.calendar, pack.tz),
        CaseMetrics.create(registry),
    )
    app = create_app(
        service,
        users,
        registry,
        secret_key=secret_key,
        session_seconds=session_seconds,
        https_only=https_only,
    )
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def with_intake(app: FastAPI) -> AsyncIterator[None]:
        from monitor.casework.intake import consume_alerts

        async with inner(app):
            task = asyncio.create_task(consume_alerts(settings, service, own.inbox_group))
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                await client.aclose()  # type: ignore[attr-defined]

    app.router.lifespan_context = with_intake
    return app
