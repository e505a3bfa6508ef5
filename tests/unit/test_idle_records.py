"""Idle account and conductor records without a broker: the horizon derived from the pack,
the per-partition expiry index, tombstones written through the batch's write path (after
the membership proof, kept back by a failed batch), a restore reading a tombstone as a
deletion, and offline runs dropping the records with the same outputs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry

from agents.clock import DeadlineClock
from agents.idle import IdleRecords
from agents.membership import MembershipLost
from agents.restore import restore
from agents.rules import RulesService
from agents.state_store import MemoryStore, RocksStore
from monitor.core.clock import idle_horizon_ms, is_idle_key, rule_reach_ms
from monitor.core.engine import Engine
from monitor.core.network import account_key
from monitor.core.state import DAY_MS, CustomerState
from monitor.io.metrics import Metrics
from monitor.io.settings import load_settings
from monitor.tools.offline import OfflineRun
from tests.support.service import FakeWriter, Wall, detached_service

from .conftest import DETECTED_AT, make_pack, transfer

HOUR_MS = 3_600_000
HUB = "6217000000009999"


# -- the horizon ------------------------------------------------------------------------
def test_the_shipped_packs_horizons() -> None:
    cn = make_pack()
    # COUNTERPARTY_HUB reaches 2 x 3 days, FUNDS_CYCLE 72 h; no grace; 8 days + 1 remembered
    assert idle_horizon_ms(cn, Engine(cn).rules) == (6 + 0 + 9) * DAY_MS
    us = make_pack(file="us-bsa.yaml")
    us_rules = Engine(us).rules
    assert idle_horizon_ms(us, us_rules) == (2 + 0 + 9) * DAY_MS  # LV_CASH_CONDUCTOR: a day


@pytest.mark.parametrize(
    ("overrides", "days"),
    [
        ({"rules.COUNTERPARTY_HUB.window_days": 5}, 10 + 9),
        ({"rules.FUNDS_CYCLE.window_hours": 24 * 12, "state.retention_days": 12}, 12 + 13),
        ({"rules.FUNDS_CYCLE.hop_hours": 24 * 7}, 7 + 9),
        ({"deadline_grace_hours": 48}, 6 + 2 + 9),
        (
            {"rules.COUNTERPARTY_HUB.enabled": False, "rules.FUNDS_CYCLE.enabled": False},
            2 + 9,
        ),
    ],
)
def test_the_horizon_follows_the_pack(overrides: dict[str, object], days: int) -> None:
    pack = make_pack(overrides)
    assert idle_horizon_ms(pack, Engine(pack).rules) == days * DAY_MS


def test_only_the_rules_on_account_and_conductor_records_count() -> None:
    pack = make_pack({"rules.COUNTERPARTY_HUB.enabled": False})
    rules = Engine(pack).rules
    assert any(getattr(r.cfg, "window_days", 0) > 6 for r in rules)  # behaviour rules' windows
    assert idle_horizon_ms(pack, rules) == (3 + 9) * DAY_MS  # FUNDS_CYCLE's 72 h only
    assert rule_reach_ms(SimpleNamespace(cfg=SimpleNamespace(window_days=1))) == 2 * DAY_MS
    assert rule_reach_ms(SimpleNamespace()) == 2 * DAY_MS


def test_idle_keys_are_accounts_and_conductors_only() -> None:
    assert is_idle_key("account:ab12") and is_idle_key(b"account:ab12")
    assert is_idle_key("conductor:ab12") and is_idle_key(b"conductor:ab12")
    assert not is_idle_key("C001") and not is_idle_key(b"C001")


# -- the index --------------------------------------------------------------------------
H = 15 * DAY_MS
ACCOUNT, PERSON, CUSTOMER = b"account:a1", b"conductor:p1", b"C001"


def _state(key: bytes, watermark_ms: int) -> CustomerState:
    return CustomerState(key.decode(), watermark_ms)


def _records(metrics: Metrics | None = None) -> tuple[IdleRecords, Metrics]:
    metrics = metrics or Metrics.create(CollectorRegistry())
    idle = IdleRecords(H, metrics)
    index = idle.start(0)
    for key, at in ((ACCOUNT, 1000), (PERSON, 5 * DAY_MS), (CUSTOMER, 1000)):
        idle.note(index, key, _state(key, at))
    return idle, metrics


def test_the_index_holds_expiries_of_accounts_and_conductors_only() -> None:
    idle, _ = _records()
    assert len(idle) == 2
    assert idle.indexes[0].get(ACCOUNT) == 1000 + H
    assert idle.indexes[0].get(CUSTOMER) is None
    assert not idle.has_due({0: 1000 + H})  # strictly later
    assert idle.has_due({0: 1000 + H + 1})


def test_a_sweep_marks_expired_records_deleted_and_settle_counts_them() -> None:
    idle, metrics = _records()
    cache: dict[bytes, Any] = {ACCOUNT: _state(ACCOUNT, 1000), CUSTOMER: _state(CUSTOMER, 1)}
    touched: dict[bytes, list[Any]] = {}
    assert idle.sweep({0: 1000 + H + 1}, touched, cache) == 1
    assert touched == {ACCOUNT: [None, 0]}
    assert ACCOUNT not in cache and CUSTOMER in cache
    idle.settle(touched)
    assert idle.indexes[0].get(ACCOUNT) is None and len(idle) == 1
    assert metrics.tombstones._value.get() == 1  # noqa: SLF001
    assert metrics.idle_records._value.get() == 1  # noqa: SLF001


def test_a_record_the_batch_changed_is_kept_unless_its_new_state_expired() -> None:
    idle, _ = _records()
    now = 5 * DAY_MS + H + 1  # both expired as indexed
    fresh = _state(ACCOUNT, now - DAY_MS)  # an edge of this batch
    stale = _state(PERSON, DAY_MS)  # an old redelivery applied to it
    touched: dict[bytes, list[Any]] = {ACCOUNT: [fresh, 0], PERSON: [stale, 0]}
    assert idle.sweep({0: now}, touched, {}) == 1
    assert touched[ACCOUNT] == [fresh, 0] and touched[PERSON] == [None, 0]
    idle.settle(touched)
    assert idle.indexes[0].get(ACCOUNT) == now - DAY_MS + H


def test_records_swept_for_a_batch_never_stored_are_put_back() -> None:
    idle, _ = _records()
    idle.sweep({0: 10 * DAY_MS + H}, {}, {})
    assert len(idle) == 0
    assert idle.has_due({0: 10 * DAY_MS + H})  # puts them back first
    assert len(idle) == 2


def test_at_most_so_many_tombstones_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agents.idle._MOST_PER_BATCH", 1)
    idle, _ = _records()
    touched: dict[bytes, list[Any]] = {}
    assert idle.sweep({0: 10 * DAY_MS + H}, touched, {}) == 1
    idle.settle(touched)
    assert idle.has_due({0: 10 * DAY_MS + H})


def _clock(pack_overrides: dict[str, object] | None = None) -> DeadlineClock:
    pack = make_pack(pack_overrides)
    settings = load_settings(partitions=1, store="memory")
    return DeadlineClock(Engine(pack), settings, Metrics.create(CollectorRegistry()))


def test_the_deadline_clock_indexes_idle_records_from_the_store_and_parks_them() -> None:
    clock = _clock()
    store = MemoryStore()
    items = [(k, _state(k, at).to_bytes()) for k, at in ((ACCOUNT, 7), (CUSTOMER, 7))]
    store.write(items, 4)
    clock.assign([0], {0: store})
    assert clock.idle.indexes[0].get(ACCOUNT) == 7 + clock.idle.horizon_ms
    assert clock.idle.indexes[0].get(CUSTOMER) is None
    clock.revoke(0, {0: store})
    assert 0 not in clock.idle.indexes
    clock.assign([0], {0: store})  # back with its store unchanged: the parked index
    assert clock.idle.indexes[0].get(ACCOUNT) == 7 + clock.idle.horizon_ms
    clock.revoke(0, {0: store})
    store.write([(ACCOUNT, None)], 5)  # someone else deleted it meanwhile
    clock.assign([0], {0: store})
    assert len(clock.idle) == 0


# -- through the batch path -------------------------------------------------------------
@pytest.fixture
def service() -> tuple[RulesService, FakeWriter, Wall]:
    wall = Wall()
    svc, writer = detached_service(make_pack(), wall=wall, input_idle_ms=5_000)
    return svc, writer, wall


_offsets: dict[str, int] = {}


def _record(topic: str, key: bytes, value: bytes, headers: Any = ()) -> SimpleNamespace:
    offset = _offsets[topic] = _offsets.get(topic, -1) + 1
    return SimpleNamespace(
        topic=topic, partition=0, offset=offset, key=key, value=value, timestamp=1, headers=headers
    )


def _run(svc: RulesService, writer: FakeWriter, wall: Wall, *events: Any) -> None:
    """The transfers as one batch, then what they forward to the events topic, each batch
    after more wall time than the idle time (only the batch's own topics hold stream time
    back)."""
    topic = svc.settings.input_topics["transfer"]
    records = [_record(topic, e.customer_id.encode(), e.model_dump_json().encode()) for e in events]
    done = len([w for w in writer.written if w[0] == svc.settings.events_topic])
    _apply(svc, wall, {TopicPartition(topic, 0): records})
    rows = [w for w in writer.written if w[0] == svc.settings.events_topic][done:]
    if rows:
        forwarded = [_record(svc.settings.events_topic, w[2], w[3], w[5]) for w in rows]
        _apply(svc, wall, {TopicPartition(svc.settings.events_topic, 0): forwarded})


def _apply(svc: RulesService, wall: Wall, batch: dict[TopicPartition, list[Any]]) -> None:
    wall.now += 10
    asyncio.run(svc._apply_batch(batch))  # noqa: SLF001


def _at(day: int) -> str:
    return f"2026-03-{day:02d}T10:00:00+08:00"


def _tombstones(svc: RulesService, writer: FakeWriter) -> list[bytes]:
    changelog = svc.settings.changelog_topic
    return [w[2] for w in writer.written if w[0] == changelog and w[3] is None]


def test_an_idle_account_record_is_tombstoned_once_stream_time_passes_the_horizon(service):
    svc, writer, wall = service
    hub = account_key(HUB)
    assert hub is not None
    key = hub.encode()
    _run(svc, writer, wall, transfer("20000", direction="out", counterparty=HUB, at=_at(1)))
    assert svc.stores[0].get(key) is not None
    horizon_days = svc.deadlines.idle.horizon_ms // DAY_MS
    assert horizon_days == 15
    # another customer's transfer 14 days on: within the horizon
    _run(svc, writer, wall, transfer("20000", customer_id="C2", counterparty="621700", at=_at(15)))
    assert svc.stores[0].get(key) is not None and not _tombstones(svc, writer)
    svc.cache[key] = CustomerState.from_bytes(svc.stores[0].get(key) or b"")
    # 17 days on: past it
    _run(svc, writer, wall, transfer("20000", customer_id="C3", counterparty="621701", at=_at(18)))
    assert key in _tombstones(svc, writer)
    assert svc.stores[0].get(key) is None and key not in svc.cache
    assert svc.stores[0].get(b"C001") is not None  # customers stay
    assert svc.metrics.tombstones._value.get() >= 1  # noqa: SLF001
    assert svc.deadlines.idle.indexes[0].get(key) is None


def test_a_failed_batch_writes_no_tombstone_and_the_next_pass_does(service):
    svc, writer, wall = service
    key = (account_key(HUB) or "").encode()
    _run(svc, writer, wall, transfer("20000", direction="out", counterparty=HUB, at=_at(1)))
    writer.fail = True
    with pytest.raises(KafkaTimeoutError):
        _run(svc, writer, wall, transfer("9", customer_id="C2", counterparty="6217", at=_at(20)))
    writer.discard()
    assert svc.stores[0].get(key) is not None and not _tombstones(svc, writer)
    assert svc.deadlines.has_due()  # the swept records are indexed again
    _apply(svc, wall, {})  # a pass without events, as the consume loop runs it
    assert key in _tombstones(svc, writer) and svc.stores[0].get(key) is None


def test_no_tombstone_without_the_membership_proof(service):
    svc, writer, wall = service
    key = (account_key(HUB) or "").encode()
    _run(svc, writer, wall, transfer("20000", direction="out", counterparty=HUB, at=_at(1)))

    async def refused(batch: Any) -> None:
        raise MembershipLost("refused")

    svc._still_a_member = refused  # type: ignore[method-assign]  # noqa: SLF001
    with pytest.raises(MembershipLost):
        _run(svc, writer, wall, transfer("9", customer_id="C2", counterparty="6217", at=_at(20)))
    assert svc.stores[0].get(key) is not None and not _tombstones(svc, writer)


# -- restore ----------------------------------------------------------------------------
class FakeReader:
    """The changelog as `restore` reads it: `LOG` is one partition's (key, value) records."""

    LOG: list[tuple[bytes, bytes | None]] = []

    def __init__(self, **_: Any) -> None:
        self._position = 0

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def assign(self, tps: list[TopicPartition]) -> None: ...

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, len(self.LOG))

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 0)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self._position = offset

    async def position(self, tp: TopicPartition) -> int:
        return self._position

    async def getmany(self, tp: TopicPartition, **_: Any) -> dict[TopicPartition, list[Any]]:
        start, self._position = self._position, min(self._position + 2, len(self.LOG))
        return {
            tp: [
                SimpleNamespace(key=k, value=v, offset=start + n)
                for n, (k, v) in enumerate(self.LOG[start : self._position])
            ]
        }


