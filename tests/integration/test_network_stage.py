"""The second stage on real Apache Kafka: transfers re-keyed by account through the internal
events topic, the paths FUNDS_CYCLE passes on from account to account, and the
COUNTERPARTY_HUB and FUNDS_CYCLE alerts they give.

- Live == replay: the latest version of every alert the worker publishes equals what
  `monitor replay` of the same topics writes, with the customers' transfers arriving in
  another order across partitions than event time.
- A worker SIGKILLed twice while the stage works (transfers and paths on the events topic,
  alerts half published) loses and doubles nothing: every expected alert is in the
  compliance queue exactly once, as the offline run's latest version, and nothing else."""

from __future__ import annotations

import random
import time
from typing import Any

import orjson
import pytest
import redis

from monitor.core.pack import load_pack
from monitor.tools.replay import replay
from monitor.tools.scenario import Message, expected_findings
from tests.faults import scenarios
from tests.support.kafka_io import create_topics, produce, read_topic
from tests.support.packs import write_pack
from tests.support.replaying import ALL_TIME, latest, replay_all, replay_settings
from tests.support.worker import consumed

pytestmark = pytest.mark.integration

NETWORK = ("COUNTERPARTY_HUB", "FUNDS_CYCLE")


def _transfer(n: int, cid: str, day: int, hour: float, direction: str, amount: int, cp: str):
    minutes = int(hour * 60)
    return {
        "event_id": f"ev-N{n}",
        "txn_id": f"N{n}",
        "customer_id": cid,
        "account_id": f"AC-{cid}",
        "occurred_at": f"2026-03-{day:02d}T{minutes // 60:02d}:{minutes % 60:02d}:00+08:00",
        "direction": direction,
        "amount": f"{amount}.00",
        "currency": "CNY",
        "counterparty": {
            "name": f"Party {cp[-4:]}",
            "account_number": cp,
            "bank_code": "102100099996",
            "customer_id": None,
        },
        "channel": "online",
        "purpose": None,
        "source_of_funds": None,
    }


