"""The rule path's deadline pass without a broker: a quiet customer's deadlines fire from
other customers' traffic on its partition once every topic feeding the partition has
passed them, go out with the batch's outputs and state, and are put back when a batch
is not written."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError

from agents.clock import DeadlineClock
from agents.membership import MembershipLost
from agents.rules import RulesService
from monitor.core.pack import load_pack
from monitor.core.state import CustomerState
from tests.support.service import FakeWriter, Wall, apply, detached_service

from .conftest import cash, opening, remittance


@pytest.fixture
def service() -> tuple[RulesService, FakeWriter, Wall]:
    wall = Wall()
    svc, writer = detached_service(load_pack(), wall=wall, input_idle_ms=5_000)
    return svc, writer, wall


_offsets: dict[str, int] = {}


def batch(svc: RulesService, *events: tuple[str, Any]) -> dict[TopicPartition, list[Any]]:
    """A batch of (kind, event) on partition 0 of each kind's input topic."""
    out: dict[TopicPartition, list[Any]] = {}
    for kind, event in events:
        topic = svc.settings.input_topics[kind]
        offset = _offsets[topic] = _offsets.get(topic, -1) + 1
        record = SimpleNamespace(
            topic=topic,
            partition=0,
            offset=offset,
            key=event.customer_id.encode(),
            value=event.model_dump_json().encode(),
            timestamp=0,
            headers=(),
        )
        out.setdefault(TopicPartition(topic, 0), []).append(record)
    return out


def traffic(at: str) -> list[tuple[str, Any]]:
    """A busy customer's events at `at` on every input topic."""
    return [
        ("account_opening", opening(customer_id=f"B-{at}", opened_at=at)),
        ("customer_update", _update(f"B-{at}", at)),
        ("cash", cash("10", customer_id="BUSY", at=at)),
        ("remittance", remittance("10", customer_id="BUSY", at=at)),
    ]


def _update(customer_id: str, at: str) -> Any:
    from .conftest import update

    return update({"phone": "1"}, customer_id=customer_id, at=at)


def outputs(writer: FakeWriter, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(v) for t, _, _, v, *_ in writer.written if t == topic]


def reviews(svc: RulesService, writer: FakeWriter) -> list[dict[str, Any]]:
    tasks = outputs(writer, svc.settings.topic_reid_tasks)
    return [t for t in tasks if t["trigger"] == "PERIODIC_REVIEW"]


OPENED = "2026-03-02T10:00:00+08:00"


def quiet_pep() -> tuple[str, Any]:
    return (
        "account_opening",
        opening(customer_id="QUIET", is_pep=True, opened_at="2026-03-02T10:00:00+08:00"),
    )


def test_quiet_customers_review_fires_from_other_customers_traffic(service) -> None:
    svc, writer, wall = service
    apply(svc, batch(svc, quiet_pep(), *traffic("2026-04-01T10:00:00+08:00")))
    # the events topic has brought nothing: it holds stream time back until it is idle
    apply(svc, batch(svc, *traffic("2026-09-10T10:00:00+08:00")))
    assert reviews(svc, writer) == []
    wall.now = 6.0  # the events topic idle for longer than MONITOR_INPUT_IDLE_MS
    assert svc.deadlines.has_due()
    apply(svc, {})
    (task,) = reviews(svc, writer)
    assert task["customer_id"] == "QUIET"
    assert task["source_event_id"] == "periodic-review:2026-09-02"
    # the quiet customer's state went out with it, and its next deadline is indexed
    changelog = svc.settings.changelog_topic
    (raw,) = [v for t, _, k, v, *_ in writer.written if t == changelog and k == b"QUIET"][-1:]
    assert CustomerState.from_bytes(raw).risk["next_review"] == "2027-03-02"
    assert svc.deadlines.indexes[0].get(b"QUIET") is not None
    assert not svc.deadlines.has_due()
    gauge = svc.metrics.stream_time.labels("0")._value.get()  # noqa: SLF001
    assert gauge == _ms("2026-09-10T10:00:00+08:00") / 1000


