"""The worker's rule path without a broker, cn-pboc pack: transfers are re-keyed to the events
topic by the accounts they move money between (never by the account number itself), the
paths FUNDS_CYCLE passes on go the same way, and the latest version of every
COUNTERPARTY_HUB and FUNDS_CYCLE alert is the offline run's; a redelivered batch doubles
nothing."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from agents.routing import KIND_HEADER, TOKEN_KIND, decode_forwarded, read_header
from agents.rules import RulesService
from monitor.core.decode import Decoder
from monitor.core.network import Edge, Token, account_key
from monitor.tools.offline import OfflineRun
from tests.support.service import FakeWriter, apply, home_batch, record

from .conftest import DETECTED_AT, make_pack, transfer
from .test_us_bsa_stream import PARTITIONS, _service

NETWORK = ("COUNTERPARTY_HUB", "FUNDS_CYCLE")
X, Y, HUB = "6217000000003100", "6217000000003200", "6217000000009999"


def _events() -> list[Any]:
    hub = [
        transfer(
            f"{20000 + k}",
            direction="out",
            customer_id=f"H{k}",
            counterparty=HUB,
            txn_id=f"HUB{k}",
            at=f"2026-03-0{3 + k // 3}T1{k}:00:00+08:00",
        )
        for k in range(6)
    ]
    cycle = [
        ("L1", "C1", "03T09", "out", "50000", X),
        ("L2", "C2", "03T11", "in", "49000", X),
        ("L3", "C2", "03T15", "out", "48000", Y),
        ("L4", "C1", "04T09", "in", "47000", Y),
    ]
    return hub + [
        transfer(
            amount,
            direction=d,
            customer_id=cid,
            counterparty=cp,
            txn_id=txn,
            at=f"2026-03-{at}:00:00+08:00",
        )
        for txn, cid, at, d, amount, cp in cycle
    ]


def _input_batch(svc: RulesService, events: list[Any]) -> dict[TopicPartition, list[Any]]:
    """The transfers on their customers' home partitions of the transfers topic."""
    return home_batch(svc, "transfer", events)


def _run_to_quiet(svc: RulesService, writer: FakeWriter, first: dict, reverse: bool) -> int:
    """Apply `first`, then whatever the batches forward to the events topic, batch after
    batch (each partition's records reversed when `reverse`), until nothing new is
    forwarded; returns how many batches of forwarded records were applied."""
    topic = svc.settings.events_topic
    apply(svc, first)
    done, rounds = 0, 0
    while True:
        rows = [w for w in writer.written if w[0] == topic][done:]
        done += len(rows)
        if not rows:
            return rounds
        batch: dict[TopicPartition, list[Any]] = {}
        for n, (_, part, key, value, _, headers) in enumerate(rows):
            batch.setdefault(TopicPartition(topic, part), []).append(
                record(topic, part, n, key, value, headers)
            )
        if reverse:
            batch = {tp: records[::-1] for tp, records in reversed(batch.items())}
        apply(svc, batch)
        rounds += 1


def _latest(svc: RulesService, writer: FakeWriter) -> dict[str, dict[str, Any]]:
    latest = {}
    for topic, _, _, value, *_ in writer.written:
        if topic == svc.settings.topic_alerts:
            alert = orjson.loads(value)
            if alert["rule_id"] in NETWORK:
                alert.pop("detected_at")
                latest[alert["alert_id"]] = alert
    return latest


def _offline(pack: Any, events: list[Any]) -> dict[str, dict[str, Any]]:
    found: list[Any] = []
    runner = OfflineRun(pack, lambda f: found.extend(f.alerts), DETECTED_AT)
    for event in sorted(events, key=lambda e: e.occurred_at):
        runner.apply(event, int(event.event_time.timestamp() * 1000))
    latest = {}
    for alert in found:
        if alert.rule_id in NETWORK:
            dumped = alert.model_dump(mode="json")
            dumped.pop("detected_at")
            latest[alert.alert_id] = dumped
    return latest


