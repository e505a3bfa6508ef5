"""Deadlines on stream time: a partition's stream time, an index of next deadlines, and the
horizon after which an idle account or conductor record is deleted."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Hashable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

from monitor.core.conductor import PERSON_KEY_PREFIX, ConductorCash
from monitor.core.network import ACCOUNT_KEY_PREFIX, Edge, Token
from monitor.core.state import DAY_MS, CustomerState

if TYPE_CHECKING:
    from monitor.core.pack import Pack
    from monitor.core.rules.base import Context

__all__ = [
    "IDLE_KEY_PREFIXES",
    "IDLE_KINDS",
    "DeadlineIndex",
    "DeadlineStage",
    "StreamTime",
    "deadline_context",
    "idle_horizon_ms",
    "is_idle_key",
    "rule_reach_ms",
]

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

    def pop_due(self, now_ms: int, most: int | None = None) -> list[tuple[K, int]]:
        """Remove and return (key, deadline) of every customer whose deadline `now_ms` has
        passed (at most `most` of them), earliest first."""
        heap, current = self._heap, self._current
        due: list[tuple[K, int]] = []
        while heap and heap[0][0] < now_ms and (most is None or len(due) < most):
            due_ms, key = heapq.heappop(heap)
            if current.get(key) == due_ms:
                del current[key]
                due.append((key, due_ms))
        return due

    def clear(self) -> None:
        self._current.clear()
        self._heap.clear()


#: how the keys of the records deleted when idle start: accounts' (`monitor.core.network`)
#: and conductors' (`monitor.core.conductor`); customers' records are never deleted
IDLE_KEY_PREFIXES: tuple[str, ...] = (ACCOUNT_KEY_PREFIX, PERSON_KEY_PREFIX)
#: what is applied to those records (no customer's: no deadline or final stage runs there)
IDLE_KINDS: frozenset[type] = frozenset({Edge, Token, ConductorCash})
_IDLE_PREFIXES_BYTES = tuple(p.encode() for p in IDLE_KEY_PREFIXES)
_HOUR_MS = 3_600_000


def is_idle_key(key: str | bytes) -> bool:
    """Whether `key` is an account's or a conductor's record (deleted once idle)."""
    if isinstance(key, bytes):
        return key.startswith(_IDLE_PREFIXES_BYTES)
    return key.startswith(IDLE_KEY_PREFIXES)


def rule_reach_ms(rule: object) -> int:
    """How far (event time) from an event a rule on account or conductor records reads the
    record's items: twice `window_days` (COUNTERPARTY_HUB groups the days of windows on both
    sides of the transfer's day: items up to 2 x window_days - 1 local days apart), the
    larger of `window_hours` and `hop_hours` (FUNDS_CYCLE: a path within window_hours, each
    hop within hop_hours), and at least two days (a same-day bucket, LV_CASH_CONDUCTOR:
    a local day lasts up to 25 hours)."""
    cfg = getattr(rule, "cfg", None)
    days = int(getattr(cfg, "window_days", 0) or 0)
    hours = max(int(getattr(cfg, "window_hours", 0) or 0), int(getattr(cfg, "hop_hours", 0) or 0))
    return max(2 * days * DAY_MS, hours * _HOUR_MS, 2 * DAY_MS)


def idle_horizon_ms(pack: Pack, rules: Iterable[object]) -> int:
    """How long (event time) an account's or a conductor's state record is kept after its
    last event (`watermark_ms`): once its partition's stream time has passed that by more,
    the record is deleted (the worker writes a tombstone, `agents.idle`; offline runs drop
    it, `monitor.tools.offline`). The horizon H is the sum of

    - the reach R: the longest `rule_reach_ms` of the enabled `rules` handling `Edge`,
      `Token` or `ConductorCash` (two days when there are none);
    - the deadline grace (`deadline_grace_hours`), how late an event may be and still count;
    - the redelivery guard: `state.retention_days` plus one day, how long (event time) a
      record remembers the ids of the events applied to it (`CustomerState.prune`) and the
      horizon within which the rules promise the same alerts in any arrival order.

    Why deleting a record never changes an alert. Deleted at stream time S > L + H (L its
    last event time); stream time never goes back, so an edge, path or cash E applied to
    the key afterwards (to a fresh record), with event time t, is one of two kinds:

    1. t > L + R: no rule reads an item further than R from E, so none of the deleted
       record's items; the kept record would have pruned them when E came (they are older
       than t - retention) and its remembered ids and once-only flags are of days R or more
       before E's. The fresh record decides E exactly as the kept one would have: the same
       alerts, the same ids. This is every event of a run in event-time order (the offline
       runs: they drop the records on the merged stream's time, the same outputs as
       keeping them).
    2. t <= L + R < S - grace - retention - 1 day: E is later than the rules' guarantees.
       It is in practice a redelivery (a batch applied again after its commit was lost, the
       second side of a transfer between two accounts of ours, a path forwarded again), so
       an event the deleted record had applied: the fresh record holds a subset of the
       items the deleted one held around t. What the three rules find only grows with the
       items: LV_CASH_CONDUCTOR's day total and customers served, COUNTERPARTY_HUB's
       customers in a window (below `max_customers`), FUNDS_CYCLE's paths (paired by a test
       on the pair alone). So whatever E raises on the subset was raised on the whole, and
       alert ids are built from what the finding is about (account, side, day and customer;
       conductor, day, direction and side; the cycle's transfers), never from the record:
       the same alert ids as already raised, each version no larger than the one raised
       (the compliance queue keeps the largest version of an id), or nothing. The caps
       (`max_customers`, `max_paths`, `max_fanout`, `max_window_items`) make a rule's
       findings depend on arrival order already; deletion adds nothing beyond them. The
       fresh record's last event time is t < S - H: the next sweep deletes it again.
    """
    reach = max(
        (rule_reach_ms(r) for r in rules if IDLE_KINDS.intersection(getattr(r, "handles", ()))),
        default=2 * DAY_MS,
    )
    config = pack.config
    grace = config.deadline_grace_hours * _HOUR_MS
    return reach + grace + (config.state.retention_days + 1) * DAY_MS
