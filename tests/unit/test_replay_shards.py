"""`monitor replay --workers N`: how customers are split into shards and how the shards'
files are merged."""

from __future__ import annotations

import zlib
from collections import Counter

import orjson

from monitor.tools.replay import _merge_jsonl
from monitor.tools.replay_merge import shard_of


def test_a_customer_always_belongs_to_the_same_shard() -> None:
    assert shard_of("C000123", 2) == zlib.crc32(b"C000123") % 2
    assert all(shard_of(f"C{i:06d}", 3) == shard_of(f"C{i:06d}", 3) for i in range(100))


def test_customers_spread_over_every_shard() -> None:
    counts = Counter(shard_of(f"C{i:06d}", 4) for i in range(4000))
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 800  # about a quarter each


def test_shard_files_merge_in_event_time_then_id_order(tmp_path) -> None:
    def alert(when: str, alert_id: str) -> bytes:
        return orjson.dumps({"alert_id": alert_id, "event_time": when}) + b"\n"

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "alerts.jsonl").write_bytes(
        alert("2026-03-02T10:00:00+08:00", "z") + alert("2026-03-03T09:00:00+08:00", "a")
    )
    (tmp_path / "b" / "alerts.jsonl").write_bytes(
        alert("2026-03-02T10:00:00+08:00", "b") + alert("2026-03-01T09:00:00+08:00", "c")
    )
    target = tmp_path / "alerts.jsonl"
    _merge_jsonl(
        [
            tmp_path / "a" / "alerts.jsonl",
            tmp_path / "b" / "alerts.jsonl",
            tmp_path / "missing.jsonl",
        ],
        target,
    )
    ids = [orjson.loads(line)["alert_id"] for line in target.read_bytes().splitlines()]
    assert ids == ["c", "b", "z", "a"]


def test_zero_workers_is_refused_before_anything_is_read(tmp_path) -> None:
    from datetime import UTC, datetime

    import pytest

    from monitor.core.pack import load_pack
    from monitor.io.settings import Settings
    from monitor.tools.replay import replay

    with pytest.raises(ValueError, match="--workers"):
        replay(
            Settings(),
            load_pack(),
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 2, 1, tzinfo=UTC),
            tmp_path,
            workers=0,
        )


def test_the_replay_summary_names_the_reasons_of_invalid_inputs() -> None:
    from monitor.tools.cli import _by_reason

    assert _by_reason({}) == ""
    assert _by_reason({"invalid_json": 1, "schema": 3}) == " (schema 3, invalid_json 1)"


def test_an_id_with_surrounding_whitespace_goes_to_the_shard_of_the_id_the_rules_see() -> None:
    """Validation strips whitespace around `customer_id`: " C7 " and "C7" are one customer,
    so they must land in one shard (else its state would be split between processes)."""
    from monitor.core.decode import Decoder
    from monitor.core.pack import load_pack
    from monitor.tools.replay_merge import owner_of

    decoder = Decoder(load_pack().fx)

    def cash(customer: object) -> dict:
        return {
            "event_id": "E1",
            "txn_id": "T1",
            "customer_id": customer,
            "direction": "in",
            "occurred_at": "2026-03-02T09:00:00+08:00",
            "amount": "100",
            "currency": "CNY",
        }

    def owner(customer: object, shards: int = 7):
        data = cash(customer)
        return owner_of(data, shards, lambda d: decoder.validate("cash", d, orjson.dumps(d)))

    for i in range(200):
        cid = f"C{i:04d}"
        plain, event = owner(cid)
        assert event is None  # the common case is decided without validating
        for spaced in (f" {cid}", f"{cid}\t", f"\u3000{cid}\n"):
            shard, validated = owner(spaced)
            assert validated is not None and validated.customer_id == cid
            assert shard == plain
    # inputs without a usable id go to shard 0 (which counts each once)
    assert owner(None)[0] == 0 and owner(123)[0] == 0 and owner("")[0] == 0
    shard, rejected = owner("   ")  # blank once stripped: invalid, counted by shard 0
    assert shard == 0 and rejected is not None and not hasattr(rejected, "customer_id")
    assert owner_of(["not", "an", "object"], 3, lambda d: None) == (0, None)


