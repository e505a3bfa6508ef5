"""Re-screening on a list update: the entries that are new, and the customers they match."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from monitor.core.ids import stable_id
from monitor.core.screening.matcher import WatchlistMatcher
from monitor.core.screening.models import Match, WatchlistEntry
from monitor.core.screening.score import DEFAULT_THRESHOLD

__all__ = ["IndexedName", "Rescreened", "new_entries", "rescreen"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexedName:
    """A name the worker keeps for a customer, with what is known beside it."""

    role: str
    name: str
    birth_date: date | None = None
    country: str | None = None
    id_number: str | None = None


@dataclass(frozen=True, slots=True)
class Rescreened:
    """A customer's name that matches a new entry; `alert_id` is derived from the customer,
    role and entry, so a second reload of the same list gives the same id."""

    customer_id: str
    role: str
    match: Match
    alert_id: str


def new_entries(
    old: Iterable[WatchlistEntry], new: Iterable[WatchlistEntry]
) -> list[WatchlistEntry]:
    """The entries of `new` that `old` lacks, or has with other names or identifiers."""
    before = {e.entry_id: e for e in old}
    return [e for e in new if before.get(e.entry_id) != e]


def rescreen(
    index: Mapping[str, Sequence[IndexedName]],
    entries: Sequence[WatchlistEntry],
    threshold: float = DEFAULT_THRESHOLD,
) -> Iterator[Rescreened]:
    """Every (customer, role, entry) of `index` that matches one of `entries` (the new
    ones only), in customer order. One matcher over the new entries; a name borne by many
    customers is scanned once (the matcher's cache)."""
    if not entries:
        return
    matcher = WatchlistMatcher(entries, threshold)
    for customer_id in sorted(index):
        seen: set[tuple[str, str]] = set()
        for item in index[customer_id]:
            for match in matcher.match(item.name, item.birth_date, item.country, item.id_number):
                key = (item.role, match.entry_id)
                if key in seen:
                    continue
                seen.add(key)
                alert_id = stable_id("alert", "WATCHLIST_MATCH", customer_id, "rescreen", *key)
                yield Rescreened(customer_id, item.role, match, alert_id)
