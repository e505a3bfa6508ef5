"""The event-time merge of offline runs and `monitor replay`: one int per input orders as the
(event time, topic rank, partition, offset) tuple it packs, and the bounded reorder heap
puts a source's late items back in place."""

from __future__ import annotations

import random

import pytest

from monitor.tools.offline import key_ms, merge_key, merge_sources

_MS = (-86_400_000 * 400, -1, 0, 1, 1_767_225_600_000, 4_102_444_800_000)  # 1969 .. 2100


def test_keys_order_exactly_as_the_tuples_they_pack() -> None:
    rng = random.Random(5)
    tuples = [
        (
            rng.choice(_MS) + rng.randrange(-3, 4),
            rng.randrange(4),
            rng.choice((0, 1, 7, (1 << 20) - 1)),
            rng.choice((0, 1, 12_345, (1 << 50) - 1)),
        )
        for _ in range(5_000)
    ]
    assert sorted(tuples, key=lambda t: merge_key(*t)) == sorted(tuples)
    assert len({merge_key(*t) for t in tuples}) == len(set(tuples))


@pytest.mark.parametrize("event_ms", _MS)
def test_the_event_time_comes_back_from_the_key(event_ms: int) -> None:
    for rank, partition, offset in ((0, 0, 0), (7, (1 << 20) - 1, (1 << 50) - 1)):
        assert key_ms(merge_key(event_ms, rank, partition, offset)) == event_ms


@pytest.mark.parametrize(
    ("rank", "partition", "offset"),
    [(8, 0, 0), (-1, 0, 0), (0, 1 << 20, 0), (0, -1, 0), (0, 0, 1 << 50), (0, 0, -1)],
)
def test_a_field_outside_its_width_is_refused(rank: int, partition: int, offset: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        merge_key(0, rank, partition, offset)


def test_late_items_within_the_window_come_out_in_order() -> None:
    rng = random.Random(9)

    def source(rank: int) -> list[tuple[int, str]]:
        times = sorted(rng.randrange(1_000_000) for _ in range(2_000))
        for _ in range(100):  # some items arrive up to 20 places late
            i = rng.randrange(20, len(times))
            times.insert(i, times.pop(i - rng.randrange(1, 20)))
        return [
            (merge_key(ms, rank, 0, offset), f"{rank}/{offset}") for offset, ms in enumerate(times)
        ]

    sources = [source(rank) for rank in range(4)]
    merged = list(merge_sources(iter(s) for s in sources))
    assert [k for k, _ in merged] == sorted(k for s in sources for k, _ in s)
    assert sorted(e for _, e in merged) == sorted(e for s in sources for _, e in s)


def test_equal_keys_from_two_sources_never_compare_events() -> None:
    class Opaque:  # events have no order
        pass

    a, b = Opaque(), Opaque()
    out = list(
        merge_sources(
            [iter([(merge_key(5, 0, 0, 0), a)]), iter([(merge_key(5, 0, 0, 0), b)])],
            reorder_window=0,
        )
    )
    assert [e for _, e in out] == [a, b]
