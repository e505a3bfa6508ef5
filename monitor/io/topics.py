"""Creating the worker's topics with one partition count, refusing a broken layout, and
checking the group settings against what the broker allows."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from monitor.core.errors import ConfigurationError, TopicLayoutError
from monitor.io.settings import Settings

__all__ = ["TopicSpec", "check_group_settings", "ensure_topics", "worker_topics"]

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
        TopicSpec(
            settings.events_topic, n, {"cleanup.policy": "delete", "retention.ms": str(_WEEK_MS)}
        )
    )
    specs.append(
        TopicSpec(settings.changelog_topic, n, {"cleanup.policy": "compact", "retention.ms": "-1"})
    )
    for name in (settings.topic_alerts, settings.topic_reid_tasks, settings.topic_dead_letters):
        specs.append(TopicSpec(name, n, {"cleanup.policy": "delete", "retention.ms": keep}))
    return specs


async def ensure_topics(settings: Settings, specs: list[TopicSpec] | None = None) -> list[str]:
    """Create missing topics; raise `TopicLayoutError` naming every existing topic whose
    partition count differs, and `ConfigurationError` before anything is created if the
    broker would refuse the worker's session timeout. Returns the names it created."""
    specs = specs if specs is not None else worker_topics(settings)
    from monitor.io.kafka_security import aiokafka_options

    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-admin",
        **aiokafka_options(settings),
    )
    await admin.start()
    try:
        check_group_settings(settings, await _broker_configs(admin, _SESSION_LIMITS))
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


_SESSION_LIMITS = ("group.min.session.timeout.ms", "group.max.session.timeout.ms")


def check_group_settings(settings: Settings, broker: dict[str, str]) -> None:
    """Raise `ConfigurationError` if the broker would refuse the worker's consumer groups.

    A session timeout outside the broker's `group.min/max.session.timeout.ms` is a fatal
    join error: Faust's consumer logs it once and the worker never becomes ready. `broker`
    holds the broker's settings as read (empty when the broker does not say)."""
    session_ms = settings.session_timeout_s * 1000
    low = broker.get("group.min.session.timeout.ms")
    high = broker.get("group.max.session.timeout.ms")
    if (low is not None and session_ms < int(low)) or (high is not None and session_ms > int(high)):
        raise ConfigurationError(
            f"MONITOR_SESSION_TIMEOUT_S={settings.session_timeout_s:g} is outside the "
            f"broker's range for consumer groups ({int(low or 0) / 1000:g}-"
            f"{int(high) / 1000 if high else float('inf'):g} s: group.min.session.timeout.ms / "
            "group.max.session.timeout.ms); the group would refuse the worker"
        )


async def _broker_configs(admin: AIOKafkaAdminClient, names: tuple[str, ...]) -> dict[str, str]:
    """These settings of one broker, or {} if it cannot say (some Kafka-protocol brokers
    do not answer DescribeConfigs)."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    try:
        brokers = sorted(b["node_id"] for b in (await admin.describe_cluster())["brokers"])
        if not brokers:
            return {}
        wanted = ConfigResource(
            ConfigResourceType.BROKER, str(brokers[0]), configs=dict.fromkeys(names)
        )
        responses = await admin.describe_configs([wanted])
        found = {}
        for response in responses:
            for resource in response.resources:
                if resource[0]:  # error code: not answered
                    continue
                for entry in resource[4]:
                    if entry[0] in names and entry[1] is not None:
                        found[entry[0]] = entry[1]
        return found
    except Exception as exc:
        logger.info(
            "broker settings not read (%s): MONITOR_SESSION_TIMEOUT_S not checked "
            "against the broker",
            type(exc).__name__,
        )
        return {}


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    listed = set(await admin.list_topics())
    wanted = [n for n in names if n in listed]
    if not wanted:
        return {}
    described = await admin.describe_topics(wanted)
    return {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}
