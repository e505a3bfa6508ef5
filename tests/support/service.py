"""The worker's rule path without a broker: a `RulesService` on memory stores whose batch
writer collects what a batch would write, and records as a consumer's `getmany` returns
them. What the unit tests of the batch path share."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from agents.clock import DeadlineClock
from agents.rules import RulesService
from agents.state_store import MemoryStore
from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.pack import Pack
from monitor.io.metrics import Metrics
from monitor.io.settings import load_settings

__all__ = ["FakeWriter", "Wall", "apply", "detached_service", "home_batch", "record"]

#: what `FakeWriter.written` holds a row of
Row = tuple[str, int, bytes, bytes | None, int | None, Any]


class FakeWriter:
    """Collects what a batch writes as (topic, partition, key, value, timestamp, headers)
    rows; `fail` makes the next flush fail as a broker that does not answer would."""

    def __init__(self) -> None:
        self.queued: list[Row] = []
        self.written: list[Row] = []
        self.fail = False

    def add(
        self,
        topic: str,
        partition: int,
        key: bytes,
        value: bytes | None,
        timestamp: int | None = None,
        headers: Any = None,
    ) -> None:
        self.queued.append((topic, partition, key, value, timestamp, headers))

    async def flush(self) -> dict[tuple[str, int], int]:
        if self.fail:
            self.fail = False
            raise KafkaTimeoutError()
        self.written.extend(self.queued)
        offsets = {(t, p): len(self.written) for t, p, *_ in self.queued}
        self.queued = []
        return offsets

    def discard(self) -> None:
        self.queued = []


class Wall:
    """A wall clock the test moves (`now`, seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def detached_service(
    pack: Pack, partitions: int = 1, wall: Wall | None = None, **settings: Any
) -> tuple[RulesService, FakeWriter]:
    """A rule path that holds `partitions` memory stores, its membership proven and its
    commits dropped. With a `wall`, its deadline clock reads it and knows the partitions
    (as after an assignment)."""
    config = load_settings(partitions=partitions, store="memory", **settings)
    engine = Engine(pack)
    svc = RulesService(config, engine, Decoder(pack.fx), Metrics.create(CollectorRegistry()))
    writer = FakeWriter()
    svc.writer = writer  # type: ignore[assignment]
    svc.commits = SimpleNamespace(add=lambda offsets: None)  # type: ignore[assignment]
    svc.proven_at = float("inf")  # membership proven
    for p in range(partitions):
        svc.stores[p] = MemoryStore()
    if wall is not None:
        svc.deadlines = DeadlineClock(engine, config, svc.metrics, wall=wall)
        svc.deadlines.assign(list(range(partitions)), svc.stores)
    return svc, writer


def record(
    topic: str, partition: int, offset: int, key: bytes, value: bytes | None, headers: Any = ()
) -> SimpleNamespace:
    """A consumer record as the batch path reads it."""
    return SimpleNamespace(
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        timestamp=1,
        headers=headers,
    )


def home_batch(svc: RulesService, kind: str, events: list[Any]) -> dict[TopicPartition, list[Any]]:
    """The `events` of input `kind` on their customers' home partitions of its topic."""
    topic = svc.settings.input_topics[kind]
    out: dict[TopicPartition, list[Any]] = {}
    for n, event in enumerate(events):
        key = event.customer_id.encode()
        part = svc.home_partition(key)
        out.setdefault(TopicPartition(topic, part), []).append(
            record(topic, part, n, key, event.model_dump_json().encode())
        )
    return out


def apply(svc: RulesService, batch: dict[TopicPartition, list[Any]]) -> None:
    """One batch through the service's batch path (what its consume loop does)."""
    asyncio.run(svc._apply_batch(batch))  # noqa: SLF001
