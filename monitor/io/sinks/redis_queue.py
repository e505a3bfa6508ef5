"""Compliance queues: one Redis Stream per queue, one entry per finding holding its latest
version (added idempotently by `alert_id` and version), repeated findings folded into the
open item, streams trimmed only below what analysts have acknowledged."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Literal

import orjson
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from schemas import Alert

__all__ = ["RedisQueueSink"]

logger = logging.getLogger(__name__)

# Atomically, for one alert:
# 1. already indexed: compare its version (`_version`: evidence count, then amount; a grown
#    finding only gains) with the one recorded in the versions hash. The same or an older
#    version (a redelivery, a replay of older versions after a crash) changes nothing:
#    return its entry. A newer version replaces the alert's own entry (a stream entry
#    cannot change: XADD the new version, XDEL the old one, point the ids at the new one):
#    never delivered, it is replaced as it is; claimed by an analyst and not acknowledged,
#    the new entry notes "updated: ..." (the claim stays on the old id, which the analyst
#    can still acknowledge); acknowledged (or trimmed), it is reopened with a note
#    "reopened: ..." of what was added since the version the analyst saw. A grown alert
#    folded into another alert's open item adds its new evidence to that item;
# 2. an open item of the same rule and customer whose first alert is at most `period` ms
#    earlier (event time): fold the alert into it (count, last seen, alert ids, evidence);
# 3. otherwise XADD a new entry, index it, and (with suppression on) open an item.
# KEYS: stream, ids hash, open-item hash, versions hash.  ARGV: alert_id, event_ms,
# period_ms, evidence JSON, version, evidence count, amount text, analysts' group, then the
# entry's field/value pairs.
_ADD_ONCE = """
local alert_id, version, count, amount = ARGV[1], ARGV[5], ARGV[6], ARGV[7]
local record = version .. '|' .. count .. '|' .. amount
local existing = redis.call('HGET', KEYS[2], alert_id)
if existing then
  local known = redis.call('HGET', KEYS[4], alert_id)
  if not known then return {0, existing} end
  local old_version, old_count, old_amount = string.match(known, '^([^|]*)|([^|]*)|(.*)$')
  if version <= old_version then return {0, existing} end
  redis.call('HSET', KEYS[4], alert_id, record)
  local evidence = cjson.decode(ARGV[4])
  local added = {}
  for i = tonumber(old_count) + 1, #evidence do added[#added + 1] = evidence[i] end
  local item_entry = redis.call('HGET', KEYS[3], 'entry')
  local function grow_item(entry)
    if item_entry ~= existing then return end
    if entry ~= existing then
      redis.call('HSET', KEYS[3], 'entry', entry)
      for _, id in ipairs(redis.call('LRANGE', KEYS[3] .. ':alerts', 0, -1)) do
        redis.call('HSET', KEYS[2], id, entry)
      end
    end
    for _, id in ipairs(added) do redis.call('RPUSH', KEYS[3] .. ':evidence', id) end
    redis.call('LTRIM', KEYS[3] .. ':evidence', -500, -1)
  end
  local found = redis.call('XRANGE', KEYS[1], existing, existing)
  local old = {}
  if found[1] then
    local f = found[1][2]
    for i = 1, #f, 2 do old[f[i]] = f[i + 1] end
    if old['alert_id'] ~= alert_id then
      grow_item(existing)
      return {3, existing}
    end
  end
  local state = 'new'
  if not found[1] then
    state = 'acked'  -- only acknowledged entries are trimmed
  else
    local pel = redis.pcall('XPENDING', KEYS[1], ARGV[8], existing, existing, 1)
    if type(pel) == 'table' and pel[1] then
      state = 'claimed'
    else
      local last = '0-0'
      for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
        local info = {}
        for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
        if info['name'] == ARGV[8] then last = info['last-delivered-id'] end
      end
      local ems, eseq = string.match(existing, '^(%d+)-(%d+)$')
      local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
      ems, eseq, lms, lseq = tonumber(ems), tonumber(eseq), tonumber(lms), tonumber(lseq)
      if ems < lms or (ems == lms and eseq <= lseq) then state = 'acked' end
    end
  end
  local fields = {unpack(ARGV, 9)}
  local base = nil
  if state == 'new' then
    base = old['note_base']  -- still undelivered: keep counting from what was last seen
  else
    base = (state == 'acked' and 'reopened' or 'updated') .. '|' .. old_count .. '|' .. old_amount
  end
  if base then
    local verb, seen_count, seen_amount = string.match(base, '^([^|]*)|([^|]*)|(.*)$')
    local parts = {}
    local n = #evidence - tonumber(seen_count)
    if n > 0 then
      parts[#parts + 1] = n .. (n == 1 and ' transaction' or ' transactions') .. ' added'
    end
    if seen_amount ~= amount then
      parts[#parts + 1] = 'amount ' .. seen_amount .. ' -> ' .. amount
    end
    fields[#fields + 1] = 'note'
    fields[#fields + 1] = verb .. ': ' .. table.concat(parts, ', ')
    fields[#fields + 1] = 'note_base'
    fields[#fields + 1] = base
  end
  local entry = redis.call('XADD', KEYS[1], '*', unpack(fields))
  if found[1] then redis.call('XDEL', KEYS[1], existing) end
  redis.call('HSET', KEYS[2], alert_id, entry)
  grow_item(entry)
  if state == 'acked' then return {5, entry} end
  return {4, entry}
end
redis.call('HSET', KEYS[4], alert_id, record)
local period = tonumber(ARGV[3])
local event_ms = tonumber(ARGV[2])
if period > 0 then
  local item = redis.call('HMGET', KEYS[3], 'entry', 'first_ms', 'last_ms')
  if item[1] then
    local first = tonumber(item[2])
    if event_ms >= first and event_ms - first <= period then
      redis.call('HINCRBY', KEYS[3], 'count', 1)
      if event_ms > tonumber(item[3]) then redis.call('HSET', KEYS[3], 'last_ms', ARGV[2]) end
      redis.call('RPUSH', KEYS[3] .. ':alerts', alert_id)
      for _, id in ipairs(cjson.decode(ARGV[4])) do
        redis.call('RPUSH', KEYS[3] .. ':evidence', id)
      end
      redis.call('LTRIM', KEYS[3] .. ':evidence', -500, -1)
      redis.call('HSET', KEYS[2], alert_id, item[1])
      return {2, item[1]}
    end
  end
end
local entry = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 9))
redis.call('HSET', KEYS[2], alert_id, entry)
if period > 0 then
  redis.call('DEL', KEYS[3] .. ':alerts', KEYS[3] .. ':evidence')
  redis.call('HSET', KEYS[3], 'entry', entry, 'first_ms', ARGV[2], 'last_ms', ARGV[2], 'count', 1)
  redis.call('RPUSH', KEYS[3] .. ':alerts', alert_id)
  for _, id in ipairs(cjson.decode(ARGV[4])) do redis.call('RPUSH', KEYS[3] .. ':evidence', id) end
end
return {1, entry}
"""

Outcome = Literal["added", "redelivered", "suppressed", "updated", "reopened"]
_OUTCOMES: dict[int, Outcome] = {
    0: "redelivered",
    1: "added",
    2: "suppressed",
    3: "updated",  # a grown version folded into another alert's open item
    4: "updated",  # a grown version replaced its open entry
    5: "reopened",  # a grown version reopened an acknowledged entry
}


class RedisQueueSink:
    """Adds alerts to `<prefix><queue>` streams.

    - `<prefix><queue>:ids` maps every alert id to its entry: a redelivered alert never
      appears twice. `<prefix><queue>:versions` holds the version of each alert id the
      entry shows (`_version`): a newer version of a grown finding (the same `alert_id`,
      more evidence or a larger amount) replaces the entry (still one entry per finding),
      reopening it with a note when the analysts had acknowledged it; the same or an
      older version changes nothing.
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
        """Add `alert` to its queue once, or its newer version in place of the older one.
        Returns (what happened, stream entry id)."""
        return (await self.add_many([alert]))[0]

    async def add_many(self, alerts: list[Alert]) -> list[tuple[Outcome, str]]:
        """Add each alert to its queue once, in order, in one round trip (a pipeline of the
        add script): the same outcomes as `add` one by one. Safe to repeat after a failure,
        whole or in part: a version already added comes back as "redelivered"."""
        if not alerts:
            return []
        streams = {self.stream_key(alert.queue) for alert in alerts}
        for stream in streams - self._grouped:
            await self._ensure_group(stream)
        for attempt in (1, 2):
            pipe = self.client.pipeline(transaction=False)
            sha = self._script.sha  # type: ignore[attr-defined]  # set by register_script
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
        keys = [
            stream,
            f"{stream}:ids",
            f"{stream}:open:{alert.rule_id}:{alert.customer_id}",
            f"{stream}:versions",
        ]
        amount = alert.amount if alert.amount is not None else Decimal(0)
        args = [
            alert.alert_id,
            event_ms,
            period,
            orjson.dumps(alert.evidence).decode(),
            _version(alert),
            len(alert.evidence),
            f"{amount:,.2f}",
            self.group,
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
        await self.client.aclose()  # type: ignore[attr-defined]  # redis >= 5


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


def _version(alert: Alert) -> str:
    """The order of an alert's versions as a string Lua compares: evidence count, then the
    amount in cents. A grown finding only gains transactions (positive amounts) and its
    evidence is capped, so a later version is never smaller; fields that do not decide a
    finding (`detected_at`) are left out, so a redelivery is the same version."""
    cents = int((alert.amount or Decimal(0)).scaleb(2).to_integral_value())
    return f"{len(alert.evidence):06d}:{cents:020d}"


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
