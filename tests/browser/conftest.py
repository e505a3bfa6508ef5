"""The inbox served by uvicorn in a thread (in-memory case log, real redis-server) and a
real Chromium (Debian's /usr/bin/chromium) driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import uvicorn

from monitor.casework.log import MemoryCaseLog
from monitor.casework.readmodel import RedisReadModel
from monitor.casework.service import CaseService
from monitor.casework.web.app import create_app
from monitor.casework.web.auth import hash_password, load_users
from monitor.core.pack import load_pack
from monitor.io.devservers import RedisServer, free_port
from tests.casework_samples import alert, large_value, reid_task

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: the inbox's "now": Friday 6 March 2026, 10:00 in Shanghai
NOW = datetime(2026, 3, 6, 2, 0, tzinfo=UTC)
PASSWORDS = {"analyst": "an-pass-1", "reviewer": "rv-pass-2", "admin": "ad-pass-3"}
ROLES = {"analyst": "analyst", "reviewer": "reviewer", "admin": "administrator"}


@pytest.fixture(scope="session")
def browser_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Inbox:
    url: str
    log: MemoryCaseLog
    case_ids: dict[str, str]  # label -> case id


def _service(log: MemoryCaseLog, url: str, prefix: str) -> CaseService:
    pack = load_pack()
    model = RedisReadModel(aioredis.Redis.from_url(url), pack.calendar, pack.tz, prefix=prefix)
    return CaseService(log, model, clock=lambda: NOW)


async def _seed(log: MemoryCaseLog, url: str, prefix: str) -> dict[str, str]:
    service = _service(log, url, prefix)
    await service.rebuild()
    ids = {
        "structuring": await service.add_alert(alert(1, "CUST-0001")),
        "large_overdue": await service.add_alert(large_value(2, "CUST-0002", due="2026-03-05")),
        "large_soon": await service.add_alert(large_value(3, "CUST-0003", due="2026-03-06")),
        "structuring_2": await service.add_alert(
            alert(4, "CUST-0004", summary="<script>alert('x')</script> 3 deposits under threshold")
        ),
    }
    await service.model.add_task(reid_task("CUST-0001"))
    await service.model.client.aclose()
    return ids


def _in_thread(coro):
    """Run a coroutine to completion in its own thread (Playwright's sync API keeps an event
    loop running in this one)."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(asyncio.run(coro)))
    thread.start()
    thread.join(30)
    return out[0]


@pytest.fixture
def inbox(
    browser_redis: RedisServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Inbox]:
    """The inbox on the seeded cases; `create_app` options by indirect parametrisation."""
    users = tmp_path / "users.yaml"
    users.write_text(
        "users:\n"
        + "".join(
            f"  - {{name: {name}, role: {ROLES[name]}, password_hash: '{hash_password(pw)}'}}\n"
            for name, pw in PASSWORDS.items()
        )
    )
    log, prefix = MemoryCaseLog(), f"test:{uuid.uuid4().hex[:8]}:"
    ids = _in_thread(_seed(log, browser_redis.url, prefix))
    options = getattr(request, "param", {})
    app = create_app(_service(log, browser_redis.url, prefix), load_users(users), **options)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "inbox did not start"
        time.sleep(0.05)
    try:
        yield Inbox(f"http://127.0.0.1:{port}", log, ids)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One browser per test module: Playwright's sync API runs an event loop in this thread
    while it lives, and later tests call `asyncio.run`."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        missing = "Debian chromium not installed: ./tools/ensure-system-deps.sh --chromium"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(missing)  # under CI the browser tests must run, not skip
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
