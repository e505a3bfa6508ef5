"""The worker's rule path without a broker, us-bsa pack: cash with a conductor is re-keyed to
the events topic by the conductor's person key and applied there to the conductor's state
record (31 CFR 1010.313(b): "by or on behalf of any person"), giving the offline run's
LV_CASH_CONDUCTOR report; the document number is never a key."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition

from agents.routing import CONDUCTOR_KIND, KIND_HEADER, decode_forwarded, read_header
from agents.rules import RulesService
from monitor.core.conductor import ConductorCash, conductor_key
from monitor.core.decode import Decoder, Rejection
from monitor.core.pack import Pack
from monitor.core.state import CustomerState
from monitor.tools.offline import OfflineRun
from tests.support.service import FakeWriter, apply, detached_service, home_batch, record

from .conftest import DETECTED_AT, cash

PARTITIONS = 4
PASSPORT = "X12345678"
AT = "2026-03-03T10:00:00-05:00"


def _service(pack: Pack) -> tuple[RulesService, FakeWriter]:
    return detached_service(pack, PARTITIONS)


def _cash_batch(svc: RulesService, events: list[Any]) -> dict[TopicPartition, list[Any]]:
    """The cash `events` on their customers' home partitions of the cash topic."""
    return home_batch(svc, "cash", events)


def _forwarded(svc: RulesService, writer: FakeWriter) -> dict[TopicPartition, list[Any]]:
    """What the last batches wrote to the events topic, as the next batch reads it."""
    topic = svc.settings.events_topic
    out: dict[TopicPartition, list[Any]] = {}
    rows = [w for w in writer.written if w[0] == topic]
    for n, (_, part, key, value, _, headers) in enumerate(rows):
        out.setdefault(TopicPartition(topic, part), []).append(
            record(topic, part, n, key, value, headers)
        )
    return out


def _alerts(svc: RulesService, writer: FakeWriter) -> list[dict[str, Any]]:
    import orjson

    return [orjson.loads(w[3]) for w in writer.written if w[0] == svc.settings.topic_alerts]


def conductor(number: str = PASSPORT) -> dict[str, Any]:
    return {"name": "Ann Lee", "id_document": {"type": "passport", "number": number}}


def _events() -> list[Any]:
    return [
        cash("6000", currency="USD", at=AT, customer_id=f"C{n}", conductor=conductor())
        for n in range(1, 4)
    ] + [cash("9000", currency="USD", at=AT, customer_id="C9", conductor=conductor("Y1"))]


def test_conductor_cash_is_rekeyed_and_reported_as_offline(us_pack):
    svc, writer = _service(us_pack)
    events = _events()
    apply(svc, _cash_batch(svc, events))
    forwarded = _forwarded(svc, writer)
    person = conductor_key(events[0])
    assert person is not None
    rows = [r for records in forwarded.values() for r in records]
    assert len(rows) == 4  # every cash with a conductor, once
    assert all(read_header(r.headers, KIND_HEADER) == CONDUCTOR_KIND for r in rows)
    assert {r.key for r in rows} == {person.encode(), conductor_key(events[3]).encode()}
    home = svc.home_partition(person.encode())
    assert {r.partition for r in rows if r.key == person.encode()} == {home}
    assert _alerts(svc, writer) == []  # no customer's own total is above USD 10,000

    apply(svc, forwarded)
    live = _alerts(svc, writer)
    # crossed at the second customer's cash, grown by the third's (one finding, two versions)
    assert [a["rule_id"] for a in live] == ["LV_CASH_CONDUCTOR"] * 2
    assert live[0]["alert_id"] == live[1]["alert_id"]
    # the conductor's record sits in the store of its key's home partition
    stored = svc.stores[home].get(person.encode())
    assert stored is not None
    assert CustomerState.from_bytes(stored).customer_id == person

    offline: list[Any] = []
    runner = OfflineRun(us_pack, lambda f: offline.extend(f.alerts), DETECTED_AT)
    for event in events:
        runner.apply(event, int(event.event_time.timestamp() * 1000))
    # the latest versions agree (the forwarded cash may reach the conductor's partition in
    # another order than event time: the evidence is compared as a set)
    latest = offline[-1].model_dump(mode="json")
    assert latest["alert_id"] == live[-1]["alert_id"]
    same = ("rule_id", "customer_id", "amount", "currency", "summary", "report_due", "queue")
    assert {k: live[-1][k] for k in same} == {k: latest[k] for k in same}
    assert sorted(live[-1]["evidence"]) == sorted(latest["evidence"])


def test_conductor_cash_of_a_held_partition_is_applied_in_the_batch(us_pack):
    svc, writer = _service(us_pack)
    svc.owned = set(range(PARTITIONS))
    events = _events()
    apply(svc, _cash_batch(svc, events))
    assert not _forwarded(svc, writer)  # nothing goes round the events topic
    live = _alerts(svc, writer)
    assert [a["rule_id"] for a in live] == ["LV_CASH_CONDUCTOR"] * 2
    person = conductor_key(events[0])
    assert person is not None
    assert live[-1]["customer_id"] == person
    assert svc.stores[svc.home_partition(person.encode())].get(person.encode()) is not None
    assert svc.metrics.rekeyed_applied.labels("conductor")._value.get() == 4  # noqa: SLF001


def test_the_document_number_is_never_a_key(us_pack):
    svc, writer = _service(us_pack)
    events = _events()
    apply(svc, _cash_batch(svc, events))
    apply(svc, _forwarded(svc, writer))
    for topic, _, key, value, *_ in writer.written:
        assert PASSPORT.encode() not in key
        if topic != svc.settings.events_topic:  # the forwarded cash is the input itself
            assert PASSPORT.encode() not in value


def test_a_replayed_batch_counts_the_conductor_once(us_pack):
    svc, writer = _service(us_pack)
    events = _events()[:2]  # USD 12,000 for two customers
    batch = _cash_batch(svc, events)
    apply(svc, batch)
    apply(svc, batch)  # redelivered after a crash before the commit
    forwarded = _forwarded(svc, writer)
    assert sum(len(r) for r in forwarded.values()) == 4  # forwarded twice
    apply(svc, forwarded)
    (alert,) = _alerts(svc, writer)
    assert alert["amount"] == "12000.00"


def test_a_pack_without_the_rule_forwards_no_conductor_cash(pack):
    svc, writer = _service(pack)
    apply(svc, _cash_batch(svc, _events()))
    assert all(
        read_header(w[5], KIND_HEADER) != CONDUCTOR_KIND
        for w in writer.written
        if w[0] == svc.settings.events_topic
    )


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (CONDUCTOR_KIND, "conductor", ConductorCash),
        (CONDUCTOR_KIND, "none", type(None)),
        ("cash", "conductor", type(cash("1"))),
        ("nonsense", "conductor", type(None)),
        (CONDUCTOR_KIND, "bad", type(None)),
    ],
)
def test_decode_forwarded(us_pack, kind, value, expected):
    raw = {
        "conductor": cash("1", currency="USD", conductor=conductor()).model_dump_json().encode(),
        "none": cash("1", currency="USD").model_dump_json().encode(),
        "bad": b"{",
    }[value]
    decoded = decode_forwarded(Decoder(us_pack.fx).decode, kind, raw)
    assert isinstance(decoded, expected) and not isinstance(decoded, Rejection)
