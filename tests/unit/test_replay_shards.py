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