@pytest.mark.parametrize("kind", ["memory", "rocksdb"])
def test_a_restore_reads_a_tombstone_as_a_deletion(kind, tmp_path, monkeypatch):
    monkeypatch.setattr("agents.restore.AIOKafkaConsumer", FakeReader)
    FakeReader.LOG = [(CUSTOMER, b"c1"), (ACCOUNT, b"a1"), (PERSON, b"p1"), (ACCOUNT, None)]
    settings = load_settings(partitions=1, store=kind, data_dir=tmp_path)
    stores: dict[int, Any] = {}
    try:
        assert asyncio.run(restore(settings, stores, {0})) == 4
        store = stores[0]
        assert store.get(ACCOUNT) is None and store.get(CUSTOMER) == b"c1"
        assert store.offset == 3
        # a store that had the record before the tombstone: the tail deletes it
        FakeReader.LOG = [*FakeReader.LOG, (PERSON, None)]
        asyncio.run(restore(settings, stores, {0}))
        assert store.get(PERSON) is None and store.offset == 4
        if kind == "rocksdb":  # and after a restart
            stores.pop(0).close()
            again = RocksStore(tmp_path / settings.app_id / "state" / "p0")
            assert again.get(PERSON) is None and again.get(ACCOUNT) is None
            again.close()
    finally:
        for store in stores.values():
            store.close()


