"""The names topic of re-screening (`<MONITOR_APP_ID>-screening-names`): its settings, and
reading its partitions into names indexes, from the start (a restore) or from an offset
(the back-filled records written since)."""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from monitor.core.screening.index import BACKFILL_HEADER, PartitionIndex
from monitor.io.kafka_security import aiokafka_options
from monitor.io.settings import Settings
from monitor.io.topics import TopicSpec

__all__ = ["backfilled", "open_reader", "read_index", "read_since", "screening_topic_spec"]

logger = logging.getLogger(__name__)


def screening_topic_spec(settings: Settings) -> TopicSpec:
    """The names topic: compacted, kept forever, one partition per input partition."""
    return TopicSpec(
        settings.screening_topic,
        settings.partitions,
        {"cleanup.policy": "compact", "retention.ms": "-1"},
    )


def backfilled(record: Any) -> bool:
    """Whether a record of the names topic was written by a back-fill."""
    return any(name == BACKFILL_HEADER for name, _ in record.headers or ())


async def read_index(
    settings: Settings, partitions: set[int]
) -> tuple[dict[int, PartitionIndex], dict[int, int]]:
    """Each partition's index read from the screening topic, from the start to the end,
    and the offset after the last record read of each."""
    out = {p: PartitionIndex() for p in partitions}
    ends = await read_since(settings, {p: None for p in partitions}, out)
    return out, ends


async def open_reader(settings: Settings) -> AIOKafkaConsumer:
    """A started consumer of the names topic, without a group (partitions assigned)."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-screening-restore",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # positions are set by `seek`; never skip records
        **aiokafka_options(settings),
    )
    await reader.start()
    return reader


async def read_since(
    settings: Settings,
    offsets: dict[int, int | None],
    indexes: dict[int, PartitionIndex],
    only_backfilled: bool = False,
    reader: AIOKafkaConsumer | None = None,
) -> dict[int, int]:
    """Load each partition's records from `offsets` (None: the start) to the topic's end
    into `indexes` (only the back-filled ones with `only_backfilled`); returns the offset
    after the last record of each. `reader` (`open_reader`) is used and left open if
    given; otherwise one is opened for the call."""
    if not offsets:
        return {}
    own = reader is None
    if reader is None:
        reader = await open_reader(settings)
    try:
        tps = [TopicPartition(settings.screening_topic, p) for p in sorted(offsets)]
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        starts = await reader.beginning_offsets(tps)
        for tp in tps:
            start = offsets[tp.partition]
            start = starts[tp] if start is None else max(start, starts[tp])
            if start >= ends[tp]:
                continue
            reader.seek(tp, start)
            index = indexes[tp.partition]
            while await reader.position(tp) < ends[tp]:
                fetched = await reader.getmany(tp, timeout_ms=1000, max_records=10_000)
                for record in fetched.get(tp, []):
                    if record.offset >= ends[tp]:
                        break
                    marked = backfilled(record)
                    if marked or not only_backfilled:
                        index.load(record.key, record.value, marked)
    finally:
        if own:
            await reader.stop()
    return {tp.partition: ends[tp] for tp in tps}
