"""The thin Faust shell: decode, load state, call the rule core, emit, store.

Agents run with concurrency 1 (Faust may commit past an in-flight message above 1):

- `process` reads the four input topics and the internal events topic. Bad input goes to
  the dead-letter topic. A valid event whose partition is its customer's home partition
  (murmur2 of the customer id, what Java and aiokafka producers keyed by customer id use)
  is applied at once; any other is forwarded to the internal events topic on its home
  partition and applied when it comes back. So every customer has one partition and one
  state record whatever partitioner the bank's producers used, and well-keyed traffic
  crosses Faust's stream machinery once. (`MONITOR_ALWAYS_REPARTITION=true` forwards every
  event, with a separate `rules` agent on the events topic: the earlier, slower layout.)
- Applying an event runs the rule core, waits until Kafka has acknowledged the event's
  alerts and tasks, and only then stores the customer's new state; offsets are committed
  after that. A crash before the store replays the event: the same ids come out again.
- `queue` reads `aml.alerts` and adds each alert to its Redis Stream once (by `alert_id`),
  retrying while Redis is away; its offsets advance only after Redis accepted the alert.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust
import orjson
from aiokafka.partitioner import murmur2

from monitor.decode import Decoder, Rejection
from monitor.engine import Engine
from monitor.metrics import Metrics
from monitor.pack import Pack
from monitor.settings import Settings
from monitor.sinks.redis_queue import RedisQueueSink
from monitor.state import CustomerState
from schemas import Alert, DeadLetter

__all__ = ["Pipeline"]

logger = logging.getLogger(__name__)

_KIND_HEADER = "aml-kind"
_KINDS = frozenset({"account_opening", "customer_update", "cash", "remittance"})


class Pipeline:
    """Registers the agents and the state table on `app`."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        pack: Pack,
        metrics: Metrics,
        sink: RedisQueueSink,
    ) -> None:
        self.app = app
        self.settings = settings
        self.metrics = metrics
        self.sink = sink
        self.pack = pack
        self.engine = Engine(pack)
        self.decoder = Decoder(pack.fx, settings.max_message_bytes)
        self.kind_of_topic = {topic: kind for kind, topic in settings.input_topics.items()}
        raw = {"key_serializer": "raw", "value_serializer": "raw"}
        n = settings.partitions
        self.inputs = app.topic(*settings.input_topics.values(), **raw)
        self.events = app.topic(settings.events_topic, partitions=n, internal=True, **raw)
        self.alerts = app.topic(settings.topic_alerts, partitions=n, **raw)
        self.tasks = app.topic(settings.topic_reid_tasks, partitions=n, **raw)
        self.dead_letters = app.topic(settings.topic_dead_letters, partitions=n, **raw)
        self.table = app.Table(
            "customer-state",
            default=None,
            partitions=n,
            key_type=bytes,  # bytes -> the raw codec: no re-serialisation
            value_type=bytes,
            help="per-customer rule state: CustomerState as JSON, keyed by customer id bytes",
        )
        self._home_cache: dict[bytes, int] = {}
        #: pre-bound metric children: no label lookup per event
        self._consumed = {t: metrics.events_consumed.labels(t) for t in settings.input_topics.values()}
        if settings.always_repartition:
            app.agent(self.inputs, name="decode", concurrency=1)(self._decode_agent)
            app.agent(self.events, name="rules", concurrency=1)(self._rules_agent)
        else:
            both = app.topic(*settings.input_topics.values(), settings.events_topic, **raw)
            app.agent(both, name="process", concurrency=1)(self._process_agent)
        app.agent(self.alerts, name="queue", concurrency=1)(self._queue_agent)
        app.timer(settings.gauges_interval_s, name="gauges")(self._gauges)
        self._tz = pack.tz
        self._sync_redis: Any = None

    def home_partition(self, key: bytes) -> int:
        """The customer's partition: murmur2 like the Java client and aiokafka's default."""
        home = self._home_cache.get(key)
        if home is None:
            if len(self._home_cache) > 1_000_000:
                self._home_cache.clear()
            home = (murmur2(key) & 0x7FFFFFFF) % self.settings.partitions
            self._home_cache[key] = home
        return home

    # -- process (one hop) ------------------------------------------------------------
    async def _process_agent(self, stream: faust.StreamT) -> None:
        events_topic = self.settings.events_topic
        kinds = self.kind_of_topic
        for_rules = self._apply
        async for event in stream.events():
            message = event.message
            if message.topic == events_topic:
                kind = event.headers.get(_KIND_HEADER, b"").decode()
                decoded = self.decoder.decode(kind, message.value) if kind in _KINDS else None
                if decoded is None or isinstance(decoded, Rejection):
                    await self._dead_letter(message, decoded or Rejection("schema", ["no kind header"]))
                    continue
                await for_rules(message, decoded)
                continue
            kind = kinds[message.topic]
            self._consumed[message.topic].inc()
            decoded = self.decoder.decode(kind, message.value)
            if isinstance(decoded, Rejection):
                await self._dead_letter(message, decoded)
                continue
            key = decoded.customer_id.encode()
            home = self.home_partition(key)
            if message.partition == home:
                await for_rules(message, decoded)
            else:
                await self.events.send(
                    key=key,
                    value=message.value,
                    partition=home,
                    headers={_KIND_HEADER: kind.encode()},
                    timestamp=message.timestamp,
                )

    # -- decode -------------------------------------------------------------------------
    async def _decode_agent(self, stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            kind = self.kind_of_topic[message.topic]
            self.metrics.events_consumed.labels(message.topic).inc()
            decoded = self.decoder.decode(kind, message.value)
            if isinstance(decoded, Rejection):
                await self._dead_letter(message, decoded)
                continue
            key = decoded.customer_id.encode()
            await self.events.send(
                key=key,
                value=message.value,
                partition=self.home_partition(key),
                headers={_KIND_HEADER: kind.encode()},
                timestamp=message.timestamp,
            )

    async def _dead_letter(self, message: Any, rejection: Rejection) -> None:
        self.metrics.events_invalid.labels(rejection.reason).inc()
        letter = DeadLetter(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
            key_b64=base64.b64encode(message.key).decode() if message.key else None,
            value_b64=base64.b64encode(message.value or b"").decode(),
            reason=rejection.reason,
            errors=rejection.errors,
            received_at=datetime.now(UTC),
        )
        logger.warning(
            "dead letter %s[%s]@%s: %s",
            message.topic,
            message.partition,
            message.offset,
            rejection.reason,
        )
        await self.dead_letters.send(key=message.key, value=letter.model_dump_json().encode())

    # -- rules --------------------------------------------------------------------------
    async def _rules_agent(self, stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            kind = event.headers.get(_KIND_HEADER, b"").decode()
            decoded = self.decoder.decode(kind, message.value) if kind in _KINDS else None
            if decoded is None or isinstance(decoded, Rejection):
                # cannot happen for events this worker forwarded; never drop silently
                await self._dead_letter(message, decoded or Rejection("schema", ["no kind header"]))
                continue
            await self._apply(message, decoded)

    async def _apply(self, message: Any, decoded: Any) -> None:
        """Run the rule core for one event of the current partition and make its outputs
        safe before its state: alerts and tasks acknowledged by Kafka, then the table."""
        started = time.perf_counter()
        key = decoded.customer_id.encode()
        raw = self.table.get(key)
        state = CustomerState.from_bytes(raw) if raw is not None else None
        rating_before = state.risk.get("rating") if state is not None else None
        outcome = self.engine.process(state, decoded, datetime.now(UTC))
        rating = outcome.state.risk.get("rating")
        if rating is not None and rating != rating_before:
            self.metrics.risk_rating_changes.labels(rating).inc()
        if outcome.duplicate:
            self.metrics.events_duplicate.inc()
            self.metrics.processing_seconds.observe(time.perf_counter() - started)
            return
        findings = outcome.findings
        if findings.alerts or findings.tasks:
            pending = []
            for alert in findings.alerts:
                pending.append(
                    await self.alerts.send(key=key, value=alert.model_dump_json().encode())
                )
                self.metrics.alerts.labels(alert.rule_id).inc()
            for task in findings.tasks:
                pending.append(
                    await self.tasks.send(key=key, value=task.model_dump_json().encode())
                )
                self.metrics.tasks.labels(task.trigger).inc()
            await asyncio.gather(*pending)  # outputs are safe before the state moves on
            if message.timestamp:
                self.metrics.end_to_end_seconds.observe(max(0.0, time.time() - message.timestamp))
        self.table[key] = outcome.state.to_bytes()
        self.metrics.processing_seconds.observe(time.perf_counter() - started)

    # -- gauges -------------------------------------------------------------------------
    async def _gauges(self) -> None:
        """Lag per input partition, state records, and the compliance queues' depth,
        pending, oldest age and overdue reports. Off the event path, every few seconds."""
        consumer = self.app.consumer
        inputs = set(self.settings.input_topics.values())
        backlog = 0
        for tp in consumer.assignment():
            if tp.topic not in inputs and tp.topic != self.settings.topic_alerts:
                continue
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - not fetched yet
                continue
            if highwater is None:
                continue
            committed = consumer._committed_offset.get(tp)  # noqa: SLF001 - no public accessor
            lag = max(0, highwater - (committed or 0))
            if tp.topic == self.settings.topic_alerts:
                backlog += lag  # alerts in Kafka not yet safely in Redis
            else:
                self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
        self.metrics.redis_backlog.set(backlog)
        if self.settings.store == "memory":  # RocksDB would have to iterate every key
            self.metrics.state_records.set(len(self.table))
        await asyncio.to_thread(self._queue_gauges)
        await self._trim_queues()

    async def _trim_queues(self) -> None:
        """Keep each queue near its cap without touching what analysts have not acked."""
        queues = set(self.pack.config.queues.values()) | {r.queue for r in self.pack.config.routing}
        for queue in sorted(queues):
            try:
                await self.sink.trim(queue, self.pack.config.queue.max_len)
            except Exception as exc:  # noqa: BLE001 - Redis away or queue not created yet
                logger.debug("trim of %s skipped: %s", queue, type(exc).__name__)

    def _queue_gauges(self) -> None:
        import redis

        from monitor.queues import queue_gauges

        try:
            if self._sync_redis is None:
                self._sync_redis = redis.Redis.from_url(
                    self.settings.redis_url.get_secret_value(), socket_timeout=5
                )
            today = datetime.now(self._tz).date()
            gauges = queue_gauges(
                self._sync_redis, self.settings.queue_prefix, self.pack.config.queue.group, today
            )
        except Exception as exc:  # noqa: BLE001 - Redis away: the retry loop reports it
            logger.debug("queue gauges unavailable: %s", type(exc).__name__)
            return
        for queue, values in gauges.items():
            self.metrics.queue_depth.labels(queue).set(values["depth"])
            self.metrics.queue_pending.labels(queue).set(values["pending"])
            self.metrics.queue_oldest_age.labels(queue).set(values["oldest_age_seconds"])
            self.metrics.queue_overdue.labels(queue).set(values["overdue"])
            self.metrics.queue_due_soon.labels(queue).set(values["due_soon"])

    # -- queue --------------------------------------------------------------------------
    async def _queue_agent(self, stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                alert = Alert.model_validate_json(event.message.value)
            except ValueError:
                logger.error(
                    "unreadable alert at %s[%s]@%s skipped",
                    event.message.topic,
                    event.message.partition,
                    event.message.offset,
                )
                continue
            await self._push(alert)

    async def _push(self, alert: Alert) -> None:
        delay = 0.2
        waiting = False
        while True:
            try:
                outcome, _ = await self.sink.add(alert)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: keep the alert, retry
                self.metrics.redis_errors.inc()
                waiting = True
                logger.warning("redis unavailable (%s); retrying in %.1fs", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if waiting:
                logger.info("redis is back: queue delivery resumed")
            if outcome == "added":
                self.metrics.queue_pushed.labels(alert.queue).inc()
            elif outcome == "suppressed":
                self.metrics.queue_suppressed.labels(alert.queue).inc()
            else:
                self.metrics.queue_redelivered.labels(alert.queue).inc()
            return
