"""A group consumer's membership: rewinding a batch, offset commits, lag, rebalance callbacks.

The rule path (`agents.rules.RulesService`) and the Redis delivery
(`agents.delivery.DeliveryService`) each own an aiokafka consumer in a consumer group and
share these parts:

- `GroupMember`: going back to a batch's first offsets, committing (a refused commit means a
  rebalance moved the partitions on: the next owner takes the records again), proving
  membership before a write that must not land after the partitions' next owner's, and the
  lag behind the committed offsets;
- `CommitScheduler`: commits beside the batch loop, one at a time, coalesced, never backwards;
- `Rebalances`: aiokafka's rebalance callbacks handed to the service's `revoked` and
  `assigned`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError

from monitor.io.kafka_security import aiokafka_options
from monitor.io.settings import Settings

__all__ = [
    "CommitScheduler",
    "GroupMember",
    "MembershipLost",
    "Rebalances",
    "co_partitioned_consumer",
]

logger = logging.getLogger(__name__)


def co_partitioned_consumer(settings: Settings, client_id: str) -> AIOKafkaConsumer:
    """The rule path's consumer in the group `MONITOR_APP_ID`: partition p of every topic
    it subscribes to goes to one member (range assignment), offsets committed by hand, a new
    deployment reading the retained history."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        group_id=settings.app_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        partition_assignment_strategy=(RangePartitionAssignor,),
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        max_partition_fetch_bytes=max(1_048_576, settings.max_message_bytes + 65_536),
        session_timeout_ms=int(settings.session_timeout_s * 1000),
        heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
        **aiokafka_options(settings),
    )


class MembershipLost(KafkaError):
    """The group no longer counts this worker as the owner of the batch in hand."""


class GroupMember:
    """What the rule path and the Redis delivery share around their group consumer: going
    back to a batch's first offsets, committing, and the lag behind the committed offsets."""

    consumer: AIOKafkaConsumer | None
    committed: dict[TopicPartition, int]
    #: monotonic time at which the last accepted commit was sent: the group knew this
    #: member then
    proven_at: float = 0.0
    #: how long an accepted commit proves membership (the heartbeat interval)
    _lease_s: float = 0.0
    #: the warning when the group refuses a commit (a rebalance moved the partitions on)
    commit_refused = "offset commit refused (%s): the batch will be seen again"

    def _rewind(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Fetch these records again (for the partitions still held)."""
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        for tp, records in batch.items():
            if tp in assigned:
                self.consumer.seek(tp, records[0].offset)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None
        sent = time.monotonic()
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:
            # the group moved on (a rebalance): the next owner takes these records again,
            # which the state (rules) or the alert ids (Redis) recognise; nothing is lost
            logger.warning(self.commit_refused, type(exc).__name__)
            return
        self.committed.update(offsets)
        self.proven_at = max(self.proven_at, sent)

    async def _still_a_member(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Raise `MembershipLost` unless the group still counts this worker a member.

        An accepted commit shows the group counted this worker a member when it was sent.
        While the event loop runs, heartbeats go out every `_lease_s` and a session outlasts
        three of them, so a proof younger than `_lease_s` leaves a live session (short of a
        freeze of almost a whole session that ended just before that commit, with no
        heartbeat after it). Under load the commits of earlier batches keep the proof fresh
        and this costs nothing. After a freeze, an idle spell or failed commits, the batch's
        first offsets (everything before them is stored) are committed first: the group
        refuses a commit from a member it dropped. What remains is a freeze that begins in
        the instant between this check and the write reaching the broker; only a
        transactional producer per partition would close it."""
        if time.monotonic() - self.proven_at <= self._lease_s:
            return
        assert self.consumer is not None
        offsets = {tp: records[0].offset for tp, records in batch.items()}
        if not offsets:  # a batch without records (a deadline pass): what is committed
            held = self.consumer.assignment()
            offsets = {tp: offset for tp, offset in self.committed.items() if tp in held}
            if not offsets:
                raise MembershipLost("group membership not confirmed (nothing committed yet)")
        sent = time.monotonic()
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:
            raise MembershipLost(f"group membership not confirmed ({type(exc).__name__})") from exc
        self.committed.update(offsets)
        self.proven_at = max(self.proven_at, sent)

    def lag(self) -> dict[TopicPartition, int]:
        """Messages between the committed offset and the end, per assigned partition."""
        consumer = self.consumer
        if consumer is None:
            return {}
        lags = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lags[tp] = max(0, highwater - self.committed.get(tp, 0))
        return lags


class CommitScheduler:
    """Offset commits beside the batch loop. `add` takes the offsets of a batch whose
    outputs and states are acknowledged and starts a commit unless one is in flight: that
    one takes them up when it returns, so the offsets of several batches go in one commit.
    One commit at a time, each with later offsets than the one before: commits never go
    backwards. `drain` commits everything pending and waits (a revocation, a stop).

    Why: a broker answers a commit only after its group coordinator's append linger, so a
    loop that waited for the previous batch's commit would make every event wait for it
    too (docs/performance.md)."""

    def __init__(self, commit: Callable[[dict[TopicPartition, int]], Awaitable[None]]) -> None:
        self._commit = commit
        self._pending: dict[TopicPartition, int] = {}
        self._task: asyncio.Future[None] | None = None

    @property
    def pending(self) -> dict[TopicPartition, int]:
        return dict(self._pending)

    def add(self, offsets: dict[TopicPartition, int]) -> None:
        self._pending.update(offsets)
        task = self._task
        if task is not None:
            if not task.done():
                return
            task.result()  # a commit that failed unexpectedly stops the loop
        self._task = asyncio.ensure_future(self._run())

    async def drain(self) -> None:
        task = self._task
        if self._pending and (task is None or task.done()):
            if task is not None:
                task.result()
            task = self._task = asyncio.ensure_future(self._run())
        if task is not None:
            await task  # its loop also takes up whatever is added meanwhile
        if self._task is task:
            self._task = None

    async def _run(self) -> None:
        while self._pending:
            offsets, self._pending = self._pending, {}
            await self._commit(offsets)


class Rebalances(ConsumerRebalanceListener):
    """Hands aiokafka's rebalance callbacks to a service's `revoked` and `assigned`."""

    def __init__(self, service: Any) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.service.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.service.assigned(assigned)
