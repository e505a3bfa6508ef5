"""Matcher evaluation: outcome counts, the labelled pairs, precision and recall."""

from __future__ import annotations

import csv
import re
from datetime import date

import pytest

from monitor.core.screening import DEFAULT_THRESHOLD, Match, WatchlistMatcher
from monitor.tools.screen_eval import DEFAULT_PAIRS, DEFAULT_WATCHLIST, Pair, evaluate, load_pairs


class _Canned:
    """A matcher stand-in returning fixed entry ids per query name."""

    threshold = 0.0

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    def match(self, name: str, birth_date: date | None = None, country: str | None = None):
        return [Match(i, 100.0, 0, "x") for i in self.answers.get(name, [])]


def test_evaluate_counts_each_outcome() -> None:
    pairs = [
        Pair("tp", None, None, "A", 2),
        Pair("tp-extra", None, None, "A", 3),
        Pair("wrong", None, None, "A", 4),
        Pair("fn", None, None, "A", 5),
        Pair("fp", None, None, None, 6),
        Pair("tn", None, None, None, 7),
    ]
    canned = _Canned({"tp": ["A"], "tp-extra": ["B", "A"], "wrong": ["B"], "fp": ["C"]})
    result = evaluate(canned, pairs)  # type: ignore[arg-type]
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (2, 2, 2, 1)
    assert (result["wrong"], result["extra"]) == (1, 1)
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(0.5)
    assert [line for line, _, _ in result["failures"]] == [4, 5, 6]


def test_labelled_pairs_cover_the_required_cases() -> None:
    with DEFAULT_PAIRS.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["query_name", "query_birth_date", "query_country", "expected_entry_id"]
    chinese_ids = {f"SMP-{n:03d}" for n in range(1, 21)}
    han = re.compile(r"[\u4e00-\u9fff]")
    chinese = [
        r for r in rows if han.search(r["query_name"]) or r["expected_entry_id"] in chinese_ids
    ]
    assert len(rows) >= 220
    assert len(chinese) >= 60
    assert sum(1 for r in rows if not r["expected_entry_id"]) >= 60


def test_precision_and_recall_on_the_labelled_pairs() -> None:
    matcher = WatchlistMatcher.from_file(DEFAULT_WATCHLIST, DEFAULT_THRESHOLD)
    result = evaluate(matcher, load_pairs(DEFAULT_PAIRS))
    summary = {k: result[k] for k in ("tp", "fp", "fn", "tn", "precision", "recall", "f1")}
    assert result["precision"] >= 0.95, summary
    assert result["recall"] >= 0.95, summary
