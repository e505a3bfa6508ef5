"""The screening scorecard meets its targets on the committed labelled pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.core.screening import WatchlistMatcher, load_watchlist
from monitor.tools.scorecard import NEGATIVE, format_scorecard, scorecard
from monitor.tools.screen_eval import load_pairs

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def card() -> dict[str, dict[str, object]]:
    matcher = WatchlistMatcher(load_watchlist(DATA / "scorecard_list.yaml"))
    pairs = load_pairs(DATA / "scorecard_pairs.csv")
    assert len(pairs) >= 2000
    return scorecard(matcher, pairs)


def test_overall_precision_and_recall(card: dict[str, dict[str, float]]) -> None:
    assert card["overall"]["precision"] >= 0.98
    assert card["overall"]["recall"] >= 0.95


def test_no_category_below_0_9(card: dict[str, dict[str, float]]) -> None:
    for name, result in card.items():
        if name in NEGATIVE:
            continue
        assert result["precision"] >= 0.9, name
        assert result["recall"] >= 0.9, name


@pytest.mark.parametrize("category", sorted(NEGATIVE))
def test_no_false_match_where_nobody_is_named(
    card: dict[str, dict[str, float]], category: str
) -> None:
    assert card[category]["fp"] == 0


def test_format_names_every_category(card: dict[str, dict[str, object]]) -> None:
    text = format_scorecard(card)  # type: ignore[arg-type]
    for name in card:
        assert name in text
