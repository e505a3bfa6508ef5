"""Where alerts go: routes to compliance queues, queue behaviour and suppression."""

from __future__ import annotations

import logging

from pydantic import Field

from monitor.core.rules.config import Category, Severity, Strict

__all__ = ["QueueConfig", "Route", "RouteMatch", "SuppressionConfig"]

logger = logging.getLogger(__name__)


class RouteMatch(Strict):
    """Conditions of a route; each given list must contain the alert's value."""

    category: list[Category] | None = None
    severity: list[Severity] | None = None
    rule_id: list[str] | None = None
    branch: list[str] | None = None


class Route(Strict):
    """Alerts matching `match` go to `queue` (the first matching route wins)."""

    match: RouteMatch
    queue: str = Field(min_length=1, pattern=r"^\S+$")


class SuppressionConfig(Strict):
    """The same rule for the same customer within `period_hours` (event time) of the first
    alert updates the open queue item (count, evidence, last seen) instead of adding one."""

    period_hours: int = Field(default=0, ge=0, le=24 * 366)
    rules: list[str] | None = None  # None: every rule


class QueueConfig(Strict):
    """Compliance queue behaviour (Redis Streams)."""

    group: str = Field(default="analysts", min_length=1)
    max_len: int = Field(default=100_000, ge=100)  # trimmed only below what analysts acked
    suppression: SuppressionConfig = SuppressionConfig()
