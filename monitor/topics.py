"""Creating the worker's topics with one partition count, and refusing a broken layout."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from monitor.errors import TopicLayoutError
from monitor.settings import Settings

__all__ = ["TopicSpec", "ensure_topics", "worker_topics"]

logger = logging.getLogger(__name__)

_WEEK_MS = 7 * 86_400_000


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str]


def worker_topics(settings: Settings) -> list[TopicSpec]:
    """Every topic the worker reads or writes. Inputs, the repartition topic and the state
    changelog must share the partition count; outputs use it too, for one simple rule."""
    n = settings.partitions
    keep = str(settings.output_retention_ms)
    specs = [
        TopicSpec(name, n, {"cleanup.policy": "delete", "retention.ms": str(_WEEK_MS)})
        for name in settings.input_topics.values()
    ]
    specs.append(
        TopicSpec(settings.events_topic, n, {"cleanup.policy": "delete", "retention.ms": str(_WEEK_MS)})
    )
    specs.append(
        TopicSpec(settings.changelog_topic, n, {"cleanup.policy": "compact", "retention.ms": "-1"})
    )
    for name in (settings.topic_alerts, settings.topic_reid_tasks, settings.topic_dead_letters):
        specs.append(TopicSpec(name, n, {"cleanup.policy": "delete", "retention.ms": keep}))
    return specs


async def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create missing topics; raise `TopicLayoutError` naming every existing topic whose
    partition count differs. Returns the names it created."""
    specs = specs if specs is not None else worker_topics(settings)
    from monitor.kafka_security import aiokafka_options

    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id=f"{settings.app_id}-admin",
        **aiokafka_options(settings),
    )
    await admin.start()
    try:
        existing = await _partition_counts(admin, [s.name for s in specs])
        wrong = [
            f"{s.name} has {existing[s.name]} partitions"
            for s in specs
            if s.name in existing and existing[s.name] != s.partitions
        ]
        if wrong:
            raise TopicLayoutError(
                f"expected {settings.partitions} partitions (MONITOR_PARTITIONS) on every topic: "
                + "; ".join(wrong)
            )
        missing = [s for s in specs if s.name not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [
                        NewTopic(
                            s.name,
                            num_partitions=s.partitions,
                            replication_factor=settings.replication_factor,
                            topic_configs=s.configs,
                        )
                        for s in missing
                    ]
                )
            except TopicAlreadyExistsError:  # another worker won the race
                pass
            logger.info("created topics: %s", ", ".join(s.name for s in missing))
        return [s.name for s in missing]
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    listed = set(await admin.list_topics())
    wanted = [n for n in names if n in listed]
    if not wanted:
        return {}
    described = await admin.describe_topics(wanted)
    return {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}
