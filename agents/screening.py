"""The rule path with re-screening: customers' names kept, lists reloaded, new entries screened.

`ScreeningRules` is `agents.rules.RulesService` (used instead of it when the pack enables
WATCHLIST_MATCH) plus:

- An index of the customers' names on the partitions this worker owns
  (`monitor.core.screening.index`), kept in the internal compacted topic
  `<MONITOR_APP_ID>-screening-names` (partition = the customer's home partition): an
  opening or update writes its customer's record with the batch's other outputs, so it is
  acknowledged before the batch's offsets are committed. A partition's index is read back
  from that topic before any of its events is applied (on assignment, at the first batch).
- A watch on the list files: every `MONITOR_LIST_RELOAD_INTERVAL_S` seconds, if a file's
  inode, size or modification time changed, their content hash is compared; a new version
  is loaded (a file that fails to load is refused, the old list kept) and the live
  WATCHLIST_MATCH matcher replaced between two batches.
- A catch-up after each check, per owned partition: the entries whose digest differs from
  the one the partition's customers were screened against (`PartitionIndex.pending`) are
  screened against a snapshot of the partition's index, outside the lock (in a thread), and
  the alerts and tasks written; only once Kafka acknowledged them are the entries' new
  digests written to the same topic. A crash in between screens them again, with the same
  ids. A restart with a changed file, or a partition's new owner, catches up the same way.
- Back-filled records (`monitor screening backfill`, marked by `BACKFILL_HEADER`): before
  each check, the records written to the owned partitions since they were read are read
  too, and the back-filled ones merged into the index by event time (`PartitionIndex.load`);
  where the worker holds a later record, it writes the merged one again, so the topic's last
  record for the customer is never the older one. A restore merges the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from agents.names_topic import open_reader, read_index, read_since, screening_topic_spec
from agents.rules import RulesService
from monitor.core.errors import ConfigurationError
from monitor.core.rules.watchlist import load_matcher
from monitor.core.screening import WatchlistMatcher
from monitor.core.screening.index import INDEXED_ROLES, PartitionIndex, entry_digest
from monitor.core.screening.rescreen import rescreen_findings
from monitor.io.settings import Settings
from monitor.io.topics import ensure_topics
from schemas import AccountOpening, CustomerUpdate

__all__ = ["ScreeningRules", "list_paths"]

logger = logging.getLogger(__name__)

RULE_ID = "WATCHLIST_MATCH"
_NAMED = (AccountOpening, CustomerUpdate)


def list_paths(cfg: Any, resolve: Callable[[str], Path]) -> list[Path]:
    """The files a WATCHLIST_MATCH configuration reads, resolved against the pack: its list
    files, and the alt.csv read beside an OFAC SDN CSV file."""
    paths = [resolve(cfg.file)] if cfg.file else []
    for item in cfg.lists:
        paths.append(resolve(item.file))
        if item.format == "ofac_sdn_csv":
            paths.append(resolve(item.file).with_name("alt.csv"))
    return paths


def _content_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes() if path.is_file() else b"\x00missing")
        digest.update(b"\x1f")
    return digest.hexdigest()


def _stat(paths: list[Path]) -> list[tuple[int, int, int] | None]:
    """(inode, size, modification time) of each file: a changed one is hashed again."""
    out: list[tuple[int, int, int] | None] = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            out.append(None)
            continue
        out.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return out


class ScreeningRules(RulesService):
    """The rule path, the names index and the list watch (see the module docstring)."""

    def __init__(self, settings: Settings, engine: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(settings, engine, *args, **kwargs)
        pack = engine.pack
        self.pack = pack
        self.rule = next(r for r in engine.rules if r.rule_id == RULE_ID)
        self.roles = [r for r in INDEXED_ROLES if r in self.rule.roles]
        self.paths = list_paths(self.rule.cfg, pack.resolve)
        self.files_hash = _content_hash(self.paths)
        self.files_stat = _stat(self.paths)
        self._use(list(self.rule.matcher.entries))
        self.index: dict[int, PartitionIndex] = {}
        #: per partition read, the offset of the names topic up to which it was read
        self.read_to: dict[int, int] = {}
        self._reader: Any = None  # the names topic's consumer of `_follow`, opened on use
        self._pending: tuple[frozenset[tuple[str, str]], WatchlistMatcher] | None = None

    def _use(self, entries: list[Any]) -> None:
        self.entries = entries
        self.digests = {e.entry_id: entry_digest(e) for e in entries}

    async def on_start(self) -> None:
        await ensure_topics(self.settings, [screening_topic_spec(self.settings)])
        await super().on_start()
        self.add_future(self._watch())

    async def on_stop(self) -> None:
        await super().on_stop()
        if self._reader is not None:
            reader, self._reader = self._reader, None
            await reader.stop()

    # -- the index, kept with the batches -------------------------------------------------
    def _applier(self, touched: dict[bytes, list[Any]], alert_times: list[int]) -> Any:
        apply = super()._applier(touched, alert_times)
        add, topic = self.writer.add, self.settings.screening_topic
        roles, index = self.roles, self.index

        def apply_and_index(decoded: Any, partition: int, record: Any) -> None:
            apply(decoded, partition, record)
            if isinstance(decoded, _NAMED):
                key = decoded.customer_id.encode()
                held = touched.get(key)
                value = index[partition].observe(decoded, held[0].profile if held else None, roles)
                if value is not None:
                    add(topic, partition, key, value)

        return apply_and_index

    async def _apply_batch(self, batch: dict[TopicPartition, list[Any]]) -> None:
        await self._read_index()
        await super()._apply_batch(batch)

    async def _read_index(self) -> None:
        """Read the index of owned partitions that have none; a partition never screened
        records the list as it is (its customers were screened against it on arrival).
        Called with the lock held."""
        for partition in set(self.index) - self.owned:
            del self.index[partition]
            self.read_to.pop(partition, None)
        missing = self.owned - set(self.index)
        if not missing:
            return
        started = time.monotonic()
        read, ends = await read_index(self.settings, missing)
        for partition, index in read.items():
            records = index.take_stale()  # merged with back-filled records: store them
            entries: dict[bytes, bytes] = {}
            if not index.started:
                _, entries = index.pending(self.entries, self.digests)
            if records or entries:
                for key, value in {**records, **entries}.items():
                    self.writer.add(self.settings.screening_topic, partition, key, value)
                await self.writer.flush()
            if not index.started:
                index.mark(entries)
            self.index[partition] = index
            self.read_to[partition] = ends[partition]
        logger.info(
            "names index of partitions %s read (%d customers) in %.1fs",
            ",".join(map(str, sorted(missing))),
            sum(len(read[p]) for p in missing),
            time.monotonic() - started,
        )

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        await super().revoked(revoked)
        for partition in {tp.partition for tp in revoked}:
            self.index.pop(partition, None)
            self.read_to.pop(partition, None)

    # -- the list watch and the catch-up --------------------------------------------------
    async def _watch(self) -> None:
        interval = self.settings.list_reload_interval_s
        delay = interval
        while not self.should_stop:
            await self.sleep(delay)
            if self.should_stop:
                return
            try:
                await self._follow()
                await self._reload()
                await self._catch_up()
                delay = interval
            except asyncio.CancelledError:
                raise
            except (TimeoutError, KafkaError, OSError) as exc:
                self.metrics.kafka_errors.inc()
                delay = min(interval, 5.0)
                logger.warning("re-screening interrupted (%s); retrying", type(exc).__name__)
            except Exception as exc:  # a bug: stop the worker, as the rule path does
                if self._stopping:
                    return
                logger.exception("re-screening failed")
                await self.crash(exc)
                return

    async def _follow(self) -> None:
        """Merge into each owned partition's index the back-filled records written since
        it was read, and write again a customer's record where the worker's is later."""
        async with self._lock:
            await self._read_index()
            offsets: dict[int, int | None] = dict(self.read_to)
            indexes = {p: self.index[p] for p in offsets}
        fresh = {p: PartitionIndex() for p in offsets}
        if offsets and self._reader is None:
            self._reader = await open_reader(self.settings)
        ends = await read_since(self.settings, offsets, fresh, True, self._reader)
        async with self._lock:
            for partition, end in ends.items():
                index = self.index.get(partition)
                if index is not indexes[partition] or self._stopping:
                    continue  # revoked or read again meanwhile
                merged = 0
                for key, value in fresh[partition].names.items():
                    before = index.names.get(key)
                    index.load(key, value, True)
                    if before is not None and index.names[key] != before:
                        # the worker's own record may be the last stored: store the merge
                        index.stale.add(key)
                    merged += 1
                records = index.take_stale()
                if records:
                    topic = self.settings.screening_topic
                    try:
                        for key, value in records.items():
                            self.writer.add(topic, partition, key, value)
                        await self.writer.flush()
                    except BaseException:
                        self.writer.discard()
                        raise
                self.read_to[partition] = end
                if merged:
                    logger.info(
                        "partition %d: %d back-filled customers merged into the names index "
                        "(%d written again with later names)",
                        partition,
                        merged,
                        len(records),
                    )

    async def _reload(self) -> None:
        """Load the list files if their content changed, and use them from the next event."""
        files_stat = _stat(self.paths)
        if files_stat == self.files_stat:
            return  # not even touched: the (large) files are not read again
        self.files_stat = files_stat
        files_hash = await asyncio.to_thread(_content_hash, self.paths)
        if files_hash == self.files_hash:
            return
        self.files_hash = files_hash  # a refused version is not tried again until it changes
        try:
            matcher = await asyncio.to_thread(load_matcher, self.rule.cfg, self.pack.resolve("."))
        except Exception as exc:  # bad list data (YAML, XML, CSV, JSON errors): input
            self.metrics.list_reloads.labels("refused").inc()
            logger.error(
                "watch list reload refused, the old list is kept: %s: %s",
                type(exc).__name__,
                exc if isinstance(exc, ConfigurationError) else "the file does not parse",
            )
            return
        async with self._lock:  # between two batches
            before = self.digests
            self.rule.matcher = matcher
            self.pack.extras[RULE_ID] = matcher
            self._use(list(matcher.entries))
        changed = sum(1 for k, v in self.digests.items() if before.get(k) != v)
        self.metrics.list_reloads.labels("loaded").inc()
        logger.info(
            "watch list reloaded: %d entries, %d new or changed, %d removed",
            len(self.entries),
            changed,
            len(set(before) - set(self.digests)),
        )

    async def _catch_up(self) -> None:
        """Screen each owned partition's customers against the entries it has not been
        screened against, and record them as screened once the findings are written."""
        for partition in sorted(self.owned):
            async with self._lock:
                await self._read_index()
                index = self.index.get(partition)
                if index is None:
                    continue
                entries, records = index.pending(self.entries, self.digests)
                if not records:
                    continue
                generation = self._generation
                snapshot = index.snapshot() if entries else []
            started = time.perf_counter()
            at = datetime.now(UTC)
            findings = await asyncio.to_thread(
                rescreen_findings,
                snapshot,
                entries,
                self.rule,
                self.pack,
                at,
                self._matcher(entries),
            )
            async with self._lock:
                if self._stopping:
                    return
                if generation != self._generation or self.index.get(partition) is not index:
                    continue  # the partition moved: its owner catches up
                self._write(partition, findings)
                try:
                    await self.writer.flush()  # findings first: then the entries' digests
                    for key, value in records.items():
                        self.writer.add(self.settings.screening_topic, partition, key, value)
                    await self.writer.flush()
                except BaseException:
                    self.writer.discard()
                    raise
                index.mark(records)
            for alert in findings.alerts:
                self.metrics.alerts.labels(alert.rule_id).inc()
            for task in findings.tasks:
                self.metrics.tasks.labels(task.trigger).inc()
            if entries:
                elapsed = time.perf_counter() - started
                self.metrics.rescreens.inc()
                self.metrics.rescreen_seconds.observe(elapsed)
                logger.info(
                    "partition %d: %d customers re-screened against %d new or changed "
                    "entries in %.2fs: %d alerts",
                    partition,
                    len(snapshot),
                    len(entries),
                    elapsed,
                    len(findings.alerts),
                )

    def _matcher(self, entries: list[Any]) -> WatchlistMatcher | None:
        """One matcher over the same pending entries for every partition (its cache then
        spares a name borne by customers of several partitions a second scan)."""
        if not entries:
            return None
        key = frozenset((e.entry_id, self.digests[e.entry_id]) for e in entries)
        if self._pending is None or self._pending[0] != key:
            self._pending = (key, WatchlistMatcher(entries, self.rule.cfg.threshold))
        return self._pending[1]

    def _write(self, partition: int, findings: Any) -> None:
        add, settings = self.writer.add, self.settings
        for alert in findings.alerts:
            add(settings.topic_alerts, partition, alert.customer_id.encode(), _json(alert))
        for task in findings.tasks:
            add(settings.topic_reid_tasks, partition, task.customer_id.encode(), _json(task))


def _json(model: Any) -> bytes:
    return model.model_dump_json().encode()
