"""Compliance queues: one Redis Stream per queue, alerts added idempotently by `alert_id`,
repeated findings folded into the open item, streams trimmed only below what analysts
have acknowledged."""

from __future__ import annotations

import logging
from typing import Literal

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from schemas import Alert

__all__ = ["RedisQueueSink"]

logger = logging.getLogger(__name__)

# Atomically, for one alert:
# 1. already indexed (a redelivery): return its entry, change nothing;
# 2. an open item of the same rule and customer whose first alert is at most `period` ms
#    earlier (event time): fold the alert into it (count, last seen, alert ids, evidence);
# 3. otherwise XADD a new entry, index it, and (with suppression on) open an item.
# KEYS: stream, ids hash, open-item hash.  ARGV: alert_id, event_ms, period_ms,
# evidence JSON, then the entry's field/value pairs.
_ADD_ONCE = """
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {0, existing} end
local period = tonumber(ARGV[3])
local event_ms = tonumber(ARGV[2])
if period > 0 then
  local item = redis.call('HMGET', KEYS[3], 'entry', 'first_ms', 'last_ms')
  if item[1] then
    local first = tonumber(item[2])
    if event_ms >= first and event_ms - first <= period then
      redis.call('HINCRBY', KEYS[3], 'count', 1)
      if event_ms > tonumber(item[3]) then redis.call('HSET', KEYS[3], 'last_ms', ARGV[2]) end
      redis.call('RPUSH', KEYS[3] .. ':alerts', ARGV[1])
      for _, id in ipairs(cjson.decode(ARGV[4])) do redis.call('RPUSH', KEYS[3] .. ':evidence', id) end
      redis.call('LTRIM', KEYS[3] .. ':evidence', -500, -1)
      redis.call('HSET', KEYS[2], ARGV[1], item[1])
      return {2, item[1]}
    end
  end
end
local entry = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 5))
redis.call('HSET', KEYS[2], ARGV[1], entry)
if period > 0 then
  redis.call('DEL', KEYS[3] .. ':alerts', KEYS[3] .. ':evidence')
  redis.call('HSET', KEYS[3], 'entry', entry, 'first_ms', ARGV[2], 'last_ms', ARGV[2], 'count', 1)
  redis.call('RPUSH', KEYS[3] .. ':alerts', ARGV[1])
  for _, id in ipairs(cjson.decode(ARGV[4])) do redis.call('RPUSH', KEYS[3] .. ':evidence', id) end
end
return {1, entry}
"""

Outcome = Literal["added", "redelivered", "suppressed"]
_OUTCOMES: dict[int, Outcome] = {0: "redelivered", 1: "added", 2: "suppressed"}


