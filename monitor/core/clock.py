"""Deadlines on stream time: a partition's stream time and an index of next deadlines."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Hashable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

from monitor.core.state import CustomerState

if TYPE_CHECKING:
    from monitor.core.rules.base import Context

__all__ = ["DeadlineIndex", "DeadlineStage", "StreamTime", "deadline_context"]

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


@runtime_checkable
class DeadlineStage(Protocol):
    """A stage that decides deadlines: it tells the event time after which the earliest
    deadline of a state is decided (`grace_ms` included), or None when it has none."""

    def next_due_ms(self, state: CustomerState, grace_ms: int) -> int | None: ...


def deadline_context(ctx: Context) -> Context:
    """The context a deadline's finding is built in: nothing of the event or stream time
    that decided it (no branch code), so every way of deciding it gives the same finding."""
    return ctx if ctx.branch is None else replace(ctx, branch=None)


class StreamTime:
    """The stream time of one partition: the lowest, over the topics feeding it, of the
    latest event time seen on each. A topic not seen for longer than `idle_ms` of wall
    time no longer holds it back (when every topic is idle, the latest event time of any
    counts). A topic not seen at all holds it back from `started_wall_ms` until it is idle.
    Stream time never goes back. Wall times are given by the caller (epoch or monotonic ms).
    """

    __slots__ = ("_latest", "_seen_wall", "_time", "idle_ms")

    def __init__(self, topics: Iterable[str], idle_ms: int, started_wall_ms: float) -> None:
        self.idle_ms = idle_ms
        self._latest: dict[str, int | None] = dict.fromkeys(topics)
        self._seen_wall: dict[str, float] = dict.fromkeys(self._latest, started_wall_ms)
        self._time: int | None = None

    def observe(self, topic: str, event_ms: int, wall_ms: float) -> None:
        """An event of `topic` with event time `event_ms` was read at `wall_ms`."""
        latest = self._latest.get(topic)
        if latest is None or event_ms > latest:
            self._latest[topic] = event_ms
        self._seen_wall[topic] = wall_ms

    def time(self, wall_ms: float) -> int | None:
        """The stream time at wall time `wall_ms` (None until every topic that is not idle
        has been seen)."""
        active: list[int | None] = []
        seen: list[int] = []
        idle_before = wall_ms - self.idle_ms
        for topic, latest in self._latest.items():
            if latest is not None:
                seen.append(latest)
            if self._seen_wall[topic] >= idle_before:
                active.append(latest)
        if active:
            if None in active:
                return self._time
            now = min(t for t in active if t is not None)
        elif seen:
            now = max(seen)
        else:
            return self._time
        if self._time is None or now > self._time:
            self._time = now
        return self._time

    def latest(self) -> dict[str, int | None]:
        """The latest event time seen per topic (for gauges and tests)."""
        return dict(self._latest)


class DeadlineIndex(Generic[K]):
    """The next deadline of every customer that has one: a min-heap of (deadline, key)
    with lazy deletion (`set` pushes a new entry and the old one is skipped when it comes
    up). `pop_due` takes every customer whose deadline `now_ms` has passed (strictly
    later); the caller runs the engine's `advance` on them and sets their next deadline."""

    __slots__ = ("_current", "_heap")

    def __init__(self) -> None:
        self._current: dict[K, int] = {}
        self._heap: list[tuple[int, K]] = []

    def __len__(self) -> int:
        return len(self._current)

    def get(self, key: K) -> int | None:
        return self._current.get(key)

    def set(self, key: K, due_ms: int | None) -> None:
        """Record `key`'s next deadline (None: it has none)."""
        current = self._current
        if due_ms is None:
            current.pop(key, None)
            return
        if current.get(key) == due_ms:
            return
        current[key] = due_ms
        heap = self._heap
        heapq.heappush(heap, (due_ms, key))
        if len(heap) > 2 * len(current) + 1024:  # mostly stale entries: rebuild
            self._heap = [(due, k) for k, due in current.items()]
            heapq.heapify(self._heap)

    def head(self) -> int | None:
        """The earliest deadline in the index (None when empty)."""
        heap, current = self._heap, self._current
        while heap and current.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # a stale entry
        return heap[0][0] if heap else None

    def pop_due(self, now_ms: int) -> list[tuple[K, int]]:
        """Remove and return (key, deadline) of every customer whose deadline `now_ms` has
        passed, earliest first."""
        heap, current = self._heap, self._current
        due: list[tuple[K, int]] = []
        while heap and heap[0][0] < now_ms:
            due_ms, key = heapq.heappop(heap)
            if current.get(key) == due_ms:
                del current[key]
                due.append((key, due_ms))
        return due

    def clear(self) -> None:
        self._current.clear()
        self._heap.clear()