def test_a_lagging_topic_holds_the_quiet_customers_deadline_back(service) -> None:
    svc, writer, wall = service
    apply(svc, batch(svc, quiet_pep(), *traffic("2026-04-01T10:00:00+08:00")))
    wall.now = 6.0  # the events topic, never seen, is idle from now on
    late = [e for e in traffic("2026-09-10T10:00:00+08:00") if e[0] != "remittance"]
    lagging = remittance("1", customer_id="BUSY", at="2026-08-01T10:00:00+08:00")
    apply(svc, batch(svc, *late, ("remittance", lagging)))
    assert svc.deadlines.stream_time(0) == _ms("2026-08-01T10:00:00+08:00")
    assert reviews(svc, writer) == []
    wall.now = 10.0
    assert not svc.deadlines.has_due()
    wall.now = 11.5  # the remittances topic has brought nothing for over 5 s
    assert svc.deadlines.stream_time(0) == _ms("2026-09-10T10:00:00+08:00")
    apply(svc, {})
    (task,) = reviews(svc, writer)
    assert task["customer_id"] == "QUIET"


def _ms(at: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(at).timestamp() * 1000)


def test_a_batch_that_is_not_written_leaves_the_deadline_to_the_next(service) -> None:
    svc, writer, wall = service
    apply(svc, batch(svc, quiet_pep(), *traffic("2026-04-01T10:00:00+08:00")))
    wall.now = 6.0
    writer.fail = True
    with pytest.raises(KafkaTimeoutError):
        apply(svc, batch(svc, *traffic("2026-09-10T10:00:00+08:00")))
    writer.discard()
    assert reviews(svc, writer) == []
    assert svc.stores[0].get(b"QUIET") is not None
    stored = CustomerState.from_bytes(svc.stores[0].get(b"QUIET") or b"")
    assert stored.risk["next_review"] == "2026-09-02"  # nothing stored
    apply(svc, batch(svc, *traffic("2026-09-11T10:00:00+08:00")))
    (task,) = reviews(svc, writer)
    assert task["customer_id"] == "QUIET"


def test_assignment_indexes_every_stored_state(service) -> None:
    svc, writer, wall = service
    apply(svc, batch(svc, quiet_pep(), *traffic("2026-04-01T10:00:00+08:00")))
    clock = DeadlineClock(svc.engine, svc.settings, svc.metrics, wall=wall)
    stores = svc.stores
    assert clock.index(0, stores[0]) == len(svc.deadlines.indexes[0])
    assert clock.indexes[0].get(b"QUIET") == svc.deadlines.indexes[0].get(b"QUIET")
    # revoked and assigned again with the store unchanged: the same index comes back
    index = clock.indexes[0]
    clock.revoke(0, stores)
    assert 0 not in clock.indexes
    clock.assign([0], stores)
    assert clock.indexes[0] is index
    # another owner wrote meanwhile: rebuilt from the store
    clock.revoke(0, stores)
    stores[0].write([(b"OTHER", CustomerState("OTHER").to_bytes())], stores[0].offset + 1)
    clock.assign([0], stores)
    assert clock.indexes[0] is not index
    assert clock.indexes[0].get(b"QUIET") == index.get(b"QUIET")


def test_a_rule_core_failure_on_a_deadline_skips_that_customer_only(service, monkeypatch) -> None:
    svc, writer, wall = service
    others = [("account_opening", opening(customer_id="QUIET2", is_pep=True, opened_at=OPENED))]
    apply(svc, batch(svc, quiet_pep(), *others, *traffic("2026-04-01T10:00:00+08:00")))
    real = svc.engine.advance

    def advance(state: CustomerState, now_ms: int, detected_at: Any) -> Any:
        if state.customer_id == "QUIET":
            raise ValueError("a bug")
        return real(state, now_ms, detected_at)

    monkeypatch.setattr(svc.engine, "advance", advance)
    wall.now = 6.0
    apply(svc, batch(svc, *traffic("2026-09-10T10:00:00+08:00")))
    assert [t["customer_id"] for t in reviews(svc, writer)] == ["QUIET2"]


class FakeConsumer:
    def __init__(self, assigned: set[TopicPartition]) -> None:
        self.assigned = assigned
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


def test_a_pass_without_events_proves_membership_with_the_committed_offsets(service) -> None:
    svc, writer, wall = service
    held, gone = TopicPartition("txn.cash", 0), TopicPartition("txn.cash", 1)
    consumer = FakeConsumer({held})
    svc.consumer = consumer  # type: ignore[assignment]
    svc.proven_at = 0.0
    with pytest.raises(MembershipLost):  # nothing committed yet: nothing to prove it with
        asyncio.run(svc._still_a_member({}))  # noqa: SLF001
    svc.committed = {held: 7, gone: 3}
    asyncio.run(svc._still_a_member({}))  # noqa: SLF001
    assert consumer.commits == [{held: 7}]
    assert svc.proven_at > 0
