"""Scoring rules: the threshold, birth-date and country adjustments, the token guard."""

from __future__ import annotations

import logging
from datetime import date

from rapidfuzz.distance import Levenshtein

from monitor.core.screening.models import WatchlistEntry

__all__ = [
    "BIRTH_DATE_MATCH_BONUS",
    "BIRTH_DATE_MISMATCH_PENALTY",
    "COUNTRY_MISMATCH_PENALTY",
    "DEFAULT_THRESHOLD",
    "MIN_FUZZY_LETTERS",
    "adjust",
    "parts_agree",
]

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 88.0
BIRTH_DATE_MATCH_BONUS = 5.0
BIRTH_DATE_MISMATCH_PENALTY = 15.0
COUNTRY_MISMATCH_PENALTY = 5.0
#: a name with fewer letters than this (after normalisation) only ever matches exactly
MIN_FUZZY_LETTERS = 4


def parts_agree(query: tuple[str, ...], alias: tuple[str, ...]) -> bool:
    """When both names have the same number (two or more) of tokens of three or more letters
    (shorter ones are particles such as al, el, bo), each such token is within one edit
    (Levenshtein; two edits from ten letters) of a token on the other side. A fuzzy score
    over the whole name otherwise lets long shared parts hide a different surname
    (Volkov vs Volkonov, Hamid vs Shami)."""
    query = tuple(t for t in query if len(t) >= 3)
    alias = tuple(t for t in alias if len(t) >= 3)
    if len(query) != len(alias) or len(query) < 2:
        return True
    return all(
        any(_close(token, other) for other in theirs)
        for mine, theirs in ((query, alias), (alias, query))
        for token in mine
    )


def _close(a: str, b: str) -> bool:
    allowed = 1 + max(len(a), len(b)) // 10
    return Levenshtein.distance(a, b, score_cutoff=allowed) <= allowed


def adjust(
    score: float, entry: WatchlistEntry, birth_date: date | None, country: str | None
) -> float:
    """`score` with the birth-date bonus or penalty and the country penalty applied where
    both sides carry the value, kept within 0..100."""
    if birth_date is not None and entry.birth_date is not None:
        if birth_date == entry.birth_date:
            score += BIRTH_DATE_MATCH_BONUS
        else:
            score -= BIRTH_DATE_MISMATCH_PENALTY
    if country and entry.country and country.strip().upper() != entry.country:
        score -= COUNTRY_MISMATCH_PENALTY
    return max(0.0, min(100.0, score))
