"""The Redis delivery: `aml.alerts` in, compliance queues (Redis Streams) out, in batches.

A Faust service around its own aiokafka consumer, like the rule path (not a Faust agent,
whose per-message machinery would cost a fetch and a Redis round trip per alert, on the
event loop and the cores the rule path shares; docs/performance.md):

- consumer group `<MONITOR_APP_ID>-queue` (the same across versions: a deployment goes on
  from its committed offsets);
- a batch (one `getmany`) goes to Redis in one pipelined round trip, alert by alert in
  order (`RedisQueueSink.add_many`); Redis's idempotent add (by `alert_id` and version: a
  grown finding's newer version replaces the older one, the same or an older version
  changes nothing) makes a batch safe to send again, whole or in part;
- a batch's offsets become committable only after Redis accepted every alert in it; while
  Redis is away the batch is retried with a growing pause and nothing is committed. A
  rebalance or a stop abandons the batch (not committed: delivered again by whoever has the
  partition next, and recognised by Redis);
- commits run beside the next batches (`CommitScheduler`, as in the rule path).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from mode import Service

from agents.membership import CommitScheduler, GroupMember, Rebalances
from monitor.io.kafka_security import aiokafka_options
from monitor.io.metrics import Metrics
from monitor.io.settings import Settings
from monitor.io.sinks.redis_queue import RedisQueueSink
from schemas import Alert

__all__ = ["DeliveryService"]

logger = logging.getLogger(__name__)


class DeliveryService(GroupMember, Service):
    """The alerts consumer and its batch loop. One per worker process."""

    commit_refused = "delivery offset commit refused (%s): its alerts will be sent again"
    #: the most alerts fetched and sent to Redis in one round trip
    batch_max = 500
    #: the broker answers a fetch once it has this much or `fetch_wait_ms` passed: a
    #: batch of several alerts per round trip (an alert is about 1 KB) instead of one
    #: fetch, one Redis call and one commit per alert, for at most 0.1 s more on the way
    #: to the analysts (the rule path's writes to `aml.alerts` are not delayed)
    fetch_min_bytes = 64 * 1024
    fetch_wait_ms = 100

    def __init__(
        self, settings: Settings, sink: RedisQueueSink, metrics: Metrics, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.sink = sink
        self.metrics = metrics
        self.consumer: AIOKafkaConsumer | None = None
        self.committed: dict[TopicPartition, int] = {}
        self.commits = CommitScheduler(self._commit)
        self._lock = asyncio.Lock()  # a batch, a revocation: one at a time
        self._generation = 0  # +1 at every revocation and assignment
        # a stop or a revocation waiting: a batch Redis refuses is then given up (not
        # committed; whoever has the partition next delivers it again)
        self._stop_requested = False
        self._revoking = 0
        self._stopping = False

    @property
    def group(self) -> str:
        return f"{self.settings.app_id}-queue"

    async def on_start(self) -> None:
        settings = self.settings
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.app_id}-queue",
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_min_bytes=self.fetch_min_bytes,
            fetch_max_wait_ms=self.fetch_wait_ms,
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
            **aiokafka_options(settings),
        )
        self.consumer.subscribe([settings.topic_alerts], listener=Rebalances(self))
        await self.consumer.start()
        self.add_future(self._run())
        logger.info("queue delivery consuming %s as group %s", settings.topic_alerts, self.group)

    async def on_stop(self) -> None:
        self._stop_requested = True
        async with self._lock:
            self._stopping = True
            await self.commits.drain()
        if self.consumer is not None:
            await self.consumer.stop()

    async def _run(self) -> None:
        try:
            await self._consume()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug: stop the worker rather than skip alerts
            if self._stopping:
                return
            logger.exception("queue delivery failed")
            await self.crash(exc)

    async def _consume(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        while not self._stopping:
            generation = self._generation
            batch = await consumer.getmany(timeout_ms=1000, max_records=self.batch_max)
            if not batch:
                continue
            async with self._lock:
                if self._stopping:
                    return
                if generation != self._generation:
                    self._rewind(batch)  # fetched before a rebalance
                    continue
                if await self._deliver(self._alerts(batch)):
                    self.commits.add({tp: records[-1].offset + 1 for tp, records in batch.items()})
                elif not self._stopping:
                    self._rewind(batch)  # abandoned for a revocation: partitions still held go back

    def _alerts(self, batch: dict[TopicPartition, list[Any]]) -> list[Alert]:
        alerts = []
        validate = Alert.model_validate_json
        for tp, records in batch.items():
            for record in records:
                try:
                    alerts.append(validate(record.value))
                except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
                    # not written by a worker; the position says where to look
                    logger.error(
                        "unreadable alert at %s[%s]@%s skipped",
                        tp.topic,
                        tp.partition,
                        record.offset,
                    )
        return alerts

    async def _deliver(self, alerts: list[Alert]) -> bool:
        """Send `alerts` to Redis until it takes them all (True), or until a stop or a
        revocation gives the batch up (False)."""
        if not alerts:
            return True
        delay = 0.2
        waiting = False
        while True:
            try:
                outcomes = await self.sink.add_many(alerts)
                break
            except Exception as exc:
                self.metrics.redis_errors.inc()
                if self._leaving:
                    return False
                waiting = True
                logger.warning(
                    "redis unavailable (%s); retrying in %.1fs", type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                if self._leaving:
                    return False
        if waiting:
            logger.info("redis is back: queue delivery resumed")
        metrics = self.metrics
        for alert, (outcome, _) in zip(alerts, outcomes, strict=True):
            if outcome == "added":
                metrics.queue_pushed.labels(alert.queue).inc()
            elif outcome == "suppressed":
                metrics.queue_suppressed.labels(alert.queue).inc()
            elif outcome in ("updated", "reopened"):  # a grown finding's newer version
                metrics.queue_updated.labels(alert.queue, outcome).inc()
            else:
                metrics.queue_redelivered.labels(alert.queue).inc()
        return True

    def backlog(self) -> int:
        """Alerts in Kafka not yet committed as safe in Redis (over assigned partitions)."""
        return sum(self.lag().values())

    # -- rebalances -----------------------------------------------------------------------
    @property
    def _leaving(self) -> bool:
        return self._stop_requested or self._revoking > 0

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        self._revoking += 1  # a batch waiting for Redis gives way
        try:
            async with self._lock:
                await self.commits.drain()
                self._generation += 1
                for tp in revoked:
                    self.committed.pop(tp, None)
        finally:
            self._revoking -= 1

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:
            self._generation += 1
            assert self.consumer is not None
            for tp in assigned:  # for the backlog gauge: where the group stands
                try:
                    self.committed[tp] = await self.consumer.committed(tp) or 0
                except KafkaError as exc:
                    logger.debug("committed offset of %s unknown: %s", tp, type(exc).__name__)
