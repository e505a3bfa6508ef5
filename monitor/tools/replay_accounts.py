"""Replay's second pass: the state records that are no customer's (accounts, conductors),
over what the customer shards re-key, in the order one process applies it.

A sharded replay (`monitor.tools.replay`) runs in two passes. In the first, each shard
applies its customers' events and writes, per input, what that input re-keys
(`OfflineRun.rekeyed`: the cash to its conductor's record, the edges of a transfer or
remittance to its accounts' records) with the input's merge key (`monitor.tools.offline.
merge_key`) to a spill file, in its merge order. In the second, the parent process, while
the shards run, merges the spill files by merge key as they grow and applies the items to
their records. A merge key is unique to an input and each input belongs to one shard, so
the merged order is the order in which one process applies them: input by input in merge
order, and within an input in `rekeyed`'s order, each item followed by the paths it
forwards (FUNDS_CYCLE tokens, passed from account to account inside this pass as in one
process).

The second pass is one process: a token is applied to the next account's record within
the step of the edge that made it, before the next input's items, so accounts split over
processes would have to wait on each other at every step. The records it holds have no
deadlines (their rules keep none), so the shards' stream time does not concern them."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import heapq
import logging
import marshal
import pickle
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from threading import BrokenBarrierError
from typing import Any, BinaryIO

from monitor.core.network import Edge
from monitor.tools.offline import OfflineRun, RunStats, key_ms

__all__ = ["RekeySpill", "apply_spills", "read_spill", "shard_results", "waiter"]

logger = logging.getLogger(__name__)

#: (merge key of an input, what it re-keys in `OfflineRun.rekeyed`'s order)
Spilled = tuple[int, list[Any]]


#: an edge's fields in the order `Edge` takes them; its time and amount are written as text
_EDGE_FIELDS = tuple(f.name for f in dataclasses.fields(Edge))
_AT, _AMOUNT = _EDGE_FIELDS.index("occurred_at"), _EDGE_FIELDS.index("amount")


def _encode(item: Any) -> tuple[Any, ...] | bytes:
    """An item as marshal writes it: an edge (most items) as a tuple of its fields, its
    time and amount as text (exact); anything else pickled."""
    if type(item) is Edge:
        fields = [getattr(item, name) for name in _EDGE_FIELDS]
        fields[_AT], fields[_AMOUNT] = fields[_AT].isoformat(), str(fields[_AMOUNT])
        return tuple(fields)
    return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)


def _decode(raw: tuple[Any, ...] | bytes) -> Any:
    if isinstance(raw, bytes):
        return pickle.loads(raw)  # noqa: S301 - our own spill file
    fields = list(raw)
    fields[_AT], fields[_AMOUNT] = datetime.fromisoformat(raw[_AT]), Decimal(raw[_AMOUNT])
    return Edge(*fields)


class RekeySpill:
    """What one shard re-keys, appended in its merge order to a file: frames of a length
    (8 bytes) and a marshalled batch of encoded items, each flushed as written, then a
    frame of length 0 when the shard is done. The second pass reads the file as it grows.
    """

    def __init__(self, path: Path, batch: int = 2048) -> None:
        self.path = path
        self._handle = path.open("wb")
        self._batch: list[Spilled] = []
        self._size = batch
        self.items = 0

    def add(self, key: int, items: list[Any]) -> None:
        self._batch.append((key, [_encode(item) for item in items]))
        self.items += len(items)
        if len(self._batch) >= self._size:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._frame(marshal.dumps(self._batch))
            self._batch = []

    def _frame(self, data: bytes) -> None:
        self._handle.write(len(data).to_bytes(8, "little") + data)
        self._handle.flush()

    def close(self) -> None:
        """Write what is left and the end; the file is complete."""
        if not self._handle.closed:
            self._flush()
            self._frame(b"")
            self._handle.close()


def read_spill(path: Path, wait: Callable[[], None]) -> Iterator[Spilled]:
    """The (merge key, items) a `RekeySpill` writes, in its order, as the file grows:
    `wait` is called (and may raise, when the writer failed) while the next frame is not
    there yet."""
    while not path.exists():
        wait()
    with path.open("rb") as handle:
        while True:
            size = int.from_bytes(_read(handle, 8, wait), "little")
            if not size:
                return
            batch: list[tuple[int, list[Any]]] = marshal.loads(_read(handle, size, wait))
            for key, items in batch:
                yield key, [_decode(raw) for raw in items]


def _read(handle: BinaryIO, size: int, wait: Callable[[], None]) -> bytes:
    data = handle.read(size)
    while len(data) < size:
        wait()
        data += handle.read(size - len(data))
    return data


def apply_spills(
    runner: OfflineRun, spills: list[Path], start_ms: int, wait: Callable[[], None]
) -> int:
    """Apply the spills' items to `runner`'s records in merge-key order (findings emitted
    for inputs from `start_ms` on), as the shards write them (`read_spill`); returns how
    many items were applied."""
    applied = 0
    apply = runner.apply_rekeyed
    merged = heapq.merge(*(read_spill(p, wait) for p in spills), key=itemgetter(0))
    for key, items in merged:
        event_ms = key_ms(key)
        emit = start_ms <= event_ms
        for item in items:
            apply(item, event_ms, emit)
        applied += len(items)
    return applied


def shard_results(futures: list[Future[RunStats]]) -> list[RunStats]:
    """The shards' results once all have ended; if one failed, its failure itself rather
    than the broken barrier the others then stopped at (whichever shard comes first)."""
    concurrent.futures.wait(futures)
    errors = [e for f in futures if (e := f.exception()) is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, BrokenBarrierError)), errors[0])
    return [f.result() for f in futures]


def waiter(futures: list[Future[RunStats]]) -> Callable[[], None]:
    """What the second pass calls while a shard's next items are not written yet: once a
    shard has failed, raises its failure (`shard_results`); else sleeps a moment."""

    def wait() -> None:
        if any(f.done() and f.exception() is not None for f in futures):
            shard_results(futures)
        time.sleep(0.002)

    return wait
