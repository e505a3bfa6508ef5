"""Watch-list entries and match results, shared by the list loaders and the matcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

__all__ = ["Match", "WatchlistEntry"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """A listed person: primary name first, then aliases."""

    entry_id: str
    names: tuple[str, ...]
    birth_date: date | None
    country: str | None  # ISO 3166-1 alpha-2
    list_name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Match:
    """One entry that a screened name matches, with its best alias (index into `names`)."""

    entry_id: str
    score: float
    matched_alias_index: int
    list_name: str
