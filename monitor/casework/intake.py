"""Cases from alerts: the inbox consumes `aml.alerts` (its own consumer group) and hands each
alert to `CaseService.add_alert`, committing the offset after the case event is recorded;
`aml.reid-tasks` gives the case view the customer's tasks and risk rating."""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiokafka import AIOKafkaConsumer

from monitor.casework.service import CaseService
from monitor.io.settings import Settings

__all__ = ["consume_alerts"]

logger = logging.getLogger(__name__)

_WAIT_S = 5.0


async def _subscribe(consumer: AIOKafkaConsumer, settings: Settings) -> None:
    """Subscribe once the alerts topic exists (the worker creates it with the task topic)."""
    waited = False
    while True:
        existing = await consumer.topics()
        if settings.topic_alerts in existing:
            break
        if not waited:
            logger.warning("waiting for topic %s (start the worker)", settings.topic_alerts)
            waited = True
        await asyncio.sleep(_WAIT_S)
    topics = [settings.topic_alerts]
    if settings.topic_reid_tasks in existing:
        topics.append(settings.topic_reid_tasks)
    consumer.subscribe(topics)


async def consume_alerts(
    settings: Settings, service: CaseService, group: str | None = None
) -> None:
    """Run until cancelled. A redelivered alert (same id, same content) changes nothing."""
    from monitor.io.kafka_security import aiokafka_options

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group or f"{settings.app_id}-inbox",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **aiokafka_options(settings),
    )
    await consumer.start()
    try:
        await _subscribe(consumer, settings)
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            for messages in batch.values():
                for message in messages:
                    is_task = message.topic == settings.topic_reid_tasks
                    wanted = ("task_id", "customer_id") if is_task else ("alert_id", "customer_id")
                    try:
                        value = orjson.loads(message.value or b"")
                        if not all(value.get(k) for k in wanted):
                            raise ValueError(f"no {' or '.join(wanted)}")
                    except (ValueError, AttributeError) as exc:
                        logger.warning(
                            "skipped alert at %s/%s: %s", message.partition, message.offset, exc
                        )
                        continue
                    if is_task:
                        await service.model.add_task(value)
                    else:
                        await service.add_alert(value)
            if batch:
                await consumer.commit()
    except asyncio.CancelledError:
        raise
    finally:
        await consumer.stop()
