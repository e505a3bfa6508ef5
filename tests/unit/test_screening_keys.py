"""Fuzzy keys by length: the length window and the letter-count bound leave out no hit."""

from __future__ import annotations

import random

import pytest
from rapidfuzz import fuzz

from monitor.core.screening import WatchlistEntry, WatchlistMatcher
from monitor.core.screening import keys as key_index
from monitor.core.screening.keys import ByLength


@pytest.mark.parametrize("threshold", [100, 88, 70, 50])  # 50: the lowest a pack allows
def test_comparing_only_keys_of_a_reachable_length_finds_the_same_candidates(
    threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(threshold)
    parts = [
        "li",
        "wang",
        "ahmad",
        "mohammed",
        "petrov",
        "ivanovich",
        "garcia",
        "al",
        "o",
        "kim",
        "nguyen",
        "sergeyevich",
        "fatima",
        "trading",
        "holdings",
        "x",
        "international",
    ]

    def name() -> str:
        return " ".join(rng.choice(parts).title() for _ in range(rng.choice([1, 2, 2, 3, 4, 6])))

    entries = [
        WatchlistEntry(
            f"E{i}",
            tuple(name() for _ in range(rng.choice([1, 2]))),
            None,
            None,
            "synthetic",
            "test",
        )
        for i in range(150)
    ]
    queries = [name() + rng.choice(["", "", "a", " Co 123", "xx"]) for _ in range(300)]
    windowed = WatchlistMatcher(entries, threshold)
    with_window = [sorted(windowed._scan(q)) for q in queries]  # noqa: SLF001 - uncached
    monkeypatch.setattr(ByLength, "window", lambda self, length, cutoff: (0, len(self.keys)))
    every_key = WatchlistMatcher(entries, threshold)
    assert [sorted(every_key._scan(q)) for q in queries] == with_window  # noqa: SLF001
    assert any(with_window)


def test_the_length_window_leaves_out_keys_too_short_or_too_long_to_reach_the_cutoff() -> None:
    keys = ByLength({"a" * n: [] for n in range(1, 61)})
    first, end = keys.window(20, 83.0)
    inside = keys.lengths[first:end]
    assert 1 < len(inside) < 60
    for n in keys.lengths:  # a key of the same letters scores the most a key of its length can
        if n not in inside:
            assert fuzz.ratio("a" * 20, "a" * n) < 83.0
    assert keys.window(20, 0.0) == (0, 60)


@pytest.mark.parametrize("threshold", [100, 88, 70, 50])  # 50: the lowest a pack allows
def test_comparing_only_keys_with_enough_letters_in_common_finds_the_same_candidates(
    threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The letter-count bound in front of the fuzzy comparison leaves out no hit: the same
    candidates and scores as comparing every key of the length window."""
    monkeypatch.setattr(key_index, "_BOUND_FROM", 0)  # bound every window, however small
    rng = random.Random(1000 + threshold)
    syllables = [
        "li",
        "ang",
        "wa",
        "ah",
        "mad",
        "mo",
        "ham",
        "ed",
        "pet",
        "rov",
        "iva",
        "no",
        "vich",
        "gar",
        "cia",
        "al",
        "kim",
        "ngu",
        "yen",
        "ser",
        "gei",
        "fa",
        "ti",
        "ma",
    ]

    def word() -> str:
        return "".join(rng.choice(syllables) for _ in range(rng.choice([1, 2, 2, 3])))

    def name() -> str:
        return " ".join(word().title() for _ in range(rng.choice([1, 2, 2, 3, 4])))

    entries = [
        WatchlistEntry(
            f"E{i}",
            tuple(name() for _ in range(rng.choice([1, 2, 3]))),
            None,
            None,
            "synthetic",
            "test",
        )
        for i in range(400)
    ]
    queries = [rng.choice(entries).names[0] for _ in range(150)] + [name() for _ in range(150)]
    queries = [
        q if rng.random() < 0.5 else q[: rng.randrange(1, len(q) + 1)] + word() for q in queries
    ]
    bounded = WatchlistMatcher(entries, threshold)
    with_bound = [sorted(bounded._scan(q)) for q in queries]  # noqa: SLF001 - uncached
    monkeypatch.setattr(
        ByLength, "reachable", lambda self, query, first, end, cutoff: range(first, end)
    )
    every_key = WatchlistMatcher(entries, threshold)
    assert [sorted(every_key._scan(q)) for q in queries] == with_bound  # noqa: SLF001
    assert sum(map(len, with_bound)) > len(queries) // 4  # the test has hits to lose


def test_the_letter_bound_keeps_keys_that_can_reach_the_cutoff_and_drops_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(key_index, "_BOUND_FROM", 0)
    keys = ["abcdefgh", "abcdefgx", "hgfedcba", "zzzzzzzz", "abcd efgh", "a" * 300, "abcdefgh" * 50]
    by_length = ByLength({key: [] for key in keys})
    kept = {by_length.keys[i] for i in by_length.reachable("abcdefgh", 0, len(keys), 80.0)}
    for key in keys:  # every key that scores >= 80 is kept
        if fuzz.ratio("abcdefgh", key) >= 80.0:
            assert key in kept
    assert "zzzzzzzz" not in kept  # no letter in common
    assert "a" * 300 in kept  # counts beyond the table are never bounded
    assert "hgfedcba" in kept  # same letters, other order: the bound cannot tell, rapidfuzz does
    long_query = "abcdefgh" * 45  # 360 letters in common with the longest key: no overflow
    kept = {by_length.keys[i] for i in by_length.reachable(long_query, 0, len(keys), 80.0)}
    assert "abcdefgh" * 50 in kept and fuzz.ratio(long_query, "abcdefgh" * 50) >= 80.0
