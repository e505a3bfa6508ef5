"""The rule path's deadline clock: each assigned partition's stream time and the next
deadlines of the customers whose state it holds.

Partition p is fed by partition p of every input topic and of the internal events topic.
Its stream time is the lowest, over those topics, of the latest event time seen on each
(`monitor.core.clock.StreamTime`): a topic lagging behind holds it back, one that has
brought nothing for `MONITOR_INPUT_IDLE_MS` of wall time does not. After each batch (and
about once a second without one, when idle topics let stream time move on) every customer
of p whose next deadline the stream time has passed is taken from p's index, given to the
engine's `advance`, and its findings and new state go out through the batch's own write
path: outputs acknowledged, then the state, then the offsets. The index is built from the
store when a partition is assigned (or taken back, when the partition returns with its
store unchanged) and follows every state a batch writes once it is stored; the customers
taken for a batch that fails to be written are put back before the next one. The same pass
over the store indexes the account and conductor records that are deleted once idle, and
the same deadline pass deletes them (`agents.idle`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from aiokafka import TopicPartition

from agents.idle import IdleRecords
from agents.state_store import Store
from monitor.core.clock import DeadlineIndex, StreamTime, idle_horizon_ms
from monitor.core.engine import Engine
from monitor.core.rules import Findings
from monitor.core.state import CustomerState
from monitor.io.metrics import Metrics
from monitor.io.settings import Settings

__all__ = ["DeadlineClock"]

logger = logging.getLogger(__name__)

#: (customer key, state, partition, findings) of one customer whose deadline passed
Fired = tuple[bytes, CustomerState, int, Findings]


class DeadlineClock:
    """Stream time and deadline index per assigned partition, for one `RulesService`."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        metrics: Metrics,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.topics = (*settings.input_topics.values(), settings.events_topic)
        self.idle_ms = settings.input_idle_ms
        self._alerts_topic, self._tasks_topic = settings.topic_alerts, settings.topic_reid_tasks
        self._cache_size = settings.state_cache
        self._wall = wall
        self.streams: dict[int, StreamTime] = {}
        self.indexes: dict[int, DeadlineIndex[bytes]] = {}
        #: (partition, key, deadline) taken for a batch whose states are not stored yet
        self._taken: list[tuple[int, bytes, int]] = []
        #: the indexes of revoked partitions, with the store offset they reflect
        self._parked: dict[int, tuple[int, DeadlineIndex[bytes]]] = {}
        #: idle account and conductor records, deleted on stream time (`agents.idle`)
        self.idle = IdleRecords(idle_horizon_ms(engine.pack, engine.rules), metrics)

    def _wall_ms(self) -> float:
        return self._wall() * 1000.0

    # -- partitions -----------------------------------------------------------------------
    def assign(self, partitions: Iterable[int], stores: Mapping[int, Store]) -> None:
        """The partitions now assigned, their stores restored: index each (`index`)."""
        assigned = set(partitions)
        for partition in [p for p in self._parked if p not in assigned]:
            del self._parked[partition]
        self.idle.keep_parked(assigned)
        for partition in sorted(assigned):
            self.index(partition, stores[partition])
        self.metrics.idle_records.set(len(self.idle))

    def index(self, partition: int, store: Store) -> int:
        """Start `partition`'s stream time afresh and index the next deadline of each state
        of its store, or take back the index it had when it was revoked if the store has
        not moved since. Returns the customers indexed."""
        self.streams[partition] = StreamTime(self.topics, self.idle_ms, self._wall_ms())
        self._taken = [t for t in self._taken if t[0] != partition]
        parked = self._parked.pop(partition, None)
        if parked is not None and parked[0] == store.offset and self.idle.take_back(partition):
            self.indexes[partition] = parked[1]
            return len(parked[1])
        index: DeadlineIndex[bytes] = DeadlineIndex()
        next_deadline = self.engine.next_deadline_ms
        idle, note_idle = self.idle.start(partition), self.idle.note
        for key, raw in store.items():
            state = CustomerState.from_bytes(raw)
            index.set(key, next_deadline(state))
            note_idle(idle, key, state)
        self.indexes[partition] = index
        return len(index)

    def revoke(self, partition: int, stores: Mapping[int, Store]) -> None:
        """Forget `partition`, keeping its index aside (with the offset its store reflects)
        in case it comes back before anyone else changes its states."""
        self.streams.pop(partition, None)
        index = self.indexes.pop(partition, None)
        self._taken = [t for t in self._taken if t[0] != partition]
        store = stores.get(partition)
        if index is not None and store is not None:
            self._parked[partition] = (store.offset, index)
        self.idle.park(partition, index is not None and store is not None)

    # -- events ---------------------------------------------------------------------------
    def observing(
        self, tp: TopicPartition, decode: Callable[[str, bytes | None], Any]
    ) -> Callable[[str, bytes | None], Any]:
        """`decode` for the records of `tp`, noting each valid event's time (`observe`)."""
        stream = self.streams.get(tp.partition)
        if stream is None:
            return decode
        topic, note, wall = tp.topic, stream.observe, self._wall

        def observed(kind: str, value: bytes | None) -> Any:
            decoded = decode(kind, value)
            event_time = getattr(decoded, "event_time", None)  # a Rejection has none
            if event_time is not None:
                note(topic, int(event_time.timestamp() * 1000), wall() * 1000.0)
            return decoded

        return observed

    def stream_time(self, partition: int) -> int | None:
        stream = self.streams.get(partition)
        return stream.time(self._wall_ms()) if stream is not None else None

    def stream_times(self) -> dict[int, int]:
        """The stream time of every assigned partition that has one."""
        wall_ms = self._wall_ms()
        times = {p: stream.time(wall_ms) for p, stream in self.streams.items()}
        return {p: t for p, t in times.items() if t is not None}

    def has_due(self) -> bool:
        """Whether some partition's stream time has passed a deadline of its index, or the
        expiry of an idle record (`agents.idle`)."""
        self._put_back()
        wall_ms = self._wall_ms()
        for partition, stream in self.streams.items():
            now_ms = stream.time(wall_ms)
            head = self.indexes[partition].head()
            if now_ms is not None and head is not None and head < now_ms:
                return True
        return self.idle.has_due(self.stream_times())

    # -- the deadline pass ----------------------------------------------------------------
    def decide(
        self,
        touched: MutableMapping[bytes, list[Any]],
        cache: MutableMapping[bytes, CustomerState],
        stores: Mapping[int, Store],
        add: Callable[..., Any],
    ) -> None:
        """The deadline pass of a batch: `fire`, with states taken out of `cache` or read
        from `stores`, and the findings queued with `add` beside the batch's outputs; then
        the idle account and conductor records are marked deleted in `touched` (`agents.
        idle`: key -> [None, partition], a tombstone the batch writes)."""

        def load(key: bytes, partition: int) -> CustomerState | None:
            state = cache.pop(key, None)  # out of the cache while the batch may change it
            if state is None:
                raw = stores[partition].get(key)
                state = CustomerState.from_bytes(raw) if raw is not None else None
            return state

        def keep(key: bytes, state: CustomerState) -> None:
            if self._cache_size:
                cache[key] = state

        metrics = self.metrics
        for key, _, partition, findings in self.fire(touched, load, keep, datetime.now(UTC)):
            for alert in findings.alerts:
                add(self._alerts_topic, partition, key, alert.model_dump_json().encode())
                metrics.alerts.labels(alert.rule_id).inc()
            for task in findings.tasks:
                add(self._tasks_topic, partition, key, task.model_dump_json().encode())
                metrics.tasks.labels(task.trigger).inc()
        stream_times = self.stream_times()
        self.idle.sweep(stream_times, touched, cache)
        for partition, stream_ms in stream_times.items():
            metrics.stream_time.labels(str(partition)).set(stream_ms / 1000)

    def fire(
        self,
        touched: MutableMapping[bytes, list[Any]],
        load: Callable[[bytes, int], CustomerState | None],
        keep: Callable[[bytes, CustomerState], None],
        detected_at: datetime,
    ) -> list[Fired]:
        """Advance every customer whose deadline its partition's stream time has passed.

        A customer already changed by the batch (`touched`: key -> [state, partition]) is
        advanced in place; any other is loaded with `load` (which takes it out of any
        cache). Customers with findings are added to `touched`, so their states are written
        with the batch, and returned for their outputs; the others are indexed again at
        once and, when loaded, handed back with `keep`."""
        self._put_back()
        advance, next_deadline = self.engine.advance, self.engine.next_deadline_ms
        fired: list[Fired] = []
        wall_ms = self._wall_ms()
        for partition, stream in self.streams.items():
            now_ms = stream.time(wall_ms)
            if now_ms is None:
                continue
            index = self.indexes[partition]
            for key, due_ms in index.pop_due(now_ms):
                self._taken.append((partition, key, due_ms))
                held = touched.get(key)
                state = held[0] if held is not None else load(key, partition)
                if state is None:
                    continue
                rating_before = state.risk.get("rating")
                try:
                    findings = advance(state, now_ms, detected_at).findings
                except Exception as exc:  # a bug: never let one customer stop the partition
                    # the type only: an exception's text may quote identity data
                    logger.error(
                        "rule core failed deciding deadlines on partition %d: %s",
                        partition,
                        type(exc).__name__,
                    )
                    continue  # left out of the index until its next event
                rating = state.risk.get("rating")
                if rating is not None and rating != rating_before:
                    self.metrics.risk_rating_changes.labels(rating).inc()
                if findings.alerts or findings.tasks:
                    touched[key] = [state, partition]
                    fired.append((key, state, partition, findings))
                elif held is None:
                    index.set(key, next_deadline(state))
                    keep(key, state)
        return fired

    def settle(self, stored: Mapping[bytes, list[Any]]) -> None:
        """The batch's states are stored (None: deleted): index each one's next deadline
        and, for account and conductor records, its expiry (`agents.idle`)."""
        next_deadline = self.engine.next_deadline_ms
        indexes = self.indexes
        for key, (state, partition) in stored.items():
            index = indexes.get(partition)
            if index is not None:
                index.set(key, next_deadline(state) if state is not None else None)
        self._taken.clear()
        self.idle.settle(stored)

    def _put_back(self) -> None:
        """Index again the customers taken for a batch that was never stored."""
        if not self._taken:
            return
        for partition, key, due_ms in self._taken:
            index = self.indexes.get(partition)
            if index is not None and index.get(key) is None:
                index.set(key, due_ms)
        logger.info("deadlines of %d customers put back after an unwritten batch", len(self._taken))
        self._taken.clear()
