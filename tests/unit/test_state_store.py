"""The worker's per-partition state stores: records, deletions and the changelog offset."""

from __future__ import annotations

import pytest

from agents.state_store import MemoryStore, RocksStore


@pytest.fixture(params=["memory", "rocksdb"])
def store(request, tmp_path):
    made = MemoryStore() if request.param == "memory" else RocksStore(tmp_path / "p0")
    yield made
    made.close()


def test_a_new_store_is_empty_and_claims_no_changelog(store) -> None:
    assert store.offset == -1
    assert store.get(b"C1") is None


def test_records_and_the_offset_they_reach_are_written_together(store) -> None:
    store.write([(b"C1", b"one"), (b"C2", b"two")], 7)
    store.write([(b"C1", b"one again"), (b"C2", None)], 9)  # None: a tombstone
    assert store.get(b"C1") == b"one again"
    assert store.get(b"C2") is None
    assert store.offset == 9


def test_reset_forgets_records_and_offset(store) -> None:
    store.write([(b"C1", b"one")], 3)
    store.reset()
    assert store.get(b"C1") is None and store.offset == -1


def test_rocksdb_keeps_records_and_offset_across_a_restart(tmp_path) -> None:
    first = RocksStore(tmp_path / "p1")
    first.write([(b"C1", b"state")], 41)
    first.close()
    again = RocksStore(tmp_path / "p1")
    try:
        assert again.offset == 41
        assert again.get(b"C1") == b"state"
    finally:
        again.close()


def test_the_offset_key_never_collides_with_a_customer_id(tmp_path) -> None:
    store = RocksStore(tmp_path / "p2")
    try:
        store.write([(b"changelog-offset", b"a customer")], 5)
        assert store.get(b"changelog-offset") == b"a customer"
        assert store.offset == 5
    finally:
        store.close()


def test_the_memory_store_counts_its_records() -> None:
    store = MemoryStore()
    store.write([(b"C1", b"x"), (b"C2", b"y")], 1)
    assert len(store) == 2
