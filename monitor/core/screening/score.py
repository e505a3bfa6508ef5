"""Scoring rules: the threshold and the secondary identifiers' adjustments."""

from __future__ import annotations

import logging
from datetime import date

from monitor.core.screening.models import Identifiers, WatchlistEntry

__all__ = [
    "BIRTH_DATE_MATCH_BONUS",
    "COUNTRY_MISMATCH_PENALTY",
    "DEFAULT_THRESHOLD",
    "ID_MATCH_BONUS",
    "ID_MISMATCH_PENALTY",
    "MIN_FUZZY_LETTERS",
    "adjust",
    "assess",
]

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 88.0
BIRTH_DATE_MATCH_BONUS = 5.0
COUNTRY_MISMATCH_PENALTY = 10.0
ID_MATCH_BONUS = 10.0
ID_MISMATCH_PENALTY = 10.0
#: a name with fewer letters than this (after normalisation) only ever matches exactly
MIN_FUZZY_LETTERS = 4


def assess(
    score: float,
    entry: WatchlistEntry,
    birth_date: date | None,
    country: str | None,
    id_number: str | None = None,
) -> tuple[float | None, Identifiers]:
    """The final score of a name score against `entry`, with the secondary identifiers that
    agreed, conflicted or were missing on either side; None when a conflict rules the entry
    out. Birth date: equal to one the entry gives (or in a year it gives without a day) +5;
    different: ruled out. Identity number (letters and digits compared, case-insensitive):
    equal +10, different -10. Country: among the entry's countries nothing, else -10 (where a
    party is says little of a nationality). Kept within 0..100."""
    agreed: list[str] = []
    conflicted: list[str] = []
    missing: list[str] = []
    if birth_date is None or not (entry.birth_dates or entry.birth_years):
        missing.append("birth_date")
    elif birth_date in entry.birth_dates or (
        not entry.birth_dates and birth_date.year in entry.birth_years
    ):
        agreed.append("birth_date")
        score += BIRTH_DATE_MATCH_BONUS
    else:
        conflicted.append("birth_date")
    code = (country or "").strip().upper()
    if not code or not entry.countries:
        missing.append("country")
    elif code in entry.countries:
        agreed.append("country")
    else:
        conflicted.append("country")
        score -= COUNTRY_MISMATCH_PENALTY
    number = _id_key(id_number)
    if not number or not entry.id_numbers:
        missing.append("id_number")
    elif number in {_id_key(n) for n in entry.id_numbers}:
        agreed.append("id_number")
        score += ID_MATCH_BONUS
    else:
        conflicted.append("id_number")
        score -= ID_MISMATCH_PENALTY
    found = Identifiers(tuple(agreed), tuple(conflicted), tuple(missing))
    if "birth_date" in conflicted:
        return None, found
    return max(0.0, min(100.0, score)), found


def _id_key(number: str | None) -> str:
    return "".join(c for c in (number or "").upper() if c.isalnum())


def adjust(
    score: float, entry: WatchlistEntry, birth_date: date | None, country: str | None
) -> float:
    """`assess` without an identity number, a ruled-out entry scoring 0."""
    final, _ = assess(score, entry, birth_date, country)
    return 0.0 if final is None else final