# --------------------------------------------------------------------------- two passes

_CONDUCTORS = [("passport", f"E{n:07d}") for n in range(6)]


def _history_with_conductors(customers: int, days: int, seed: int) -> list[tuple[str, bytes]]:
    """Simulated inputs (kind, value) in file order: the simulator's traffic, with mule hubs
    and funds cycles, and a third of the cash brought in by a few conductors."""
    import random

    from monitor.tools.simulate import TOPIC_FILES, simulate

    sim = simulate(customers=customers, days=days, seed=seed)
    rng = random.Random(seed)
    rows = []
    for topic, kind in TOPIC_FILES.items():
        for value in sim.sorted_events(topic):
            if kind == "cash" and rng.random() < 0.35:
                doc_type, number = rng.choice(_CONDUCTORS)
                value = dict(value)
                value["conductor"] = {
                    "name": "Agent",
                    "id_document": {"type": doc_type, "number": number},
                }
            rows.append((kind, orjson.dumps(value)))
    return rows


class _FakeHistory:
    """`MergedHistory` over inputs in memory (one partition per kind, offsets in list order),
    keeping the customers of its shard as the real one does."""

    rows: list[tuple[str, bytes]] = []

    def __init__(self, settings, decoder, stats, shard=(0, 1), **_: object) -> None:
        self.decoder, self.stats, self.shard = decoder, stats, shard
        self.total = len(self.rows)

    async def batches(self):
        from monitor.core.decode import Rejection
        from monitor.tools.offline import TOPIC_RANK, merge_key

        mine, shards = self.shard
        offsets: dict[str, int] = {}
        items = []
        for kind, value in self.rows:
            offset = offsets.get(kind, 0)
            offsets[kind] = offset + 1
            event = self.decoder.decode(kind, value)
            if isinstance(event, Rejection):
                if mine == 0:
                    self.stats.invalid += 1
                continue
            if shard_of(event.customer_id, shards) != mine:
                continue
            ms = int(event.event_time.timestamp() * 1000)
            items.append((merge_key(ms, TOPIC_RANK[kind], 0, offset), event))
        items.sort(key=lambda item: item[0])
        for at in range(0, len(items), 500):
            yield items[at : at + 500]


def _without_detected_at(path) -> list[bytes]:
    return [
        orjson.dumps({k: v for k, v in orjson.loads(line).items() if k != "detected_at"})
        for line in path.read_bytes().splitlines()
    ]


