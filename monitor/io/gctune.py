"""Garbage-collector settings for long runs over many customer states."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["tune_gc", "tuned_gc"]

#: the youngest generation is collected every 200,000 allocations instead of 700
THRESHOLDS = (200_000, 20, 100)


def tune_gc() -> None:
    """Fewer, cheaper garbage collections for the rest of the process: the objects made at
    start (modules, the pack, the watch list) are frozen out of every later collection and
    the generations are collected far less often, so a batch of events is rarely
    interrupted by a full collection (each one costs tens of ms with 10,000 states in
    memory; a replay keeps every customer's). The rule core makes no reference cycles that
    need prompt collection; memory stays bounded (measured by `make bench`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


@contextmanager
def tuned_gc() -> Iterator[None]:
    """`tune_gc` for the duration of a block (a replay run inside a longer process), then
    the previous thresholds and no frozen objects again."""
    before = gc.get_threshold()
    tune_gc()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
