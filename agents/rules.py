"""The rule path: input topics in, rule core, alerts, tasks and state out, in batches.

Faust's agents deliver one message at a time through its consumer thread, the conductor and
a stream iterator: measured here, that machinery alone holds a worker near 5,000 events/s
before any rule runs (docs/performance.md). The rule path therefore runs as a Faust service
(`mode.Service`, started and stopped with the app) around its own aiokafka consumer, in the
consumer group named by `MONITOR_APP_ID`, and keeps Faust's guarantees itself:

- Partition p of every input topic, of the internal events topic and of the state changelog
  belong together (range assignment, one partition count everywhere). A valid event whose
  partition is its customer's home partition (murmur2 of the customer id, what Java and
  aiokafka producers keyed by customer id use) is applied at once; any other is forwarded
  to the events topic on its home partition and applied when it comes back, so every
  customer has one partition and one state record.
- A batch (one `getmany`) is applied event by event, in order, each event seeing the state
  the previous one left. Then, in this order: the batch's alerts, tasks, dead letters and
  forwards are written and acknowledged by Kafka; each touched customer's final state is
  written to the changelog and acknowledged; the local store takes it; the batch's offsets
  become committable. Commits run beside the next batches, one at a time, each taking every
  offset that became committable meanwhile (the loop never waits for a commit). A crash
  anywhere before the commit replays the batch: the state says which events it has seen,
  the same alert ids come out again, the Redis sink keeps one of each.
- A rebalance cannot cut a batch: the revocation callback waits for the batch in hand and
  commits every committable offset before the partitions go. A
  batch fetched before a rebalance is not applied after it (it is fetched again from the
  committed offset). Partitions that arrive are brought up to date from the changelog
  before any of their events is applied.
- A failure to write (Kafka away) keeps the batch: nothing is stored or committed, the
  consumer goes back to the batch's first offsets and tries again with a growing pause.
- A worker that was frozen (a paused VM, a stopped process, a lost coordinator) may have
  been dropped from the group while it held a batch; the partitions' next owner then
  applies the batch itself. Before writing states, a worker whose last proof of
  membership (an accepted offset commit) is older than one heartbeat interval proves it
  again with a commit of the batch's first offsets; if the group refuses, the states are
  not written (`MembershipLost`), so a stale state never lands after the new owner's.
  What remains is a freeze that begins in the instant between that check and the write
  reaching the broker; only a transactional producer per partition would close it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from mode import Service

from agents.batch_writer import BatchWriter
from agents.clock import DeadlineClock, queue_fired
from agents.state_store import MemoryStore, RocksStore, Store
from monitor.core.decode import KINDS, Decoder, Rejection
from monitor.core.engine import Engine
from monitor.core.state import CustomerState
from monitor.io.kafka_security import aiokafka_options
from monitor.io.metrics import Metrics
from monitor.io.settings import Settings
from schemas import DeadLetter

__all__ = [
    "KIND_HEADER",
    "CommitScheduler",
    "GroupMember",
    "MembershipLost",
    "Rebalances",
    "RulesService",
]

logger = logging.getLogger(__name__)

KIND_HEADER = "aml-kind"


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


class RulesService(GroupMember, Service):
    """The consumer, the stores and the batch loop. One per worker process."""

    def __init__(
        self, settings: Settings, engine: Engine, decoder: Decoder, metrics: Metrics, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.engine = engine
        self.decoder = decoder
        self.metrics = metrics
        self.kind_of_topic = {topic: kind for kind, topic in settings.input_topics.items()}
        self.topics = [*settings.input_topics.values(), settings.events_topic]
        self.writer = BatchWriter(settings)
        self.consumer: AIOKafkaConsumer | None = None
        self.stores: dict[int, Store] = {}
        self.committed: dict[TopicPartition, int] = {}
        #: the decoded states of recently written customers, least recently used first:
        #: only states already in the store (a batch takes them out while it works on them)
        self.cache: OrderedDict[bytes, CustomerState] = OrderedDict()
        self._lock = asyncio.Lock()  # a batch, a revocation, an assignment: one at a time
        self._generation = 0  # +1 at every revocation and assignment
        self.commits = CommitScheduler(self._commit)
        self._stopping = False
        self._home_cache: dict[bytes, int] = {}
        #: the heartbeat interval: a member proven within it cannot have lost its session
        self._lease_s = settings.heartbeat_interval_s
        self._consumed = {
            t: metrics.events_consumed.labels(t) for t in settings.input_topics.values()
        }
        self.deadlines = DeadlineClock(engine, self.topics, settings.input_idle_ms)

    # -- lifecycle ------------------------------------------------------------------------
    async def on_start(self) -> None:
        settings = self.settings
        await self.writer.start()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.app_id}-rules",
            group_id=settings.app_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # a new deployment reads the retained history
            partition_assignment_strategy=(RangePartitionAssignor,),  # co-partitioned
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            max_partition_fetch_bytes=max(1_048_576, settings.max_message_bytes + 65_536),
            session_timeout_ms=int(settings.session_timeout_s * 1000),
            heartbeat_interval_ms=int(settings.heartbeat_interval_s * 1000),
            **aiokafka_options(settings),
        )
        self.consumer.subscribe(self.topics, listener=Rebalances(self))
        await self.consumer.start()
        self.add_future(self._run())
        logger.info("rule path consuming %s as group %s", ", ".join(self.topics), settings.app_id)

    async def on_stop(self) -> None:
        async with self._lock:  # let the batch in hand finish
            self._stopping = True
            await self._committing()
        if self.consumer is not None:
            await self.consumer.stop()
        await self.writer.stop()
        for store in self.stores.values():
            store.close()
        self.stores.clear()

    # -- the loop -------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            await self._consume()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug, not bad input: stop the worker rather than skip
            if self._stopping:  # the consumer was stopped under a pending fetch
                return
            logger.exception("rule path failed")
            await self.crash(exc)

    async def _consume(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        delay = 0.2
        while not self._stopping:
            generation = self._generation
            batch = await consumer.getmany(timeout_ms=1000, max_records=self.settings.batch_max)
            if not batch:
                if self.deadlines.has_due():  # stream time moved on by idle topics
                    await self._deadlines_only()
                continue
            async with self._lock:
                if self._stopping:
                    return  # not committed: applied again by whoever has the partitions next
                if generation != self._generation:
                    self._rewind(batch)  # fetched before a rebalance
                    continue
                try:
                    await self._apply_batch(batch)
                except (TimeoutError, KafkaError, OSError) as exc:
                    self.metrics.kafka_errors.inc()
                    if isinstance(exc, MembershipLost):
                        logger.warning(
                            "%s: the batch's states are not written; the "
                            "partitions' next owner applies it",
                            exc,
                        )
                    else:
                        logger.warning(
                            "batch not written (%s: %s); retrying in %.1fs",
                            type(exc).__name__,
                            exc,
                            delay,
                        )
                    self._rewind(batch)
                    self.writer.discard()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                delay = 0.2

    async def _apply_batch(self, batch: dict[TopicPartition, list[Any]]) -> None:
        settings = self.settings
        writer = self.writer
        add = writer.add
        decode = self.decoder.decode
        events_topic = settings.events_topic
        home_partition = self.home_partition
        kinds = self.kind_of_topic
        touched: dict[bytes, list[Any]] = {}  # key -> [state, partition]
        alert_times: list[int] = []  # Kafka timestamps (ms) of the events that raised alerts
        apply = self._applier(touched, alert_times)
        observe = self.deadlines.observe
        for tp, records in batch.items():
            topic, partition = tp.topic, tp.partition
            if topic == events_topic:
                for record in records:
                    kind = _header(record.headers, KIND_HEADER)
                    decoded = decode(kind, record.value) if kind in KINDS else None
                    if decoded is None or isinstance(decoded, Rejection):
                        # cannot happen for events a worker forwarded; never drop silently
                        self._dead_letter(
                            record, decoded or Rejection("schema", ["no kind header"])
                        )
                        continue
                    apply(decoded, partition, record)
                    observe(partition, topic, decoded)
                continue
            kind = kinds[topic]
            self._consumed[topic].inc(len(records))
            kind_header = [(KIND_HEADER, kind.encode())]
            for record in records:
                decoded = decode(kind, record.value)
                if isinstance(decoded, Rejection):
                    self._dead_letter(record, decoded)
                    continue
                observe(partition, topic, decoded)
                key = decoded.customer_id.encode()
                home = home_partition(key)
                if home == partition:
                    apply(decoded, partition, record)
                else:
                    add(events_topic, home, key, record.value, record.timestamp, kind_header)
        self._deadline_pass(touched)  # stream time passed deadlines: outputs with the batch's
        await writer.flush()  # outputs are safe before the state moves on
        if alert_times:
            done_ms = time.time() * 1000
            end_to_end = self.metrics.end_to_end_seconds.observe
            for timestamp_ms in alert_times:
                end_to_end(max(0.0, (done_ms - timestamp_ms) / 1000))
        if touched:
            changelog = settings.changelog_topic
            values: dict[int, list[tuple[bytes, bytes]]] = {}
            for key, (state, partition) in touched.items():
                value = state.to_bytes()
                values.setdefault(partition, []).append((key, value))
                add(changelog, partition, key, value)
            await self._still_a_member(batch)
            written = await writer.flush()
            for partition, items in values.items():
                self.stores[partition].write(items, written[(changelog, partition)])
            self._keep(touched)
        self.deadlines.settle(touched)
        # the batch's events are safe: its offsets may be committed. The commit runs beside
        # the next batches; the loop never waits for it (see `CommitScheduler`)
        self.commits.add({tp: records[-1].offset + 1 for tp, records in batch.items()})

    def _deadline_pass(self, touched: dict[bytes, list[Any]]) -> None:
        """Advance the customers whose deadline their partition's stream time has passed
        (agents/clock.py); their findings and states go out with the batch."""
        cache, stores = self.cache, self.stores

        def load(key: bytes, partition: int) -> CustomerState | None:
            state = cache.pop(key, None)
            if state is None:
                raw = stores[partition].get(key)
                state = CustomerState.from_bytes(raw) if raw is not None else None
            return state

        def keep(key: bytes, state: CustomerState) -> None:
            if self.settings.state_cache:
                cache[key] = state

        fired = self.deadlines.fire(touched, load, keep, datetime.now(UTC))
        for partition, stream_ms in self.deadlines.stream_times().items():
            self.metrics.stream_time.labels(str(partition)).set(stream_ms / 1000)
        if fired:
            settings = self.settings
            queue_fired(
                fired,
                self.writer.add,
                settings.topic_alerts,
                settings.topic_reid_tasks,
                self.metrics,
            )

    async def _deadlines_only(self) -> None:
        """A deadline pass without events (idle topics let stream time move on): written and
        stored like a batch once the group has confirmed this worker a member."""
        async with self._lock:
            if self._stopping:
                return
            consumer = self.consumer
            assert consumer is not None
            if time.monotonic() - self.proven_at > self._lease_s:
                assigned = consumer.assignment()
                offsets = {tp: o for tp, o in self.committed.items() if tp in assigned}
                if not offsets:
                    return
                sent = time.monotonic()
                try:
                    await consumer.commit(offsets)
                except KafkaError:
                    return  # not a member: the partitions' next owner decides them
                self.proven_at = max(self.proven_at, sent)
            try:
                await self._apply_batch({})
            except (TimeoutError, KafkaError, OSError) as exc:
                self.metrics.kafka_errors.inc()
                logger.warning("deadline pass not written (%s)", type(exc).__name__)
                self.writer.discard()

    async def _still_a_member(self, batch: dict[TopicPartition, list[Any]]) -> None:
        """Raise `MembershipLost` unless the group still counts this worker a member.

        An accepted commit shows the group counted this worker a member when it was sent.
        While the event loop runs, heartbeats go out every `_lease_s` and a session outlasts
        three of them, so a proof younger than `_lease_s` leaves a live session (short of a
        freeze of almost a whole session that ended just before that commit, with no
        heartbeat after it). Under load the commits
        of earlier batches keep the proof fresh and this costs nothing. After a freeze, an
        idle spell or failed commits, the batch's first offsets (everything before them is
        stored) are committed first: the group refuses a commit from a member it dropped."""
        if time.monotonic() - self.proven_at <= self._lease_s:
            return
        assert self.consumer is not None
        offsets = {tp: records[0].offset for tp, records in batch.items()}
        sent = time.monotonic()
        try:
            await self.consumer.commit(offsets)
        except KafkaError as exc:
            raise MembershipLost(f"group membership not confirmed ({type(exc).__name__})") from exc
        self.committed.update(offsets)
        self.proven_at = max(self.proven_at, sent)

    async def _committing(self) -> None:
        """Commit every pending offset and wait for it (a revocation, a stop)."""
        await self.commits.drain()

    def _keep(self, touched: dict[bytes, list[Any]]) -> None:
        """Cache the states just stored, evicting the least recently used."""
        cache, size = self.cache, self.settings.state_cache
        if not size:
            return
        for key, (state, _) in touched.items():
            cache[key] = state
        while len(cache) > size:
            cache.popitem(last=False)

    def _applier(
        self, touched: dict[bytes, list[Any]], alert_times: list[int]
    ) -> Callable[[Any, int, Any], None]:
        """The per-event step of a batch: state, rule core, outputs queued in the writer."""
        engine = self.engine
        metrics = self.metrics
        stores = self.stores
        cache = self.cache
        add = self.writer.add
        alerts_topic, tasks_topic = self.settings.topic_alerts, self.settings.topic_reid_tasks
        observe = metrics.processing_seconds.observe
        cache_size = self.settings.state_cache
        now = datetime.now(UTC)

        def apply(decoded: Any, partition: int, record: Any) -> None:
            started = time.perf_counter()
            key = decoded.customer_id.encode()
            held = touched.get(key)
            if held is not None:
                state = held[0]
            else:
                # out of the cache while this batch may change it: a failed batch leaves
                # nothing half-applied behind
                state = cache.pop(key, None)
                if state is None:
                    raw = stores[partition].get(key)
                    state = CustomerState.from_bytes(raw) if raw is not None else None
            rating_before = state.risk.get("rating") if state is not None else None
            try:
                outcome = engine.process(state, decoded, now)
            except Exception as exc:
                # the message type only: an exception's text may quote identity data
                logger.error(
                    "rule core failed on %s[%s]@%s: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    type(exc).__name__,
                )
                self._dead_letter(
                    record, Rejection("rule_error", [f"{type(exc).__name__} in the rule core"])
                )
                return
            if outcome.duplicate:  # the state is unchanged
                if held is None and cache_size:
                    cache[key] = outcome.state
                metrics.events_duplicate.inc()
                observe(time.perf_counter() - started)
                return
            rating = outcome.state.risk.get("rating")
            if rating is not None and rating != rating_before:
                metrics.risk_rating_changes.labels(rating).inc()
            touched[key] = [outcome.state, partition]
            findings = outcome.findings
            if findings.alerts or findings.tasks:
                for alert in findings.alerts:
                    add(alerts_topic, partition, key, alert.model_dump_json().encode())
                    metrics.alerts.labels(alert.rule_id).inc()
                for task in findings.tasks:
                    add(tasks_topic, partition, key, task.model_dump_json().encode())
                    metrics.tasks.labels(task.trigger).inc()
                if findings.alerts and record.timestamp and record.timestamp > 0:
                    alert_times.append(record.timestamp)
            observe(time.perf_counter() - started)

        return apply

    def _dead_letter(self, record: Any, rejection: Rejection) -> None:
        """Queue the dead letter with this batch's outputs (acknowledged before the commit)."""
        self.metrics.events_invalid.labels(rejection.reason).inc()
        letter = DeadLetter(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp if record.timestamp and record.timestamp > 0 else None,
            key_b64=base64.b64encode(record.key).decode() if record.key else None,
            value_b64=base64.b64encode(record.value or b"").decode(),
            reason=rejection.reason,
            errors=rejection.errors,
            received_at=datetime.now(UTC),
        )
        logger.warning(
            "dead letter %s[%s]@%s: %s",
            record.topic,
            record.partition,
            record.offset,
            rejection.reason,
        )
        self.writer.add(
            self.settings.topic_dead_letters,
            record.partition % self.settings.partitions,
            record.key,
            letter.model_dump_json().encode(),
        )

    def home_partition(self, key: bytes) -> int:
        """The customer's partition: murmur2 like the Java client and aiokafka's default."""
        home = self._home_cache.get(key)
        if home is None:
            if len(self._home_cache) > 1_000_000:
                self._home_cache.clear()
            home = (murmur2(key) & 0x7FFFFFFF) % self.settings.partitions
            self._home_cache[key] = home
        return home

    # -- rebalances -----------------------------------------------------------------------
    async def revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:  # after the batch in hand: its offsets are committed
            await self._committing()
            self._generation += 1
            self.cache.clear()  # whoever gets these partitions may change their customers
            for tp in revoked:
                self.committed.pop(tp, None)
                store = self.stores.get(tp.partition)
                self.deadlines.revoke(tp.partition, store.offset if store is not None else None)
            if self.settings.store != "memory":
                # close the databases now: every member revokes before any is assigned, so
                # another worker on this host may open them in this rebalance
                for partition in {tp.partition for tp in revoked}:
                    store = self.stores.pop(partition, None)
                    if store is not None:
                        store.close()
        logger.info("partitions revoked: %s", _partitions(revoked))

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._assigned(assigned)
        except Exception as exc:  # aiokafka would log it and go on without the state
            logger.exception("partition assignment failed")
            await self.crash(exc)
            raise

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:
            self._generation += 1
            self.cache.clear()
            partitions = {tp.partition for tp in assigned}
            for partition in set(self.stores) - partitions:
                self.stores.pop(partition).close()
            delay = 0.5
            while True:
                started = time.monotonic()
                try:
                    restored = await self._restore(partitions)
                    break
                except (TimeoutError, KafkaError, OSError) as exc:
                    # no event of these partitions may be applied on a partial state
                    if self.should_stop:
                        return
                    self.metrics.kafka_errors.inc()
                    logger.warning(
                        "state restore failed (%s); retrying in %.1fs", type(exc).__name__, delay
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
            self.deadlines.parked_only(partitions)
            for partition in partitions:  # the deadline index, from every stored state
                self.deadlines.assign(partition, self.stores[partition])
            logger.info(
                "partitions assigned: %s; state brought up to date from the changelog "
                "(%d records) in %.1fs",
                _partitions(assigned),
                restored,
                time.monotonic() - started,
            )

    def _open_store(self, partition: int) -> Store:
        if self.settings.store == "memory":
            return MemoryStore()
        return RocksStore(self.settings.data_dir / self.settings.app_id / "state" / f"p{partition}")

    async def _restore(self, partitions: set[int]) -> int:
        """Read each partition's changelog from where its store stops to the end."""
        settings = self.settings
        changelog = settings.changelog_topic
        for partition in partitions:
            if partition not in self.stores:
                self.stores[partition] = self._open_store(partition)
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
                store = self.stores[tp.partition]
                if store.offset + 1 > ends[tp] or store.offset + 1 < starts[tp]:
                    # the local copy does not belong to this changelog (recreated or
                    # truncated topic): start from nothing
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

    def state_records(self) -> int | None:
        if self.settings.store != "memory":
            return None
        return sum(len(store) for store in self.stores.values())


class CommitScheduler:
    """Offset commits beside the batch loop. `add` takes the offsets of a batch whose
    outputs and states are acknowledged and starts a commit unless one is in flight: that
    one takes them up when it returns, so the offsets of several batches go in one commit.
    One commit at a time, each with later offsets than the one before: commits never go
    backwards. `drain` commits everything pending and waits (a revocation, a stop).

    Why: a Kafka 4 broker answers a commit after its group coordinator's append linger
    (several ms). A loop that waited for the previous batch's commit made every event wait
    for it too (p50 15 ms where the raw client's was 6; docs/performance.md)."""

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


def _header(headers: Any, name: str) -> str:
    for key, value in headers or ():
        if key == name:
            return value.decode() if value else ""
    return ""


def _partitions(tps: set[TopicPartition]) -> str:
    return ",".join(str(p) for p in sorted({tp.partition for tp in tps})) or "none"