# -- offline ----------------------------------------------------------------------------
def _long_stream() -> list[Any]:
    """Ten weeks of hub waves (five customers paying one outside account on two days,
    every five days) and of round trips, on four sets of accounts in turn: each set idle
    for 15 days between its waves, past the horizon, and used again."""
    events = []
    for wave in range(14):
        day, n = 1 + wave * 5, wave % 4
        hub, x, y = f"62280000{n:04d}", f"62290000{n:04d}", f"62300000{n:04d}"
        for k in range(5):
            at = DETECTED_AT.replace(month=1, day=1) + timedelta(days=day + k % 2, hours=k)
            events.append(
                transfer(
                    f"{20000 + k}",
                    direction="out",
                    customer_id=f"H{wave}-{k}",
                    counterparty=hub,
                    at=at.isoformat(),
                )
            )
        start = DETECTED_AT.replace(month=1, day=1) + timedelta(days=day)
        for n, (cid, hours, direction, amount, cp) in enumerate(
            [
                (f"A{wave}", 1, "out", 50000, x),
                (f"B{wave}", 3, "in", 49000, x),
                (f"B{wave}", 5, "out", 48000, y),
                (f"A{wave}", 8, "in", 47000, y),
            ]
        ):
            at = start + timedelta(hours=hours, minutes=n)
            events.append(
                transfer(
                    str(amount),
                    direction=direction,
                    customer_id=cid,
                    counterparty=cp,
                    at=at.isoformat(),
                )
            )
    return sorted(events, key=lambda e: e.occurred_at)