def test_a_pack_across_customers_replays_sharded_as_in_one_process(tmp_path, monkeypatch):
    """COUNTERPARTY_HUB, FUNDS_CYCLE and LV_CASH_CONDUCTOR: the customer shards write what
    they re-key and the second pass applies it in one process's order, so 2 and 3 workers
    write the same alerts and tasks as one process (in the shards' (event time, id) order),
    and count the same."""
    from datetime import UTC, datetime

    from monitor.core.pack import load_pack
    from monitor.io.settings import Settings
    from monitor.tools import replay as replay_module
    from tests.support.packs import write_pack

    pack_path = write_pack(
        tmp_path,
        {
            "rules.LV_CASH_CONDUCTOR": {
                "threshold": {
                    "local": {"currency": "CNY", "amount": "50000"},
                    "foreign": {"currency": "USD", "amount": "10000"},
                },
            },
        },
    )
    pack = load_pack(pack_path)
    monkeypatch.setattr(_FakeHistory, "rows", _history_with_conductors(1500, 20, seed=5))
    monkeypatch.setattr(replay_module, "MergedHistory", _FakeHistory)
    start, end = datetime(2026, 3, 5, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    runs = {}
    for workers in (1, 2, 3):
        out = tmp_path / f"w{workers}"
        stats = replay_module.replay(
            Settings(), pack, start, end, out, show_progress=False, workers=workers
        )
        runs[workers] = stats, {n: out / n for n in ("alerts.jsonl", "reid-tasks.jsonl")}
        assert not list(out.glob(".shard-*"))
    one, files = runs[1]
    rules = {
        orjson.loads(line)["rule_id"] for line in files["alerts.jsonl"].read_bytes().splitlines()
    }
    assert rules >= {"COUNTERPARTY_HUB", "FUNDS_CYCLE", "LV_CASH_CONDUCTOR", "LV_CASH"}
    for workers in (2, 3):
        stats, sharded = runs[workers]
        counts = ("events", "alerts", "tasks", "duplicates", "invalid", "customers")
        assert [getattr(stats, n) for n in counts] == [getattr(one, n) for n in counts]
        for name, path in files.items():
            merged = tmp_path / f"one-{name}"
            _merge_jsonl([path], merged)  # one process's rows in the shards' order
            assert _without_detected_at(sharded[name]) == _without_detected_at(merged), name
    # one detected_at per run, whichever pass wrote the row
    stamps = {
        orjson.loads(x)["detected_at"] for x in runs[3][1]["alerts.jsonl"].read_bytes().splitlines()
    }
    assert len(stamps) == 1


def test_a_failing_shard_fails_the_sharded_replay_of_a_pack_across_customers(tmp_path, monkeypatch):
    """The second pass reads the shards' spills as they grow: a shard that fails midway
    (its spill never complete) fails the run instead of leaving the second pass waiting."""
    import threading
    from datetime import UTC, datetime

    import pytest

    from monitor.core.pack import load_pack
    from monitor.io.settings import Settings
    from monitor.tools import replay as replay_module

    class _Broken(_FakeHistory):
        async def batches(self):
            async for batch in super().batches():
                yield batch
                if self.shard[0] == 1:
                    raise RuntimeError("broken shard")

    monkeypatch.setattr(_FakeHistory, "rows", _history_with_conductors(300, 5, seed=5))
    monkeypatch.setattr(replay_module, "MergedHistory", _Broken)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            replay_module.replay(
                Settings(),
                load_pack(),
                datetime(2000, 1, 1, tzinfo=UTC),
                datetime(2100, 1, 1, tzinfo=UTC),
                tmp_path / "out",
                show_progress=False,
                workers=2,
            )
        except BaseException as error:  # noqa: BLE001 - whatever it is, it is reported
            failed.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the second pass still waits for the failed shard"
    assert failed
    with pytest.raises(RuntimeError, match="broken shard"):
        raise failed[0]


def test_a_spill_gives_back_equal_edges_and_conductor_cash_in_its_order(tmp_path) -> None:
    from decimal import Decimal

    from monitor.core.conductor import conductor_cash
    from monitor.core.network import network_edges
    from monitor.tools.replay_accounts import RekeySpill, read_spill
    from schemas import CashTransaction, Transfer

    transfer = Transfer.model_validate(
        {
            "event_id": "E1",
            "txn_id": "T1",
            "customer_id": "C1",
            "account_id": "6222 0000 1111",
            "occurred_at": "2026-03-02T09:00:00.123456+08:00",
            "direction": "out",
            "amount": "12000.50",
            "currency": "CNY",
            "counterparty": {"name": "X", "account_number": "6222000022223333"},
            "purpose": "货款",
        }
    )
    cash = CashTransaction.model_validate(
        {
            "event_id": "E2",
            "txn_id": "T2",
            "customer_id": "C2",
            "direction": "in",
            "occurred_at": "2026-03-02T10:00:00+08:00",
            "amount": "1E+4",
            "currency": "CNY",
            "conductor": {"name": "A", "id_document": {"type": "passport", "number": "E1"}},
        }
    )
    edges = network_edges(transfer, True)
    assert len(edges) == 2
    person = conductor_cash(cash)
    spill = RekeySpill(tmp_path / "s", batch=1)
    spill.add(-5, edges)
    spill.add(7, [person])
    spill.close()
    back = list(read_spill(tmp_path / "s", lambda: None))
    assert back == [(-5, edges), (7, [person])]
    assert back[0][1][0].amount.as_tuple() == Decimal("12000.50").as_tuple()
