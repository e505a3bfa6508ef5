"""The rule path: input topics in, rule core, alerts, tasks and state out, in batches.

A Faust service (`mode.Service`, started and stopped with the app) around its own aiokafka
consumer in the consumer group named by `MONITOR_APP_ID` (why not a Faust agent: the
`agents` package docstring). It keeps Faust's guarantees itself:

- Every customer has one partition and one state record: events off their customer's home
  partition are forwarded there first; cash and transfers are re-keyed too (`agents.routing`).
- A batch (one `getmany`) is applied event by event, in order, each event seeing the state
  the previous one left, then the deadlines its stream time passed (`agents.clock`). In
  order: the batch's alerts, tasks, dead letters and forwards are written and acknowledged
  by Kafka; each touched customer's final state is written to the changelog and
  acknowledged; the local store takes it; the batch's offsets become committable. Commits
  run beside the next batches (`agents.membership.CommitScheduler`; the loop never waits
  for one). A crash before the commit replays the batch: the state says which events it
  has seen, the same alert ids come out again, the Redis sink keeps one of each.
- A rebalance cannot cut a batch: the revocation callback waits for the batch in hand and
  commits every committable offset before the partitions go. A batch fetched before a
  rebalance is not applied after it (it is fetched again from the committed offset).
  Partitions that arrive are brought up to date from the changelog before any of their
  events is applied (`agents.restore`).
- A failure to write (Kafka away) keeps the batch: nothing is stored or committed, the
  consumer goes back to the batch's first offsets and tries again with a growing pause.
- A worker that was frozen (a paused VM, a stopped process, a lost coordinator) may have
  been dropped from the group while it held a batch; the partitions' next owner then
  applies the batch itself. Before writing states, a worker proves its membership
  (`GroupMember._still_a_member`) and writes none if the group refuses (`MembershipLost`),
  so a stale state never lands after the new owner's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from mode import Service

from agents import membership, routing
from agents.batch_writer import BatchWriter
from agents.clock import DeadlineClock
from agents.membership import CommitScheduler, GroupMember, MembershipLost, Rebalances
from agents.restore import restore
from agents.routing import KIND_HEADER, dead_letter, home_partitioner, read_header
from agents.state_store import Store
from monitor.core.clock import is_idle_key
from monitor.core.conductor import ConductorCash
from monitor.core.decode import Decoder, Rejection
from monitor.core.engine import Engine
from monitor.core.network import Edge, Token
from monitor.core.state import CustomerState
from monitor.io.metrics import Metrics
from monitor.io.settings import Settings

__all__ = ["RulesService"]

logger = logging.getLogger(__name__)

#: the items the rule path applies besides customers' events, by the metric's kind label
_REKEYED: dict[type, str] = {Edge: "account", ConductorCash: "conductor", Token: "path"}


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
        #: the partitions assigned to this worker: their records are applied here
        self.owned: set[int] = set()
        self.committed: dict[TopicPartition, int] = {}
        #: the decoded states of recently written customers, least recently used first:
        #: customers' only (accounts' and conductors', `is_idle_key`, are mostly seen once), already
        #: in the store (taken out while in a batch)
        self.cache: OrderedDict[bytes, CustomerState] = OrderedDict()
        self._lock = asyncio.Lock()  # a batch, a revocation, an assignment: one at a time
        self._generation = 0  # +1 at every revocation and assignment
        self.commits = CommitScheduler(self._commit)
        self._stopping = False
        #: the customer's partition for a key (`agents.routing`)
        self.home_partition = home_partitioner(settings.partitions)
        self.rekey = routing.Rekeyer(engine, self.home_partition, settings)
        #: the heartbeat interval: a member proven within it cannot have lost its session
        self._lease_s = settings.heartbeat_interval_s
        self._consumed = {t: metrics.events_consumed.labels(t) for t in self.kind_of_topic}
        self.deadlines = DeadlineClock(engine, settings, metrics)  # stream time (agents.clock)

    # -- lifecycle ------------------------------------------------------------------------
    async def on_start(self) -> None:
        settings = self.settings
        await self.writer.start()
        self.consumer = membership.co_partitioned_consumer(settings, f"{settings.app_id}-rules")
        self.consumer.subscribe(self.topics, listener=Rebalances(self))
        await self.consumer.start()
        self.add_future(self._run())
        logger.info("rule path consuming %s as group %s", ", ".join(self.topics), settings.app_id)

    async def on_stop(self) -> None:
        async with self._lock:  # let the batch in hand finish
            self._stopping = True
            await self.commits.drain()
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
            if not batch and not self.deadlines.has_due():  # else: a pass without events
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
        settings, writer, kinds = self.settings, self.writer, self.kind_of_topic
        add, events_topic, home_partition = writer.add, settings.events_topic, self.home_partition
        touched: dict[bytes, list[Any]] = {}  # key -> [state, partition]
        alert_times: list[int] = []  # Kafka timestamps (ms) of the events that raised alerts
        apply = self._applier(touched, alert_times)
        rekey, owned = self.rekey.event, self.owned
        for tp, records in batch.items():
            topic, partition = tp.topic, tp.partition
            decode = self.deadlines.observing(tp, self.decoder.decode)  # notes event times
            if topic == events_topic:
                for record in records:
                    kind = read_header(record.headers, KIND_HEADER)
                    decoded = routing.decode_forwarded(decode, kind, record.value)
                    if decoded is None or isinstance(decoded, Rejection):
                        # cannot happen for events a worker forwarded; never drop silently
                        self._dead_letter(
                            record, decoded or Rejection("schema", ["no kind header"])
                        )
                        continue
                    apply(decoded, partition, record)
                continue
            kind = kinds[topic]
            self._consumed[topic].inc(len(records))
            kind_header = [(KIND_HEADER, kind.encode())]
            for record in records:
                decoded = decode(kind, record.value)
                if isinstance(decoded, Rejection):
                    self._dead_letter(record, decoded)
                    continue
                key = decoded.customer_id.encode()
                home = home_partition(key)
                if home == partition:
                    apply(decoded, partition, record)
                else:
                    add(events_topic, home, key, record.value, record.timestamp, kind_header)
                # cash by conductor, transfers by account: applied here when this worker
                # holds the record's partition, else forwarded to its owner
                rekey(decoded, record, add, apply, owned)
        self.deadlines.decide(touched, self.cache, self.stores, add)  # quiet customers too
        await writer.flush()  # outputs are safe before the state moves on
        if alert_times:
            done_ms = time.time() * 1000
            end_to_end = self.metrics.end_to_end_seconds.observe
            for timestamp_ms in alert_times:
                end_to_end(max(0.0, (done_ms - timestamp_ms) / 1000))
        if touched:
            changelog = settings.changelog_topic
            values: dict[int, list[tuple[bytes, bytes | None]]] = {}
            for key, (state, partition) in touched.items():
                value = state.to_bytes() if state is not None else None  # None: agents.idle
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

    def _keep(self, touched: dict[bytes, list[Any]]) -> None:
        """Cache the states just stored, evicting the least recently used."""
        cache, size = self.cache, self.settings.state_cache
        if size:  # a None state: the record was deleted
            kept = ((k, s) for k, (s, _) in touched.items() if s is not None)
            cache.update((k, s) for k, s in kept if not is_idle_key(k))
            while len(cache) > size:
                cache.popitem(last=False)

    def _applier(
        self, touched: dict[bytes, list[Any]], alert_times: list[int]
    ) -> Callable[[Any, int, Any], None]:
        """The per-event step of a batch: state, rule core, outputs queued in the writer."""
        engine, metrics, stores, cache = self.engine, self.metrics, self.stores, self.cache
        add, owned, now = self.writer.add, self.owned, datetime.now(UTC)
        alerts_topic, tasks_topic = self.settings.topic_alerts, self.settings.topic_reid_tasks
        observe, cache_size = metrics.processing_seconds.observe, self.settings.state_cache
        rekeyed = {kind: metrics.rekeyed_applied.labels(name) for kind, name in _REKEYED.items()}

        def apply(decoded: Any, partition: int, record: Any) -> None:
            paths = step(decoded, partition, record)
            while paths:  # FUNDS_CYCLE's paths, onwards: those of other owners forwarded
                here = self.rekey.paths(paths, record, add, owned)
                paths = [p for token, part in here for p in step(token, part, record)]

        def step(decoded: Any, partition: int, record: Any) -> list[Any]:  # -> paths passed on
            started = time.perf_counter()
            if (counter := rekeyed.get(type(decoded))) is not None:
                counter.inc()
            key = decoded.customer_id.encode()
            held = touched.get(key)
            if held is not None:
                state = held[0]
            else:
                # out of the cache while the batch may change it: a failed batch leaves no trace
                state = cache.pop(key, None)
                if state is None:
                    raw = stores[partition].get(key)
                    state = CustomerState.from_bytes(raw) if raw is not None else None
            rating_before = state.risk.get("rating") if state is not None else None
            try:
                outcome = engine.process(state, decoded, now)
            except Exception as exc:
                # the message type only: an exception's text may quote identity data
                error = f"{type(exc).__name__} in the rule core"
                where = (record.topic, record.partition, record.offset)
                logger.error("rule core failed on %s[%s]@%s: %s", *where, error)
                self._dead_letter(record, Rejection("rule_error", [error]))
                return []
            if outcome.duplicate:  # the state is unchanged
                if held is None and cache_size and not is_idle_key(key):
                    cache[key] = outcome.state
                metrics.events_duplicate.inc()
                observe(time.perf_counter() - started)
                return []
            if outcome.expired:
                metrics.early_dropped.inc(outcome.expired)
            rating = outcome.state.risk.get("rating")
            if rating is not None and rating != rating_before:
                metrics.risk_rating_changes.labels(rating).inc()
            touched[key] = [outcome.state, partition]
            findings = outcome.findings
            if findings.alerts or findings.tasks:
                grown = findings.grown
                for alert in findings.alerts:
                    add(alerts_topic, partition, key, alert.model_dump_json().encode())
                    if not grown or alert.alert_id not in grown:  # a finding counts once
                        metrics.alerts.labels(alert.rule_id).inc()
                for task in findings.tasks:
                    add(tasks_topic, partition, key, task.model_dump_json().encode())
                    metrics.tasks.labels(task.trigger).inc()
                if findings.alerts and record.timestamp and record.timestamp > 0:
                    alert_times.append(record.timestamp)
            observe(time.perf_counter() - started)
            return findings.forwards

        return apply

    def _dead_letter(self, record: Any, rejection: Rejection) -> None:
        """Queue the dead letter with this batch's outputs (acknowledged before the commit)."""
        self.metrics.events_invalid.labels(rejection.reason).inc()
        where = (record.topic, record.partition, record.offset)
        logger.warning("dead letter %s[%s]@%s: %s", *where, rejection.reason)
        self.writer.add(
            self.settings.topic_dead_letters,
            record.partition % self.settings.partitions,
            record.key,
            dead_letter(record, rejection),
        )

    # -- rebalances -----------------------------------------------------------------------
    async def revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:  # after the batch in hand: its offsets are committed
            await self.commits.drain()
            self._generation += 1
            self.cache.clear()  # whoever gets these partitions may change their customers
            self.owned -= {tp.partition for tp in revoked}
            for tp in revoked:
                self.committed.pop(tp, None)
                self.deadlines.revoke(tp.partition, self.stores)
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
                    restored = await restore(self.settings, self.stores, partitions)
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
            self.deadlines.assign(partitions, self.stores)
            self.owned = partitions
            logger.info(
                "partitions assigned: %s; state brought up to date from the changelog "
                "(%d records) in %.1fs",
                _partitions(assigned),
                restored,
                time.monotonic() - started,
            )

    def state_records(self) -> int | None:
        if self.settings.store != "memory":
            return None
        return sum(len(store) for store in self.stores.values())


def _partitions(tps: set[TopicPartition]) -> str:
    return ",".join(str(p) for p in sorted({tp.partition for tp in tps})) or "none"
