"""The worker's gauges: consumer lag, state records, the Redis backlog and the compliance
queues' figures, refreshed by a Faust timer off the event path."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from agents.delivery import DeliveryService
from agents.rules import RulesService
from monitor.core.pack import Pack
from monitor.io.metrics import Metrics
from monitor.io.settings import Settings
from monitor.io.sinks.redis_queue import RedisQueueSink

__all__ = ["Gauges"]

logger = logging.getLogger(__name__)


class Gauges:
    """Sets the gauges from the rule path, the Redis delivery and the queues in Redis, and
    keeps each queue near its cap. `update` is the timer's body."""

    def __init__(
        self,
        settings: Settings,
        pack: Pack,
        metrics: Metrics,
        sink: RedisQueueSink,
        rules: RulesService,
        delivery: DeliveryService,
    ) -> None:
        self.settings = settings
        self.pack = pack
        self.metrics = metrics
        self.sink = sink
        self.rules = rules
        self.delivery = delivery
        self._tz = pack.tz
        self._sync_redis: Any = None

    async def update(self) -> None:
        """Lag per input partition, state records, and the compliance queues' depth,
        pending, oldest age and overdue reports. Off the event path, every few seconds."""
        self.metrics.redis_backlog.set(self.delivery.backlog())  # in Kafka, not yet safe in Redis
        inputs = set(self.settings.input_topics.values())
        for tp, lag in self.rules.lag().items():
            if tp.topic in inputs:
                self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
        records = self.rules.state_records()  # None for RocksDB: it would iterate every key
        if records is not None:
            self.metrics.state_records.set(records)
        await asyncio.to_thread(self._queue_gauges)
        await self._trim_queues()

    async def _trim_queues(self) -> None:
        """Keep each queue near its cap without touching what analysts have not acked."""
        queues = set(self.pack.config.queues.values()) | {r.queue for r in self.pack.config.routing}
        for queue in sorted(queues):
            try:
                await self.sink.trim(queue, self.pack.config.queue.max_len)
            except Exception as exc:
                logger.debug("trim of %s skipped: %s", queue, type(exc).__name__)

    def _queue_gauges(self) -> None:
        import redis

        from monitor.io.queues import queue_gauges

        try:
            if self._sync_redis is None:
                self._sync_redis = redis.Redis.from_url(
                    self.settings.redis_url.get_secret_value(), socket_timeout=5
                )
            today = datetime.now(self._tz).date()
            gauges = queue_gauges(
                self._sync_redis, self.settings.queue_prefix, self.pack.config.queue.group, today
            )
        except Exception as exc:
            logger.debug("queue gauges unavailable: %s", type(exc).__name__)
            return
        for queue, values in gauges.items():
            self.metrics.queue_depth.labels(queue).set(values["depth"])
            self.metrics.queue_pending.labels(queue).set(values["pending"])
            self.metrics.queue_oldest_age.labels(queue).set(values["oldest_age_seconds"])
            self.metrics.queue_overdue.labels(queue).set(values["overdue"])
            self.metrics.queue_due_soon.labels(queue).set(values["due_soon"])
