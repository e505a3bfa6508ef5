"""`monitor worker`: topics checked and created, metrics served, Faust worker run."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from prometheus_client import CollectorRegistry, disable_created_metrics, start_http_server

from monitor.core.calendar import check_coverage
from monitor.core.pack import load_pack
from monitor.io.gctune import tune_gc
from monitor.io.metrics import CalendarCollector, Metrics
from monitor.io.settings import Settings
from monitor.io.sinks.redis_queue import RedisQueueSink
from monitor.io.topics import ensure_topics

__all__ = ["run_worker"]

logger = logging.getLogger(__name__)


def run_worker(settings: Settings) -> None:
    """Run until stopped. Raises `ConfigurationError` or `TopicLayoutError` before anything
    is consumed if the pack or the topic layout is wrong, or if the pack's working-day
    calendar does not cover the current year (warns if it ends within 90 days)."""
    import faust  # imported here so `monitor rules check` stays light

    from agents import Pipeline, create_app

    pack = load_pack(settings.rules)
    calendar_warning = check_coverage(pack.calendar, datetime.now(pack.tz).date())
    if calendar_warning:
        logger.warning("%s", calendar_warning)
    setup_loop = asyncio.new_event_loop()
    try:
        created = setup_loop.run_until_complete(ensure_topics(settings))
    finally:
        setup_loop.close()
    asyncio.set_event_loop(asyncio.new_event_loop())
    logger.info(
        "pack %s, %d partitions, created %d topics", pack.name, settings.partitions, len(created)
    )
    disable_created_metrics()  # no *_created series: they double the scrape for nothing
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    CalendarCollector.register(registry, pack.calendar)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.metrics_host, registry=registry)
        logger.info("metrics on :%d/metrics", settings.metrics_port)
    app = create_app(settings)
    queue_cfg = pack.config.queue
    suppressed = queue_cfg.suppression.rules
    sink = RedisQueueSink.from_url(
        settings.redis_url.get_secret_value(),
        settings.queue_prefix,
        group=queue_cfg.group,
        suppression_ms=queue_cfg.suppression.period_hours * 3_600_000,
        suppressed_rules=frozenset(suppressed) if suppressed is not None else None,
    )
    Pipeline(app, settings, pack, metrics, sink)
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    tune_gc()
    worker.execute_from_commandline()
