"""Idle account and conductor records deleted on stream time: tombstones on the changelog.

The rules across customers keep a record per counterparty account (`account:<fingerprint>`,
`monitor.core.network`) and LV_CASH_CONDUCTOR one per conductor (`conductor:<fingerprint>`,
`monitor.core.conductor`), in the same per-partition store and changelog as the customers'
records. Every account ever paid would keep its record forever; instead, once a partition's
stream time has passed a record's last event time by more than the pack's horizon
(`monitor.core.clock.idle_horizon_ms`, which also argues why that never changes an alert),
the record is deleted. Customers' own records are never deleted.

`IdleRecords` keeps, per assigned partition, an index of these records' expiry times (last
event time + horizon), built from the store when the partition is assigned (by
`agents.clock.DeadlineClock.index`, in the same pass over the store as the deadlines) and
following every state a batch stores, so a sweep never scans the store. The sweep (`sweep`,
from `DeadlineClock.decide`) marks each expired record of the batch as deleted: its key
goes into the batch's `touched` map with no state, so the batch's write path (`agents.rules`)
writes a tombstone (a null value) on the compacted changelog after the membership proof,
waits for it to be acknowledged and removes the key from the local store before the batch's
offsets become committable; the key leaves the worker's cache at once. A batch that fails to
be written leaves the store as it was, and the swept keys are indexed again (`put_back`). A
restore reads a tombstone as a deletion (`agents.state_store` `write` with None).

If compaction removed a tombstone before a stopped worker's RocksDB store read it (the
topic's `delete.retention.ms`), the record comes back with that store; its last event time
is as old as it was, so the first sweep deletes it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from monitor.core.clock import DeadlineIndex, is_idle_key
from monitor.core.state import CustomerState
from monitor.io.metrics import Metrics

__all__ = ["IdleRecords"]

logger = logging.getLogger(__name__)

_MOST_PER_BATCH = 10_000  # tombstones written with one batch; the rest with the next ones


class IdleRecords:
    """The expiry index of each assigned partition's account and conductor records."""

    def __init__(self, horizon_ms: int, metrics: Metrics) -> None:
        self.horizon_ms = horizon_ms
        self.metrics = metrics
        self.indexes: dict[int, DeadlineIndex[bytes]] = {}
        #: (partition, key, expiry) swept for a batch whose states are not stored yet
        self._taken: list[tuple[int, bytes, int]] = []
        self._parked: dict[int, DeadlineIndex[bytes]] = {}

    def __len__(self) -> int:
        return sum(len(index) for index in self.indexes.values())

    # -- partitions -----------------------------------------------------------------------
    def start(self, partition: int) -> DeadlineIndex[bytes]:
        """A fresh index for `partition` (filled with `note` while its store is read)."""
        self._taken = [t for t in self._taken if t[0] != partition]
        self._parked.pop(partition, None)
        index: DeadlineIndex[bytes] = DeadlineIndex()
        self.indexes[partition] = index
        return index

    def note(self, index: DeadlineIndex[bytes], key: bytes, state: CustomerState) -> None:
        """Index `state`'s expiry if `key` is an account's or a conductor's record."""
        if is_idle_key(key):
            index.set(key, state.watermark_ms + self.horizon_ms)

    def park(self, partition: int, keep: bool) -> None:
        """`partition` was revoked: keep its index aside (`take_back`) if `keep`."""
        self._taken = [t for t in self._taken if t[0] != partition]
        index = self.indexes.pop(partition, None)
        self._parked.pop(partition, None)
        if index is not None and keep:
            self._parked[partition] = index

    def take_back(self, partition: int) -> bool:
        """`partition` came back with its store unchanged: take its parked index back.
        False when there is none (then `start` one)."""
        self._taken = [t for t in self._taken if t[0] != partition]
        index = self._parked.pop(partition, None)
        if index is None:
            return False
        self.indexes[partition] = index
        return True

    def keep_parked(self, assigned: Iterable[int]) -> None:
        """Drop the parked indexes of the partitions not in `assigned` (assigned elsewhere)."""
        kept = set(assigned)
        for partition in [p for p in self._parked if p not in kept]:
            del self._parked[partition]

    # -- the sweep ------------------------------------------------------------------------
    def has_due(self, stream_times: Mapping[int, int]) -> bool:
        """Whether some partition's stream time has passed an expiry of its index."""
        self.put_back()
        for partition, now_ms in stream_times.items():
            index = self.indexes.get(partition)
            head = index.head() if index is not None else None
            if head is not None and head < now_ms:
                return True
        return False

    def sweep(
        self,
        stream_times: Mapping[int, int],
        touched: MutableMapping[bytes, list[Any]],
        cache: MutableMapping[bytes, CustomerState],
    ) -> int:
        """Mark every record whose expiry its partition's stream time has passed as deleted:
        `touched[key] = [None, partition]` (the batch writes a tombstone), out of `cache`.
        A record the batch changed is deleted only if its new state has expired too (an old
        redelivery applied to it); else `settle` indexes its new expiry. At most
        `_MOST_PER_BATCH` records a call. Returns the records marked."""
        self.put_back()
        marked, left = 0, _MOST_PER_BATCH
        horizon = self.horizon_ms
        for partition, now_ms in stream_times.items():
            index = self.indexes.get(partition)
            if index is None or left <= 0:
                continue
            for key, expiry in index.pop_due(now_ms, left):
                self._taken.append((partition, key, expiry))
                held = touched.get(key)
                if held is not None:
                    state = held[0]
                    if state is None or state.watermark_ms + horizon >= now_ms:
                        continue
                cache.pop(key, None)
                touched[key] = [None, partition]
                marked += 1
            left = _MOST_PER_BATCH - marked
        return marked

    def settle(self, stored: Mapping[bytes, list[Any]]) -> None:
        """The batch's states are stored (None: deleted): index each record's new expiry,
        count the tombstones."""
        deleted = 0
        horizon = self.horizon_ms
        indexes = self.indexes
        for key, (state, partition) in stored.items():
            if state is None:
                deleted += 1
                continue
            index = indexes.get(partition)
            if index is not None and is_idle_key(key):
                index.set(key, state.watermark_ms + horizon)
        self._taken.clear()
        if deleted:
            self.metrics.tombstones.inc(deleted)
            logger.debug("%d idle account or conductor records deleted", deleted)
        self.metrics.idle_records.set(len(self))

    def put_back(self) -> None:
        """Index again the records swept for a batch that was never stored."""
        if not self._taken:
            return
        for partition, key, expiry in self._taken:
            index = self.indexes.get(partition)
            if index is not None and index.get(key) is None:
                index.set(key, expiry)
        self._taken.clear()