def _offline(events: list[Any], drop: bool) -> tuple[list[bytes], OfflineRun]:
    out: list[bytes] = []

    def keep(findings: Any) -> None:
        for alert in findings.alerts:
            dumped = alert.model_dump(mode="json")
            dumped.pop("detected_at")
            out.append(orjson.dumps(dumped))

    run = OfflineRun(make_pack(), keep, DETECTED_AT, drop_idle=drop)
    for event in events:
        run.apply(event, int(event.event_time.timestamp() * 1000))
    return out, run


def test_offline_runs_drop_idle_records_with_the_same_outputs():
    events = _long_stream()
    kept, kept_run = _offline(events, drop=False)
    dropped, dropped_run = _offline(events, drop=True)
    rules = {orjson.loads(a)["rule_id"] for a in kept}
    assert rules == {"COUNTERPARTY_HUB", "FUNDS_CYCLE"}
    assert dropped == kept  # every version, in order
    accounts = [k for k in kept_run.states if is_idle_key(k)]
    left = [k for k in dropped_run.states if is_idle_key(k)]
    assert len(accounts) > 100  # hubs, outside accounts, our customers' own accounts
    assert len(left) < len(accounts) / 3  # the last waves' only
    assert len(left) == len(dropped_run.idle)
    assert not any(is_idle_key(k) for k, _ in dropped_run.deadlines.pop_due(2**62))
