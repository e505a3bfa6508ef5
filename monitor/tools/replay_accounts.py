"""Replay's second pass: the state records that are no customer's (accounts, conductors),
over what the customer shards re-keyed, in the order one process applies it.

A sharded replay (`monitor.tools.replay`) runs in two passes. In the first, each shard
applies its customers' events and writes, per input, what that input re-keys
(`OfflineRun.rekeyed`: the cash to its conductor's record, the edges of a transfer to its
accounts' records) with the input's merge key (`monitor.tools.offline.merge_key`) to a
spill file, in its merge order. In the second, one process merges the spill files by
merge key and applies the items to their records. Merge keys are unique per input and
each input belongs to one shard, so the merged order is the order in which one process
applies them: input by input in merge order, and within an input in `rekeyed`'s order,
each item followed by the paths it forwards (FUNDS_CYCLE tokens, passed from account to
account inside this pass as in one process).

The second pass is one process: a token goes from one account's record to another's in
the step of the edge that made it, before the next input's items, so splitting accounts
over processes would need those steps to wait on each other."""

from __future__ import annotations

import heapq
import logging
import marshal
import pickle
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from monitor.core.network import Edge
from monitor.tools.offline import OfflineRun, key_ms

__all__ = ["RekeySpill", "apply_spills", "read_spill"]

logger = logging.getLogger(__name__)

#: (merge key of an input, what it re-keys in `OfflineRun.rekeyed`'s order)
Spilled = tuple[int, list[Any]]


def _encode(item: Any) -> tuple[Any, ...] | bytes:
    """An item as marshal writes it: an edge (most items) as a tuple of its fields, with
    its time and amount as text (exact), anything else pickled."""
    if type(item) is Edge:
        return (
            item.customer_id, item.role, item.src, item.dst, item.src_owner, item.dst_owner,
            item.src_mask, item.dst_mask, item.txn_id, item.occurred_at.isoformat(),
            str(item.amount), item.currency, item.purpose, item.event_id,
        )  # fmt: skip
    return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)


def _decode(raw: tuple[Any, ...] | bytes) -> Any:
    if isinstance(raw, bytes):
        return pickle.loads(raw)  # noqa: S301 - our own spill file
    fields = list(raw)
    fields[9], fields[10] = datetime.fromisoformat(raw[9]), Decimal(raw[10])
    return Edge(*fields)


class RekeySpill:
    """What one shard re-keys, appended in its merge order to a file (marshalled batches
    of encoded items)."""

    def __init__(self, path: Path, batch: int = 4096) -> None:
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
            marshal.dump(self._batch, self._handle)
            self._batch = []

    def close(self) -> None:
        self._flush()
        self._handle.close()


def read_spill(path: Path) -> Iterator[Spilled]:
    """The (merge key, items) a `RekeySpill` wrote, in its order; nothing if no file."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        while True:
            try:
                batch: list[tuple[int, list[Any]]] = marshal.load(handle)
            except EOFError:
                return
            for key, items in batch:
                yield key, [_decode(raw) for raw in items]


def apply_spills(runner: OfflineRun, spills: list[Path], start_ms: int) -> int:
    """Apply the spills' items to `runner`'s records in merge-key order (findings emitted
    for inputs from `start_ms` on); returns how many items were applied."""
    applied = 0
    apply = runner.apply_rekeyed
    for key, items in heapq.merge(*(read_spill(p) for p in spills), key=itemgetter(0)):
        event_ms = key_ms(key)
        emit = start_ms <= event_ms
        for item in items:
            apply(item, event_ms, emit)
        applied += len(items)
    return applied
