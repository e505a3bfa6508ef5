"""Watch-list screening: names normalised, transliterated and scored against listed persons."""

from monitor.core.screening.forms import normalise_name
from monitor.core.screening.matcher import WatchlistMatcher
from monitor.core.screening.models import Match, WatchlistEntry
from monitor.core.screening.score import (
    BIRTH_DATE_MATCH_BONUS,
    COUNTRY_MISMATCH_PENALTY,
    DEFAULT_THRESHOLD,
    MIN_FUZZY_LETTERS,
)
from monitor.core.screening.yaml_list import load_watchlist

__all__ = [
    "BIRTH_DATE_MATCH_BONUS",
    "COUNTRY_MISMATCH_PENALTY",
    "DEFAULT_THRESHOLD",
    "MIN_FUZZY_LETTERS",
    "Match",
    "WatchlistEntry",
    "WatchlistMatcher",
    "load_watchlist",
    "normalise_name",
]
