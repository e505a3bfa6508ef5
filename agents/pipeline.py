"""The Faust application's parts: the rule path, the Redis delivery, the gauges.

- The rule path (`agents.rules.RulesService`, a Faust service) reads the four input topics
  and the internal events topic in the consumer group `MONITOR_APP_ID`, applies the rule
  core in batches and writes alerts, re-identification tasks, dead letters and customer
  state; offsets are committed only after all of a batch's writes are acknowledged.
- The Redis delivery (`agents.delivery.DeliveryService`, a Faust service) reads `aml.alerts`
  in the consumer group `<MONITOR_APP_ID>-queue` and adds each alert to its Redis Stream
  once (by `alert_id`), a batch per round trip, retrying while Redis is away; its offsets
  are committed only after Redis accepted every alert of the batch.
- `gauges`, a Faust timer: lag, state records and the compliance queues' figures.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import faust

from agents.delivery import DeliveryService
from agents.rules import RulesService
from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import Pack
from monitor.io.metrics import Metrics
from monitor.io.settings import Settings
from monitor.io.sinks.redis_queue import RedisQueueSink

__all__ = ["Pipeline"]

logger = logging.getLogger(__name__)


class Pipeline:
    """Registers the rule service, the Redis delivery and the gauges timer on `app`."""

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
        self.rules = RulesService(
            settings,
            Engine(pack),
            Decoder(pack.fx, settings.max_message_bytes),
            metrics,
            loop=app.loop,
            beacon=app.beacon,
        )
        self.delivery = DeliveryService(settings, sink, metrics, loop=app.loop, beacon=app.beacon)
        app.timer(settings.gauges_interval_s, name="gauges")(self._gauges)
        app.task(self._start_services)
        self._tz = pack.tz
        self._sync_redis: Any = None

    async def _start_services(self) -> None:
        """Started with the app's other tasks, stopped (batch in hand finished) with it."""
        await self.app.add_runtime_dependency(self.rules)
        await self.app.add_runtime_dependency(self.delivery)

    # -- gauges -------------------------------------------------------------------------
    async def _gauges(self) -> None:
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