def test_transfers_are_rekeyed_by_account_and_reported_as_offline():
    pack = make_pack()
    want = _offline(pack, _events())
    assert sorted({a["rule_id"] for a in want.values()}) == sorted(NETWORK)
    assert len(want) == 6 + 2
    for reverse in (False, True):
        svc, writer = _service(pack)
        rounds = _run_to_quiet(svc, writer, _input_batch(svc, _events()), reverse)
        assert rounds >= 2  # the paths went on from account to account
        assert _latest(svc, writer) == want
        forwarded = [w for w in writer.written if w[0] == svc.settings.events_topic]
        kinds = {read_header(w[5], KIND_HEADER) for w in forwarded}
        assert {"net:i:transfer", "net:o:transfer", TOKEN_KIND} <= kinds
        for _, part, key, *_ in forwarded:
            assert part == svc.home_partition(key)
            assert HUB.encode() not in key and X.encode() not in key
        # the hub's record sits in the store of its key's home partition
        hub = account_key(HUB)
        assert hub is not None
        assert svc.stores[svc.home_partition(hub.encode())].get(hub.encode()) is not None


@pytest.mark.parametrize("owned", [range(PARTITIONS), (0, 2)], ids=["all", "some"])
def test_records_of_held_partitions_are_applied_in_the_batch(owned):
    """A worker applies the edges and paths of the partitions it holds in the batch that
    produced them, and forwards only the others: the same alerts as offline either way."""
    pack = make_pack()
    want = _offline(pack, _events())
    for reverse in (False, True):
        svc, writer = _service(pack)
        svc.owned = set(owned)
        _run_to_quiet(svc, writer, _input_batch(svc, _events()), reverse)
        assert _latest(svc, writer) == want
        forwarded = {w[1] for w in writer.written if w[0] == svc.settings.events_topic}
        assert not forwarded & svc.owned
        if svc.owned == set(range(PARTITIONS)):
            assert not forwarded
        applied = svc.metrics.rekeyed_applied
        assert applied.labels("account")._value.get() > 0  # noqa: SLF001
        assert applied.labels("path")._value.get() > 0  # noqa: SLF001


def test_a_redelivered_batch_doubles_nothing():
    pack = make_pack()
    svc, writer = _service(pack)
    batch = _input_batch(svc, _events())
    apply(svc, batch)
    apply(svc, batch)  # redelivered after a crash before the commit
    _run_to_quiet(svc, writer, {}, False)
    latest = _latest(svc, writer)
    assert latest == _offline(pack, _events())
    for alert in latest.values():
        assert len(alert["evidence"]) == len(set(alert["evidence"]))


def test_a_pack_without_the_rules_forwards_no_transfer():
    pack = make_pack({f"rules.{rule}.enabled": False for rule in NETWORK})
    svc, writer = _service(pack)
    apply(svc, _input_batch(svc, _events()))
    assert not any(w[0] == svc.settings.events_topic for w in writer.written)


def test_forwarded_records_decode_to_their_account_side():
    decoder = Decoder(make_pack().fx)
    event = _events()[-1]  # money in from Y: Y's record, as money out of it
    value = event.model_dump_json().encode()
    edge = decode_forwarded(decoder.decode, "net:o:transfer", value)
    assert isinstance(edge, Edge) and edge.customer_id == account_key(Y)
    assert decode_forwarded(decoder.decode, "net:i:transfer", value) is None  # Y is not ours
    assert decode_forwarded(decoder.decode, "net:x", value) is None
    leg = ("T1", "account:a", "account:b", "C1", "", 100, 1, "****0001", "****0002")
    token = Token("account:b", (leg,))
    assert decode_forwarded(decoder.decode, TOKEN_KIND, token.to_bytes()) == token
    assert decode_forwarded(decoder.decode, TOKEN_KIND, b"{}") is None
