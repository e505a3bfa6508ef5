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
    BENCH_OUTPUTS     `<alerts topic>,<tasks topic>` the `pack` variant writes to (required
                      by it; `bench.throughput` creates them)
    BENCH_ALERT_IDS   file the `pack` variant writes its distinct alerts to, `<alert id>
                      <rule id>` a line, once it has processed BENCH_EXPECT events
    BENCH_VARIANT     `table` (default: the baseline), `noop` (decode and count only, no
                      table): the cost of Faust's per-event stream machinery alone here, or
                      `pack`: the worker's work the naive Faust way (see below)

The `pack` variant does per event what the worker does, written as a first Faust app would
write it: the rule core's decoder and `Engine` with the shipped pack, each customer's
`CustomerState` bytes in a Faust `Table`, every alert and task sent with `Topic.send`, and
the rules across customers applied to the accounts' records in the same table (correct here
because the one agent holds every partition). Not done: dead letters, the deadline clock of
quiet customers, metrics. It tells how much of the worker's speed comes from its design
rather than from doing less: the default baseline does far less work than the worker.
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
if VARIANT not in ("table", "noop", "pack"):
    raise SystemExit(f"BENCH_VARIANT must be table, noop or pack, not {VARIANT!r}")
STATS = Path(os.environ["BENCH_STATS"]) if os.environ.get("BENCH_STATS") else None
ALERT_IDS = Path(os.environ["BENCH_ALERT_IDS"]) if os.environ.get("BENCH_ALERT_IDS") else None

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

if VARIANT == "pack":
    from datetime import UTC, datetime

    from bench.context import TOPIC_KINDS
    from monitor.core.conductor import conductor_cash
    from monitor.core.decode import Decoder, Rejection
    from monitor.core.engine import Engine
    from monitor.core.pack import load_pack
    from monitor.core.state import CustomerState

    _pack = load_pack(None)
    _engine = Engine(_pack)
    _decoder = Decoder(_pack.fx)
    #: input topic (with the bench's prefix) -> kind
    _KIND = {
        topic: kind
        for name, kind in TOPIC_KINDS.items()
        for topic in TOPICS
        if topic.endswith("." + name) or topic == name
    }
    #: customer, account or conductor key -> `CustomerState.to_bytes()`
    states = app.Table(
        "states",
        default=None,
        partitions=PARTITIONS,
        schema=faust.Schema(key_serializer="json", value_serializer="raw"),
    )
    _outputs = [t for t in os.environ.get("BENCH_OUTPUTS", "").split(",") if t]
    if len(_outputs) != 2:
        raise SystemExit("BENCH_VARIANT=pack needs BENCH_OUTPUTS=<alerts topic>,<tasks topic>")
    alerts_topic, tasks_topic = (app.topic(t, value_serializer="raw") for t in _outputs)


async def _apply(item: object) -> list[object]:
    """One item through the rule core against its record in the table, outputs sent; the
    paths it passes on (FUNDS_CYCLE) are returned."""
    key = item.customer_id  # type: ignore[attr-defined]
    raw = states.get(key)
    state = CustomerState.from_bytes(raw) if raw is not None else None
    outcome = _engine.process(state, item, datetime.now(UTC))  # type: ignore[arg-type]
    if outcome.duplicate:
        return []
    states[key] = outcome.state.to_bytes()
    for alert in outcome.findings.alerts:
        _alert_ids[alert.alert_id] = alert.rule_id
        await alerts_topic.send(key=key.encode(), value=alert.model_dump_json().encode())
    for task in outcome.findings.tasks:
        await tasks_topic.send(key=key.encode(), value=task.model_dump_json().encode())
    return list(outcome.findings.forwards)


async def _apply_pack(topic: str, value: bytes) -> None:
    event = _decoder.decode(_KIND[topic], value)
    if isinstance(event, Rejection):
        return
    await _apply(event)
    rekeyed: list[object] = []
    if _engine.conductors:
        person = conductor_cash(event)
        if person is not None:
            rekeyed.append(person)
    rekeyed += _engine.edges(event)
    for item in rekeyed:
        paths = await _apply(item)
        while paths:
            paths = [p for token in paths for p in await _apply(token)]


_progress = {"count": 0, "first": None, "last": None, "written": 0.0}
_alert_ids: dict[str, str] = {}  # the `pack` variant's, id -> rule (a report grows)


def _write_stats(final: bool = False) -> None:
    if final and ALERT_IDS is not None:
        ALERT_IDS.write_text("".join(f"{i} {r}\n" for i, r in sorted(_alert_ids.items())))
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
                "alerts": len(_alert_ids),  # distinct, as replay counts them
                "pid": os.getpid(),
            }
        )
    )
    tmp.replace(STATS)


async def _sum_cash(stream: faust.StreamT) -> None:
    async for value in stream:
        topic = stream.current_event.message.topic
        if VARIANT == "pack":
            await _apply_pack(topic, value)
        elif (data := orjson.loads(value)) and topic == CASH_TOPIC and VARIANT == "table":
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
