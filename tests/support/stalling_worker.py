"""`monitor worker` that freezes once, as a paused VM or process would, in the worst place:
after a batch's alerts are acknowledged and before its states are written.

Run as `python -m tests.support.stalling_worker` with the worker's usual environment plus
- `MONITOR_TEST_STALL_KEY`: the customer id whose first alert arms the freeze;
- `MONITOR_TEST_STALLED_FILE`: created when the freeze begins;
- `MONITOR_TEST_WAKE_FILE`: the freeze lasts until this file exists (at most 180 s).

The freeze is a blocking sleep on the event loop's thread: heartbeats, commits and every
other task of the process stop with it, which is what a stopped process looks like to its
consumer group."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from agents.batch_writer import BatchWriter

_KEY = os.environ["MONITOR_TEST_STALL_KEY"].encode()
_STALLED = Path(os.environ["MONITOR_TEST_STALLED_FILE"])
_WAKE = Path(os.environ["MONITOR_TEST_WAKE_FILE"])
_ALERTS = os.environ.get("MONITOR_TOPIC_ALERTS", "aml.alerts")
_state = {"armed": False, "done": False}

_add, _flush = BatchWriter.add, BatchWriter.flush


def add(
    self: BatchWriter,
    topic: str,
    partition: int,
    key: bytes | None,
    value: bytes,
    *args: Any,
    **kwargs: Any,
) -> None:
    if topic == _ALERTS and key == _KEY and not _state["done"]:
        _state["armed"] = True
    _add(self, topic, partition, key, value, *args, **kwargs)


async def flush(self: BatchWriter) -> dict[tuple[str, int], int]:
    written = await _flush(self)
    if _state["armed"]:  # the alerts are acknowledged; the states come next
        _state["armed"], _state["done"] = False, True
        _STALLED.touch()
        deadline = time.monotonic() + 180
        while not _WAKE.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return written


BatchWriter.add, BatchWriter.flush = add, flush  # type: ignore[method-assign]

if __name__ == "__main__":
    from monitor.tools.cli import main

    sys.exit(main(["worker"]))
