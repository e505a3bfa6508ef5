"""Assigned partitions' state stores brought up to date from the state changelog.

Partition p of the changelog holds the states of the customers whose home partition is p.
A worker assigned p opens its local store for p (memory, or RocksDB under the data
directory) and reads the changelog from where the store stops to the end before any event
of p is applied. A record with a null value (a tombstone: an idle account's or conductor's
record deleted, `agents.idle`) deletes its key from the store. A store whose offset does not
fit the changelog (a recreated or truncated topic) is emptied and rebuilt from the start.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.state_store import MemoryStore, RocksStore, Store
from monitor.io.kafka_security import aiokafka_options
from monitor.io.settings import Settings

__all__ = ["open_store", "restore"]

logger = logging.getLogger(__name__)


def open_store(settings: Settings, partition: int) -> Store:
    """The local store of `partition`: in memory, or RocksDB under the data directory."""
    if settings.store == "memory":
        return MemoryStore()
    return RocksStore(settings.data_dir / settings.app_id / "state" / f"p{partition}")


async def restore(settings: Settings, stores: dict[int, Store], partitions: set[int]) -> int:
    """Open the stores of `partitions` missing from `stores`, then read each partition's
    changelog from where its store stops to the end. Returns the records read."""
    changelog = settings.changelog_topic
    for partition in partitions:
        if partition not in stores:
            stores[partition] = open_store(settings, partition)
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-restore",
        group_id=None,
        enable_auto_commit=False,
        **aiokafka_options(settings),
    )
    await reader.start()
    total = 0
    try:
        tps = [TopicPartition(changelog, p) for p in sorted(partitions)]
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        starts = await reader.beginning_offsets(tps)
        for tp in tps:
            store = stores[tp.partition]
            if store.offset + 1 > ends[tp] or store.offset + 1 < starts[tp]:
                # the local copy does not belong to this changelog (recreated or truncated
                # topic): start from nothing
                if store.offset >= 0:
                    logger.warning(
                        "local state of partition %d (offset %d) does not match "
                        "the changelog (%d-%d): rebuilt",
                        tp.partition,
                        store.offset,
                        starts[tp],
                        ends[tp],
                    )
                store.reset()
            position = max(store.offset + 1, starts[tp])
            if position >= ends[tp]:
                continue
            reader.seek(tp, position)
            while await reader.position(tp) < ends[tp]:
                fetched = await reader.getmany(tp, timeout_ms=1000, max_records=10_000)
                records = fetched.get(tp, [])
                if records:
                    store.write([(r.key, r.value) for r in records], records[-1].offset)
                    total += len(records)
    finally:
        await reader.stop()
    return total
