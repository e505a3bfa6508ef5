"""The Faust application's parts: the rule path, the Redis delivery, the gauges.

- The rule path (`agents.rules.RulesService`, a Faust service) reads the four input topics
  and the internal events topic in the consumer group `MONITOR_APP_ID`, applies the rule
  core in batches and writes alerts, re-identification tasks, dead letters and customer
  state; offsets are committed only after all of a batch's writes are acknowledged.
- The Redis delivery (`agents.delivery.DeliveryService`, a Faust service) reads `aml.alerts`
  in the consumer group `<MONITOR_APP_ID>-queue` and adds each alert to its Redis Stream
  once (by `alert_id`), a batch per round trip, retrying while Redis is away; its offsets
  are committed only after Redis accepted every alert of the batch.
- The gauges (`agents.gauges.Gauges`, run by the Faust timer `gauges`): lag, state
  records, the Redis backlog and the compliance queues' figures.
"""

from __future__ import annotations

import logging

import faust

from agents.delivery import DeliveryService
from agents.gauges import Gauges
from agents.rules import RulesService
from agents.screening import ScreeningRules
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
        # with WATCHLIST_MATCH on, the rule path also keeps the names index and re-screens
        service = ScreeningRules if "WATCHLIST_MATCH" in pack.extras else RulesService
        self.rules = service(
            settings,
            Engine(pack),
            Decoder(pack.fx, settings.max_message_bytes),
            metrics,
            loop=app.loop,
            beacon=app.beacon,
        )
        self.delivery = DeliveryService(settings, sink, metrics, loop=app.loop, beacon=app.beacon)
        self.gauges = Gauges(settings, pack, metrics, sink, self.rules, self.delivery)
        app.timer(settings.gauges_interval_s, name="gauges")(self.gauges.update)
        app.task(self._start_services)

    async def _start_services(self) -> None:
        """Started with the app's other tasks, stopped (batch in hand finished) with it."""
        await self.app.add_runtime_dependency(self.rules)
        await self.app.add_runtime_dependency(self.delivery)
