"""Running the rule core outside the worker: over files or Kafka history, in event-time order.

The same `Engine` as the worker; events of all topics and partitions are merged by
(event time, topic, partition, offset), so a run over the same history gives the same
alerts whatever order the topics were read in. Memory: one state record per customer
plus a bounded reorder buffer."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from monitor.core.clock import DeadlineIndex, idle_horizon_ms, is_idle_key
from monitor.core.conductor import conductor_cash
from monitor.core.decode import Decoder, Rejection
from monitor.core.engine import Engine
from monitor.core.pack import Pack
from monitor.core.rules import Findings
from monitor.core.state import CustomerState
from monitor.io.gctune import tuned_gc

__all__ = [
    "KEY_MS_SHIFT",
    "TOPIC_RANK",
    "JsonlWriter",
    "OfflineRun",
    "RunStats",
    "file_source",
    "key_base",
    "keep_latest",
    "key_ms",
    "merge_key",
    "merge_sources",
    "run_offline",
    "run_offline_many",
]

#: the tie order of topics at equal event times: an account exists before it is used
TOPIC_RANK = {
    "account_opening": 0,
    "customer_update": 1,
    "remittance": 2,
    "transfer": 3,
    "cash": 4,
}

# The merge order (event time, topic rank, partition, offset) packed into one int, so the
# heaps compare plain ints instead of tuples: the fields lie side by side in fixed bit
# widths, and an int ordered that way orders as the tuple does (also for event times
# before 1970: the shifts are arithmetic).
_OFFSET_BITS = 50  # 10^15 offsets: three centuries at 100,000 messages/s
_PARTITION_BITS = 20
_RANK_BITS = 3
KEY_MS_SHIFT = _OFFSET_BITS + _PARTITION_BITS + _RANK_BITS

#: (merge key, event): `merge_key` orders it, `key_ms` gives the event time back
Item = tuple[int, Any]


def merge_key(event_ms: int, rank: int, partition: int, offset: int) -> int:
    """The merge order of an input as one int (see `KEY_MS_SHIFT`)."""
    return (event_ms << KEY_MS_SHIFT) | key_base(rank, partition, offset) | offset


def key_base(rank: int, partition: int, max_offset: int = 0) -> int:
    """The bits of a merge key that one partition's inputs share (rank and partition),
    checked once for every offset up to `max_offset`: a reader of that partition makes
    each key as `(event_ms << KEY_MS_SHIFT) | base | offset`, equal to `merge_key`."""
    if not (
        0 <= rank < 1 << _RANK_BITS
        and 0 <= partition < 1 << _PARTITION_BITS
        and 0 <= max_offset < 1 << _OFFSET_BITS
    ):
        raise ValueError(f"rank {rank}, partition {partition} or offset {max_offset} out of range")
    return ((rank << _PARTITION_BITS) | partition) << _OFFSET_BITS


def key_ms(key: int) -> int:
    """The event time (epoch ms) of a merge key."""
    return key >> KEY_MS_SHIFT


@dataclass
class RunStats:
    """Counts of one run. `alerts` counts findings (distinct `alert_id`s): a grown finding's
    newer versions count once."""

    events: int = 0
    invalid: int = 0
    duplicates: int = 0
    alerts: int = 0
    tasks: int = 0
    customers: int = 0
    seconds: float = 0.0
    invalid_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def file_source(path: Path, kind: str, decoder: Decoder, stats: RunStats) -> Iterator[Item]:
    """Decoded events of one JSONL file (one input value per line), in file order."""
    rank = TOPIC_RANK[kind]
    with path.open("rb") as handle:
        for offset, line in enumerate(handle):
            line = line.strip()
            if not line:
                continue
            event = decoder.decode(kind, line)
            if isinstance(event, Rejection):
                stats.invalid += 1
                stats.invalid_by_reason[event.reason] = (
                    stats.invalid_by_reason.get(event.reason, 0) + 1
                )
                continue
            yield merge_key(int(event.event_time.timestamp() * 1000), rank, 0, offset), event


def merge_sources(
    sources: Iterable[Iterator[Item]], reorder_window: int = 100_000
) -> Iterator[Item]:
    """Merge sources (each roughly in event-time order) into event-time order. A bounded
    heap of `reorder_window` items absorbs disorder inside a source."""
    merged = heapq.merge(*sources, key=itemgetter(0))
    heap: list[tuple[int, int, Any]] = []
    counter = itertools.count()  # equal keys (two sources of one kind) never compare events
    for key, event in merged:
        heapq.heappush(heap, (key, next(counter), event))
        if len(heap) > reorder_window:
            key, _, event = heapq.heappop(heap)
            yield key, event
    while heap:
        key, _, event = heapq.heappop(heap)
        yield key, event


@dataclass
class OfflineRun:
    """Applies the pack to merged events; `on_findings` receives each event's findings (a
    grown finding once per version, as the worker emits it).

    The merged stream's time (the latest event time applied) is the stream time of every
    customer: before an event moves it on, every deadline it passes is decided (`advance`),
    for quiet customers too, from an index of next deadlines. Then, with `drop_idle`, every
    account or conductor record it has passed by more than the pack's horizon is dropped
    (`monitor.core.clock.idle_horizon_ms`, as the worker deletes them): memory stays bounded
    over a long run, and the outputs are the same as keeping them."""

    pack: Pack
    on_findings: Callable[[Findings], None]
    detected_at: datetime
    engine: Engine = field(init=False)
    states: dict[str, CustomerState] = field(default_factory=dict)
    stats: RunStats = field(default_factory=RunStats)
    alert_ids: set[str] = field(default_factory=set, repr=False)  # findings counted
    deadlines: DeadlineIndex[str] = field(default_factory=DeadlineIndex)
    stream_ms: int | None = None
    drop_idle: bool = True
    #: account and conductor records' expiry (last event time + the idle horizon)
    idle: DeadlineIndex[str] = field(default_factory=DeadlineIndex, repr=False)
    idle_ms: int = field(init=False)
    #: whether `apply` applies what an event re-keys (off: replay's first pass, whose
    #: second pass applies it, `monitor.tools.replay_accounts`)
    across: bool = True

    def __post_init__(self) -> None:
        self.engine = Engine(self.pack)
        self.idle_ms = idle_horizon_ms(self.pack, self.engine.rules)
        self._rekeys = self.engine.conductors or self.engine.network

    def apply(self, event: Any, event_ms: int, emit: bool = True) -> None:
        """One event through the engine; its findings go to `on_findings` when `emit`. What
        it re-keys (`rekeyed`) is then applied to those records, as the worker does after
        re-keying it, unless `across` is off."""
        self.stats.events += 1
        self._apply(event, event_ms, emit, True)
        if self.across and self._rekeys:
            for item in self.rekeyed(event):
                self._apply(item, event_ms, emit, False)

    def rekeyed(self, event: Any) -> list[Any]:
        """What `event` applies to records that are no customer's, in the order `apply`
        applies them: cash with a conductor to the conductor's record when the pack
        aggregates per conductor (`monitor.core.conductor`), a transfer or remittance to
        its accounts' records when the pack has rules across customers (`monitor.core.
        network`)."""
        engine = self.engine
        items: list[Any] = []
        if engine.conductors:
            person = conductor_cash(event)
            if person is not None:
                items.append(person)
        if engine.network:
            items.extend(engine.edges(event))
        return items

    def apply_rekeyed(self, item: Any, event_ms: int, emit: bool = True) -> None:
        """One item of `rekeyed` (of an event at `event_ms`) to its record, with the paths
        it forwards; no input event is counted."""
        self._apply(item, event_ms, emit, False)

    def _apply(self, event: Any, event_ms: int, emit: bool, count_duplicate: bool) -> None:
        stats = self.stats
        if self.stream_ms is None or event_ms > self.stream_ms:
            self.advance(event_ms, emit)
        outcome = self.engine.process(
            self.states.get(event.customer_id), event, self.detected_at, event_ms
        )
        self.states[event.customer_id] = outcome.state
        self.deadlines.set(event.customer_id, self.engine.next_deadline_ms(outcome.state))
        if self.drop_idle and is_idle_key(event.customer_id):
            self.idle.set(event.customer_id, outcome.state.watermark_ms + self.idle_ms)
        if outcome.duplicate:
            if count_duplicate:
                stats.duplicates += 1
            return
        if emit:
            self._emit(outcome.findings)
        for forward in outcome.findings.forwards:  # a path to the next account's record
            self._apply(forward, int(forward.event_time.timestamp() * 1000), emit, False)

    def _emit(self, findings: Findings) -> None:
        if findings.alerts or findings.tasks:
            seen, stats = self.alert_ids, self.stats
            for alert in findings.alerts:
                if alert.alert_id not in seen:
                    seen.add(alert.alert_id)
                    stats.alerts += 1
            stats.tasks += len(findings.tasks)
            self.on_findings(findings)

    def advance(self, now_ms: int, emit: bool = True) -> None:
        """Move the stream time to `now_ms`, deciding every deadline it passes."""
        self.stream_ms = now_ms
        engine, states = self.engine, self.states
        for customer_id, _ in self.deadlines.pop_due(now_ms):
            state = states[customer_id]
            findings = engine.advance(state, now_ms, self.detected_at).findings
            self.deadlines.set(customer_id, engine.next_deadline_ms(state))
            if emit:
                self._emit(findings)
        for key, _ in self.idle.pop_due(now_ms):  # idle account and conductor records
            del states[key]
            self.deadlines.set(key, None)

    def run(
        self,
        items: Iterable[Item],
        progress: Callable[[RunStats], None] | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> RunStats:
        started = time.perf_counter()
        apply, stats = self.apply, self.stats
        last_report = started
        for key, event in items:
            event_ms = key >> KEY_MS_SHIFT
            if (start_ms is not None and event_ms < start_ms) or (
                end_ms is not None and event_ms >= end_ms
            ):
                continue
            apply(event, event_ms)
            if progress is not None and stats.events % 10_000 == 0:
                now = time.perf_counter()
                if now - last_report > 0.5:
                    stats.seconds = now - started
                    progress(stats)
                    last_report = now
        stats.seconds = time.perf_counter() - started
        stats.customers = len(self.states)
        return stats


class JsonlWriter:
    """Alerts and tasks as JSONL files (`alerts.jsonl`, `reid-tasks.jsonl`). Like every
    consumer of `aml.alerts`, the file keeps the latest version of each `alert_id` (a grown
    large-value report is emitted once per version): `close` drops the earlier versions,
    leaving the latest where it was written."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "alerts.jsonl"
        self.alerts = self.path.open("wb")
        self.tasks = (out / "reid-tasks.jsonl").open("wb")
        self._versions: dict[str, int] = {}  # alert_id -> versions written

    def __call__(self, findings: Findings) -> None:
        versions = self._versions
        for alert in findings.alerts:
            versions[alert.alert_id] = versions.get(alert.alert_id, 0) + 1
            self.alerts.write(alert.model_dump_json().encode() + b"\n")
        for task in findings.tasks:
            self.tasks.write(task.model_dump_json().encode() + b"\n")

    def close(self) -> None:
        self.alerts.close()
        self.tasks.close()
        later = {k: n for k, n in self._versions.items() if n > 1}
        if later:
            keep_latest(self.path, later)


def keep_latest(path: Path, versions: dict[str, int]) -> None:
    """Rewrite the alerts JSONL `path` without the earlier versions of the alert ids in
    `versions` (alert_id -> how many versions the file holds), streaming."""
    left = dict(versions)
    tmp = path.with_name(path.name + ".tmp")
    with path.open("rb") as src, tmp.open("wb") as dst:
        for line in src:
            if not line.strip():
                continue
            alert_id = orjson.loads(line).get("alert_id")
            if alert_id in left:
                left[alert_id] -= 1
                if left[alert_id]:
                    continue  # a later version follows
            dst.write(line)
    tmp.replace(path)


def run_offline(
    pack: Pack,
    data_dir: Path,
    out: Callable[[Findings], None],
    detected_at: datetime,
    progress: Callable[[RunStats], None] | None = None,
) -> RunStats:
    """Run a pack over a directory of `<topic>.jsonl` files (as `monitor simulate` writes)."""
    from monitor.tools.simulate import TOPIC_FILES

    decoder = Decoder(pack.fx)
    runner = OfflineRun(pack, out, detected_at)
    sources = [
        file_source(data_dir / f"{topic}.jsonl", kind, decoder, runner.stats)
        for topic, kind in TOPIC_FILES.items()
        if (data_dir / f"{topic}.jsonl").exists()
    ]
    with tuned_gc():  # every customer's state stays in memory: a large, long-lived heap
        return runner.run(merge_sources(sources), progress)


def run_offline_many(
    packs: list[Pack],
    data_dir: Path,
    outs: list[Callable[[Findings], None]],
    detected_at: datetime,
) -> tuple[int, list[RunStats]]:
    """Run several packs (variants sharing one FX table) over one read of `data_dir`: each
    input line is decoded once and each event goes to one `OfflineRun` (engine and states)
    per pack. Returns the number of lines decoded and each pack's stats."""
    from monitor.tools.simulate import TOPIC_FILES

    decoder = Decoder(packs[0].fx)
    shared = RunStats()
    runners = [OfflineRun(pack, out, detected_at) for pack, out in zip(packs, outs, strict=True)]
    sources = [
        file_source(data_dir / f"{topic}.jsonl", kind, decoder, shared)
        for topic, kind in TOPIC_FILES.items()
        if (data_dir / f"{topic}.jsonl").exists()
    ]
    started = time.perf_counter()
    with tuned_gc():
        for key, event in merge_sources(sources):
            shared.events += 1
            event_ms = key >> KEY_MS_SHIFT
            for runner in runners:
                runner.apply(event, event_ms)
    seconds = time.perf_counter() - started
    for runner in runners:
        runner.stats.seconds = seconds
        runner.stats.customers = len(runner.states)
        runner.stats.invalid = shared.invalid
        runner.stats.invalid_by_reason = dict(shared.invalid_by_reason)
    return shared.events + shared.invalid, [runner.stats for runner in runners]