def network_stream(hubs: int, cycles: int, noise: int, seed: int) -> list[dict[str, Any]]:
    """Transfers of `hubs` mule hubs (six customers each passing CNY 20,000-30,000 on to one
    outside account within two days), `cycles` round trips (A -> X -> B -> Y -> A within a
    day) and `noise` customers paying shops and friends; in event-time order."""
    rng = random.Random(seed)
    rows: list[tuple[float, dict[str, Any]]] = []
    n = 0

    def add(cid: str, day: int, hour: float, direction: str, amount: int, cp: str) -> None:
        nonlocal n
        n += 1
        rows.append((day * 24 + hour, _transfer(n, cid, day, hour, direction, amount, cp)))

    for h in range(hubs):
        hub, day = f"6228{h:012d}", 2 + h % 5
        for k in range(6):
            add(f"HB{h:03d}-{k}", day + k % 2, 9 + k, "out", rng.randint(20, 30) * 1000, hub)
    for c in range(cycles):
        x, y, day = f"6229{c:012d}", f"6230{c:012d}", 2 + c % 5
        amount = rng.randint(30, 90) * 1000
        a, b = f"CY{c:03d}-A", f"CY{c:03d}-B"
        add(a, day, 9, "out", amount, x)
        add(b, day, 11, "in", amount * 98 // 100, x)
        add(b, day, 14, "out", amount * 96 // 100, y)
        add(a, day, 17, "in", amount * 94 // 100, y)
    for k in range(noise):
        shop = f"6231{k % 7:012d}"  # seven shops shared by every noise customer
        for _ in range(3):
            add(
                f"NZ{k:04d}",
                2 + rng.randrange(6),
                rng.uniform(8, 20),
                "out",
                rng.randint(1, 45) * 100,
                shop,
            )
    rows.sort(key=lambda row: (row[0], row[1]["event_id"]))
    return [value for _, value in rows]


def _messages(values: list[dict[str, Any]]) -> list[Message]:
    return [Message("transfer", v["customer_id"].encode(), orjson.dumps(v)) for v in values]


def _latest_expected(values: list[dict[str, Any]], pack: Any = None) -> dict[str, dict[str, Any]]:
    findings, invalid = expected_findings(pack or load_pack(), _messages(values))
    assert invalid == 0
    latest = {}
    for alert in findings.alerts:
        latest[alert.alert_id] = orjson.loads(alert.model_dump_json())
    return latest


def _strip(alert: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in alert.items() if k != "detected_at" and not k.startswith("_")}


def _customer_disorder(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each customer's transfers in event-time order, the customers in reverse: across
    customers (and partitions) the transfers arrive out of event-time order."""
    by_customer: dict[str, list[dict[str, Any]]] = {}
    for v in values:
        by_customer.setdefault(v["customer_id"], []).append(v)
    return [v for cid in sorted(by_customer, reverse=True) for v in by_customer[cid]]


@pytest.mark.parametrize("workers", [1, 2])
def test_hub_and_cycle_alerts_are_identical_live_and_in_replay(worker_factory, tmp_path, workers):
    """One worker applies every edge and path in the batch that produced it; two workers
    in one group send those of the other's partitions through the events topic."""
    pack_path = write_pack(tmp_path, {"rules.WATCHLIST_MATCH.enabled": False})
    values = network_stream(hubs=4, cycles=5, noise=40, seed=3)
    expected = _latest_expected(values, load_pack(pack_path))
    assert {a["rule_id"] for a in expected.values()} == set(NETWORK)
    assert len(expected) == 4 * 6 + 5 * 2

    group = [worker_factory(rules=str(pack_path), partitions=4) for _ in range(workers)]
    for member in group:
        member.start()
    worker = group[0]
    for member in group:
        member.wait_ready()
    if workers > 1:  # both hold partitions before anything is produced
        scenarios.wait_until(lambda: _split(group), 120, "partitions split", worker, poll=0.5)
    topic = worker.topic("txn.transfers")
    sent = produce(
        worker.bootstrap,
        [
            (topic, v["customer_id"].encode(), orjson.dumps(v), None)
            for v in _customer_disorder(values)
        ],
    )
    scenarios.wait_until(
        lambda: sum(consumed(m) for m in group) >= sent, 90, f"{sent} consumed", worker, poll=0.2
    )

    live = latest(
        read_topic(
            worker.bootstrap,
            worker.topic("aml.alerts"),
            until=lambda m: all(
                _strip(latest(m).get(i, {})) == _strip(a) for i, a in expected.items()
            ),
            timeout=180,
        )
    )
    assert set(live) == set(expected), worker.log_text()

    settings, out = replay_settings(worker, pack_path), tmp_path / "replay"
    # customer shards, then the accounts' records in a second pass
    stats, replayed = replay_all(worker, pack_path, out, workers=2)
    assert stats.events == len(values)
    assert set(replayed) == set(live)
    for alert_id, alert in live.items():
        assert _strip(alert) == _strip(replayed[alert_id]), alert_id
    forwarded = scenarios.published(worker.bootstrap, f"{worker.prefix}-app-events")
    assert (forwarded > 0) == (workers > 1)  # only another owner's records go round
    hub = next(a for a in live.values() if a["rule_id"] == "COUNTERPARTY_HUB")
    assert len(hub["evidence"]) == 6 and hub["explanation"]["figures"]["customers"] == 6
    cycle = next(a for a in live.values() if a["rule_id"] == "FUNDS_CYCLE")
    assert len(cycle["evidence"]) == 4

    # one process and three shards write the same rows (sharded: in (event time, id) order)
    from monitor.tools.replay import _merge_jsonl

    def rows(path: Any) -> list[bytes]:
        return [orjson.dumps(_strip(orjson.loads(line))) for line in path.read_bytes().splitlines()]

    for workers in (1, 3):
        other = tmp_path / f"replay-{workers}"
        again, _ = replay_all(worker, pack_path, other, workers=workers)
        assert (again.events, again.alerts, again.customers) == (
            stats.events,
            stats.alerts,
            stats.customers,
        )
        if workers == 1:
            _merge_jsonl([other / "alerts.jsonl"], other / "sorted.jsonl")
            assert rows(other / "sorted.jsonl") == rows(out / "alerts.jsonl")
        else:
            assert rows(other / "alerts.jsonl") == rows(out / "alerts.jsonl")

    # to topics: the second pass produces its alerts beside the shards'
    prefix = f"{worker.prefix}-replay."
    create_topics(
        worker.bootstrap,
        [f"{prefix}{settings.topic_alerts}", f"{prefix}{settings.topic_reid_tasks}"],
        2,
    )
    replay(
        settings,
        load_pack(pack_path),
        *ALL_TIME,
        None,
        topic_prefix=prefix,
        show_progress=False,
        workers=2,
    )
    produced = latest(
        read_topic(
            worker.bootstrap,
            f"{prefix}{settings.topic_alerts}",
            until=lambda m: len(latest(m)) >= len(replayed),
            timeout=60,
        )
    )
    assert {i: _strip(a) for i, a in produced.items()} == {
        i: _strip(a) for i, a in replayed.items()
    }


def test_sigkill_during_the_second_stage_loses_and_doubles_nothing(kafka, redis_server, tmp_path):
    values = network_stream(hubs=40, cycles=60, noise=300, seed=11)
    expected = _latest_expected(values)
    assert len(expected) == 40 * 6 + 60 * 2
    messages = _messages(values)
    client = redis.Redis.from_url(redis_server.url)
    worker = scenarios._worker(kafka.bootstrap, redis_server.url, tmp_path)  # noqa: SLF001
    alerts_topic = worker.topic("aml.alerts")
    events_topic = f"{worker.prefix}-app-events"
    killed: list[dict[str, int]] = []
    targets = [len(expected) // 5, len(expected) // 2]  # alert versions published before a kill
    started = time.monotonic()
    try:
        worker.start()
        worker.wait_ready(120)
        for part in _slices(messages, 40):
            topic = worker.topic("txn.transfers")
            produce(kafka.bootstrap, [(topic, m.key, m.value, None) for m in part])
            time.sleep(0.3)
            published = scenarios.published(kafka.bootstrap, alerts_topic)
            if targets and published >= targets[0]:
                # mid-stage: transfers and paths still on their way through the events topic
                targets.pop(0)
                worker.kill()
                killed.append(
                    {
                        "published": published,
                        "forwarded": scenarios.published(kafka.bootstrap, events_topic),
                    }
                )
                worker.start()
                worker.wait_ready(120)
        scenarios.wait_until(
            lambda: scenarios.queued_count(client, worker.prefix) >= len(expected),
            300,
            f"{len(expected)} alerts in the queues",
            worker,
            poll=0.5,
        )
        time.sleep(3)  # anything doubled would arrive now
        queued = scenarios.queued_alerts(client, worker.prefix)
        on_topic = [orjson.loads(v) for v in scenarios.read_to_end(kafka.bootstrap, alerts_topic)]
    finally:
        worker.stop()
    assert len(killed) == 2
    counts: dict[str, int] = {}
    for alert in queued:
        counts[alert["alert_id"]] = counts.get(alert["alert_id"], 0) + 1
    assert set(counts) == set(expected), "missing or unexpected alerts in the queues"
    assert all(c == 1 for c in counts.values()), "doubled in the queues"
    for alert in queued:
        assert _strip(alert) == _strip(expected[alert["alert_id"]]), alert["alert_id"]
    assert {a["alert_id"] for a in on_topic} == set(expected)
    print(
        f"killed at {killed}; {len(on_topic)} versions published; {time.monotonic() - started:.0f}s"
    )


def _split(group: list[Any]) -> bool:
    """Whether the workers' latest assignments (from their logs) share out all 4 partitions."""
    held = []
    for worker in group:
        lines = [x for x in worker.log_text(100_000).splitlines() if "partitions assigned:" in x]
        if not lines:
            return False
        part = lines[-1].split("partitions assigned:", 1)[1].split(";", 1)[0].strip()
        held.append(set() if part == "none" else set(part.split(",")))
    return all(held) and sorted(p for h in held for p in h) == ["0", "1", "2", "3"]


def _slices(items: list[Message], n: int) -> list[list[Message]]:
    return [items[k * len(items) // n : (k + 1) * len(items) // n] for k in range(n)]
