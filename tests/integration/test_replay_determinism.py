"""Live processing and `monitor replay` of the same history give the same alerts, on the real
broker, with topics arriving out of event-time order relative to each other.

The guarantee (docs/backtesting.md): equal results when, per customer, events of one topic
arrive in event-time order and events of different topics are out of order by less than the
pack's `deadline_grace_hours`. The feed is paced day by day, as a live feed is, with each
day's topics sent in the reverse of the replay's order."""

from __future__ import annotations

from collections import defaultdict

import orjson
import pytest

from monitor.tools.simulate import simulate
from tests.support.kafka_io import produce, read_topic
from tests.support.packs import write_pack
from tests.support.replaying import latest, replay_all, without_detected_at
from tests.support.worker import wait_consumed

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


def _chunks(sim) -> list[list[tuple[str, dict]]]:
    """Openings first (an account exists before it is used); then day by day, each day's
    cash before that day's updates, remittances and transfers: not the replay's tie order,
    so within a day the topics arrive out of event-time order."""
    chunks = [[("kyc.account-openings", v) for v in sim.sorted_events("kyc.account-openings")]]
    by_day: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for topic in ("txn.cash", "kyc.customer-updates", "txn.remittances", "txn.transfers"):
        for at_ms, value in sorted(sim.events[topic], key=lambda tv: (tv[0], tv[1]["event_id"])):
            by_day[at_ms // DAY_MS][topic].append(value)
    for day in sorted(by_day):
        chunk = []
        for topic in ("txn.cash", "kyc.customer-updates", "txn.remittances", "txn.transfers"):
            chunk.extend((topic, v) for v in by_day[day][topic])
        chunks.append(chunk)
    return chunks


def test_live_worker_and_replay_raise_identical_alerts(worker_factory, tmp_path):
    pack_path = write_pack(tmp_path, {"deadline_grace_hours": 24})
    sim = simulate(customers=800, days=40, seed=11)
    chunks = _chunks(sim)
    ordered = [item for chunk in chunks for item in chunk]

    worker = worker_factory(rules=str(pack_path)).start()
    worker.wait_ready()
    sent = 0
    for chunk in chunks:  # a live feed: one day at a time, each consumed before the next
        sent += produce(
            worker.bootstrap,
            [
                (worker.topic(topic), v["customer_id"].encode(), orjson.dumps(v), None)
                for topic, v in chunk
            ],
        )
        wait_consumed(worker, sent)

    out = tmp_path / "replay"
    stats, replayed = replay_all(worker, pack_path, out)
    assert stats.events == len(ordered)
    assert len(replayed) > 50
    assert {a["rule_id"] for a in replayed.values()} >= {
        "LV_CASH",
        "STRUCTURING",
        "REMIT_MISSING_INFO",
        "REMIT_INFO_UNRESOLVED",
        "KYC_PEP",
        "LV_TRANSFER_INDIVIDUAL",
        "FUNNEL_IN",
        "FUNNEL_OUT",
        "PASS_THROUGH",
        "FREQUENT_SAME_COUNTERPARTY",
        "DORMANT_REACTIVATION",
    }

    def same(a: dict, b: dict) -> bool:
        return without_detected_at(a) == without_detected_at(b)

    live_msgs = read_topic(
        worker.bootstrap,
        worker.topic("aml.alerts"),
        until=lambda m: (
            set(now := latest(m)) >= set(replayed)
            and all(same(now[i], a) for i, a in replayed.items())
        ),
        timeout=240,
    )
    live = latest(live_msgs)
    assert set(live) == set(replayed), worker.log_text()
    for alert_id, alert in live.items():
        assert same(alert, replayed[alert_id]), alert_id

    # the same replay in two customer shards (two processes) finds exactly the same
    sharded_out = tmp_path / "replay-sharded"
    sharded, _ = replay_all(worker, pack_path, sharded_out, workers=2)
    assert (sharded.events, sharded.alerts, sharded.tasks, sharded.customers) == (
        stats.events,
        stats.alerts,
        stats.tasks,
        stats.customers,
    )
    for name, key in (("alerts.jsonl", "alert_id"), ("reid-tasks.jsonl", "task_id")):
        one = [orjson.loads(x) for x in (out / name).read_bytes().splitlines()]
        two = [orjson.loads(x) for x in (sharded_out / name).read_bytes().splitlines()]
        strip = lambda rows: sorted(  # noqa: E731
            orjson.dumps(without_detected_at(r), option=orjson.OPT_SORT_KEYS) for r in rows
        )
        assert len(two) == len(one) and strip(two) == strip(one), name
        assert len({r[key] for r in two}) == len(two)
    assert not list(sharded_out.glob(".shard-*"))
