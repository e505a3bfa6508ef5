"""Compliance queues: one Redis Stream per queue, alerts added idempotently by `alert_id`."""

from __future__ import annotations

import logging

import orjson
import redis.asyncio as aioredis

from schemas import Alert

__all__ = ["RedisQueueSink"]

logger = logging.getLogger(__name__)

# Atomically: if the alert id is already indexed, return its stream entry id; otherwise
# XADD the alert and index it. A redelivered alert therefore never appears twice.
_ADD_ONCE = """
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {0, existing} end
local entry = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('HSET', KEYS[2], ARGV[1], entry)
return {1, entry}
"""


class RedisQueueSink:
    """Adds alerts to `<prefix><queue>` streams; `<prefix><queue>:ids` maps alert id to entry."""

    def __init__(self, client: aioredis.Redis, prefix: str = "aml:queue:") -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_ADD_ONCE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "aml:queue:") -> RedisQueueSink:
        client = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix)

    def stream_key(self, queue: str) -> str:
        return f"{self.prefix}{queue}"

    async def add(self, alert: Alert) -> tuple[bool, str]:
        """Add `alert` to its queue once. Returns (added now?, stream entry id)."""
        fields = _entry_fields(alert)
        stream = self.stream_key(alert.queue)
        added, entry = await self._script(keys=[stream, f"{stream}:ids"], args=[alert.alert_id, *fields])
        return bool(added), entry.decode() if isinstance(entry, bytes) else str(entry)

    async def close(self) -> None:
        await self.client.aclose()


def _entry_fields(alert: Alert) -> list[str]:
    data = alert.model_dump(mode="json")
    flat = {
        "alert_id": data["alert_id"],
        "rule_id": data["rule_id"],
        "customer_id": data["customer_id"],
        "severity": data["severity"],
        "category": data["category"],
        "summary": data["summary"],
        "event_time": data["event_time"],
        "report_due": data["report_due"] or "",
        "amount": data["amount"] or "",
        "currency": data["currency"] or "",
        "alert": orjson.dumps(data).decode(),
    }
    out: list[str] = []
    for key, value in flat.items():
        out.extend((key, str(value)))
    return out
