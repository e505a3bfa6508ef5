"""The naive baseline of the benchmark: a plain Faust app with default settings.

One agent over the four input topics decodes each JSON value (orjson) and keeps a
per-customer same-day cash sum in a Faust `Table` (memory store, changelog topic, Faust's
default JSON value serialiser). No rule pack, no validation, no outputs: this is what a
first Faust implementation of "sum each customer's cash per day" costs per event.

Only what running it on a shared machine needs is set (everything else is Faust's default):
the broker, a data directory, a free web port (Faust binds it even if nobody asks) and the
table's partition count (it must equal the source topics'; Faust's default is 8).

Run as a subprocess by `bench/run.py`:

    BENCH_BOOTSTRAP=127.0.0.1:9092 BENCH_TOPICS=a.txn.cash,a.txn.remittances,... \\
    BENCH_CASH_TOPIC=a.txn.cash BENCH_APP_ID=bench-baseline BENCH_EXPECT=100000 \\
    BENCH_STATS=/tmp/stats.json python -m bench.faust_baseline worker

Environment:
    BENCH_BOOTSTRAP   host:port of the broker (required)
    BENCH_TOPICS      comma-separated input topics (required)
    BENCH_CASH_TOPIC  the cash topic among them (required)
    BENCH_APP_ID      Faust app id and consumer group (default: bench-baseline)
    BENCH_PARTITIONS  partitions of the input topics (default: 4)
    BENCH_EXPECT      events to process before the final stats are written (default: 0 = never)
    BENCH_STATS       JSON file the progress is written to (count, first and last event time)
    BENCH_DATADIR     Faust data directory (default: a temporary directory)
    BENCH_WEB_PORT    Faust web port (default: a free port)
    BENCH_VARIANT     `table` (default: the baseline), or `noop` (decode and count only, no
                      table): the cost of Faust's per-event stream machinery alone here
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import faust
import orjson

from monitor.io.devservers import free_port

BOOTSTRAP = os.environ.get("BENCH_BOOTSTRAP", "127.0.0.1:9092")
TOPICS = [t for t in os.environ.get("BENCH_TOPICS", "").split(",") if t]
CASH_TOPIC = os.environ.get("BENCH_CASH_TOPIC", "")
PARTITIONS = int(os.environ.get("BENCH_PARTITIONS", "4"))
EXPECT = int(os.environ.get("BENCH_EXPECT", "0"))
VARIANT = os.environ.get("BENCH_VARIANT", "table")
STATS = Path(os.environ["BENCH_STATS"]) if os.environ.get("BENCH_STATS") else None

app = faust.App(
    os.environ.get("BENCH_APP_ID", "bench-baseline"),
    broker=f"kafka://{BOOTSTRAP}",
    datadir=os.environ.get("BENCH_DATADIR") or tempfile.mkdtemp(prefix="bench-baseline-"),
    web_port=int(os.environ.get("BENCH_WEB_PORT") or free_port()),
    web_host="127.0.0.1",
)

inputs = app.topic(*TOPICS, value_serializer="raw") if TOPICS else None

#: customer_id -> {"day": "YYYY-MM-DD", "sum": float}: the same-day cash sum
cash_today = app.Table("cash-today", default=None, partitions=PARTITIONS)

_progress = {"count": 0, "first": None, "last": None, "written": 0.0}


def _write_stats(final: bool = False) -> None:
    if STATS is None:
        return
    tmp = STATS.with_suffix(".tmp")
    tmp.write_bytes(
        orjson.dumps(
            {
                "count": _progress["count"],
                "first": _progress["first"],
                "last": _progress["last"],
                "final": final,
                "pid": os.getpid(),
            }
        )
    )
    tmp.replace(STATS)


async def _sum_cash(stream: faust.StreamT) -> None:
    async for value in stream:
        topic = stream.current_event.message.topic
        data = orjson.loads(value)
        if topic == CASH_TOPIC and VARIANT == "table":
            customer = data["customer_id"]
            day = data["occurred_at"][:10]
            current = cash_today.get(customer)
            total = float(data["amount"])
            if current is not None and current["day"] == day:
                total += current["sum"]
            cash_today[customer] = {"day": day, "sum": total}
        now = time.time()
        _progress["count"] += 1
        if _progress["first"] is None:
            _progress["first"] = now
        _progress["last"] = now
        if EXPECT and _progress["count"] == EXPECT:
            _write_stats(final=True)
        elif now - _progress["written"] > 0.5:
            _progress["written"] = now
            _write_stats()


if inputs is not None:
    app.agent(inputs, name="sum-cash")(_sum_cash)


if __name__ == "__main__":
    app.main()