class RedisQueueSink:
    """Adds alerts to `<prefix><queue>` streams.

    - `<prefix><queue>:ids` maps every alert id to its entry: a redelivered alert never
      appears twice.
    - With suppression on for a rule, `<prefix><queue>:open:<rule>:<customer>` holds the
      open item (`entry`, `first_ms`, `last_ms`, `count`, plus `:alerts` and `:evidence`
      lists): the same rule for the same customer within the period updates it instead of
      adding an entry.
    - Each stream has the consumer group analysts read with (`monitor queue claim`)."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "aml:queue:",
        group: str = "analysts",
        suppression_ms: int = 0,
        suppressed_rules: frozenset[str] | None = None,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.group = group
        self.suppression_ms = suppression_ms
        self.suppressed_rules = suppressed_rules
        self._script = client.register_script(_ADD_ONCE)
        self._nth_id = client.register_script(_NTH_ID)
        self._grouped: set[str] = set()

    @classmethod
    def from_url(cls, url: str, prefix: str = "aml:queue:", **options: object) -> RedisQueueSink:
        client = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        return cls(client, prefix, **options)  # type: ignore[arg-type]

    def stream_key(self, queue: str) -> str:
        return f"{self.prefix}{queue}"

    async def add(self, alert: Alert) -> tuple[Outcome, str]:
        """Add `alert` to its queue once. Returns (what happened, stream entry id)."""
        return (await self.add_many([alert]))[0]

    async def add_many(self, alerts: list[Alert]) -> list[tuple[Outcome, str]]:
        """Add each alert to its queue once, in order, in one round trip (a pipeline of the
        add script): the same outcomes as `add` one by one. Safe to repeat after a failure,
        whole or in part: an alert already added comes back as "redelivered"."""
        if not alerts:
            return []
        streams = {self.stream_key(alert.queue) for alert in alerts}
        for stream in streams - self._grouped:
            await self._ensure_group(stream)
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            sha = self._script.sha
            for alert in alerts:
                keys, args = self._add_call(alert)
                pipe.evalsha(sha, len(keys), *keys, *args)
            try:
                replies = await pipe.execute()
                break
            except NoScriptError:
                # Redis restarted (or SCRIPT FLUSH): load the script and send the batch again
                # (an alert that did go in is recognised by its id). A restart may also have
                # lost the streams and their analysts' group: create the groups again first.
                if attempt == 2:
                    raise
                await self.client.script_load(_ADD_ONCE)
                self._grouped.clear()
                for stream in streams:
                    await self._ensure_group(stream)
        return [
            (_OUTCOMES[int(code)], entry.decode() if isinstance(entry, bytes) else str(entry))
            for code, entry in replies
        ]

    def _add_call(self, alert: Alert) -> tuple[list[str], list[object]]:
        stream = self.stream_key(alert.queue)
        period = self.suppression_ms
        if self.suppressed_rules is not None and alert.rule_id not in self.suppressed_rules:
            period = 0
        event_ms = int(alert.event_time.timestamp() * 1000)
        keys = [stream, f"{stream}:ids", f"{stream}:open:{alert.rule_id}:{alert.customer_id}"]
        args = [
            alert.alert_id,
            event_ms,
            period,
            orjson.dumps(alert.evidence).decode(),
            *_entry_fields(alert),
        ]
        return keys, args

    async def _ensure_group(self, stream: str) -> None:
        try:
            await self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._grouped.add(stream)

    async def trim(self, queue: str, max_len: int) -> int:
        """Trim `queue` towards `max_len` entries, never removing an entry the analysts'
        group has not acknowledged (undelivered or pending). Returns entries removed."""
        stream = self.stream_key(queue)
        length = await self.client.xlen(stream)
        if length <= max_len:
            return 0
        safe = await self._oldest_unacknowledged(stream)
        # The entry at position length - max_len from the oldest: keeping it and everything
        # after keeps max_len entries. Found inside Redis (only its id comes back), at most
        # _TRIM_STEP entries on (a larger excess goes over several calls): reading the
        # max_len entries kept instead (100,000 by default, every gauge interval once a
        # queue is at its cap) stalled the worker's event loop for seconds.
        step = min(length - max_len, _TRIM_STEP)
        cut = await self._nth_id(keys=[stream], args=[step + 1])
        if cut is None:
            return 0  # the stream shrank meanwhile
        bound = min(_id(cut), _id(safe)) if safe else _id(cut)
        removed = await self.client.xtrim(stream, minid=f"{bound[0]}-{bound[1]}", approximate=False)
        if removed:
            logger.info("trimmed %d acknowledged entries from queue %s", removed, queue)
        return int(removed)

    async def _oldest_unacknowledged(self, stream: str) -> bytes | str | None:
        last_delivered = "0-0"
        for info in await self.client.xinfo_groups(stream):
            name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
            if name == self.group:
                raw = info["last-delivered-id"]
                last_delivered = raw.decode() if isinstance(raw, bytes) else raw
        pending = await self.client.xpending(stream, self.group)
        candidates = []
        if pending and pending.get("pending"):
            candidates.append(pending["min"])
        after = await self.client.xrange(stream, min=f"({last_delivered}", max="+", count=1)
        if after:
            candidates.append(after[0][0])
        if not candidates:
            return None  # everything delivered and acknowledged
        return min(candidates, key=_id)

    async def close(self) -> None:
        await self.client.aclose()


#: the most entries one `trim` call removes
_TRIM_STEP = 10_000

# The id of a stream's ARGV[1]-th oldest entry (1-based), or nil when it has fewer.
_NTH_ID = """
local rows = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])
if #rows < tonumber(ARGV[1]) then return false end
return rows[#rows][1]
"""


def _id(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


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
