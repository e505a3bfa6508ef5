"""Watch-list entries and match results, shared by the list loaders and the matcher."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

__all__ = ["Identifiers", "Match", "WatchlistEntry"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """A listed person or entity: primary name first, then aliases. `weak` holds the indexes
    of weak (low-quality) aliases in `names`; `birth_dates`, `birth_years`, `countries` and
    `id_numbers` hold every value the list gives (the single `birth_date` and `country` are
    the first of them, kept for lists that give one)."""

    entry_id: str
    names: tuple[str, ...]
    birth_date: date | None
    country: str | None  # ISO 3166-1 alpha-2
    list_name: str
    reason: str
    birth_dates: tuple[date, ...] = ()
    birth_years: tuple[int, ...] = ()  # years given without month and day
    countries: tuple[str, ...] = ()  # nationalities, citizenship, country of residence
    id_numbers: tuple[str, ...] = ()  # passport and national identity numbers, as listed
    weak: frozenset[int] = frozenset()
    kind: str = "person"  # "person" or "entity"

    def __post_init__(self) -> None:
        if self.birth_date is not None and self.birth_date not in self.birth_dates:
            object.__setattr__(self, "birth_dates", (self.birth_date, *self.birth_dates))
        if self.country and self.country not in self.countries:
            object.__setattr__(self, "countries", (self.country, *self.countries))
        if self.birth_date is None and self.birth_dates:
            object.__setattr__(self, "birth_date", self.birth_dates[0])
        if self.country is None and self.countries:
            object.__setattr__(self, "country", self.countries[0])


@dataclass(frozen=True, slots=True)
class Identifiers:
    """Which secondary identifiers (birth_date, country, id_number) agreed with the entry's,
    which conflicted, and which one side or the other did not carry."""

    agreed: tuple[str, ...] = ()
    conflicted: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()

    def describe(self) -> str:
        """`agreed: ...; conflicted: ...; missing: ...`, a dash for an empty group."""
        return "; ".join(
            f"{label}: {', '.join(values) or '-'}"
            for label, values in (
                ("agreed", self.agreed),
                ("conflicted", self.conflicted),
                ("missing", self.missing),
            )
        )


@dataclass(frozen=True, slots=True)
class Match:
    """One entry that a screened name matches, with its best alias (index into `names`).
    `score` is the final score, `name_score` the name's alone; `weak_alias` says the best
    alias is a weak one; `common_name` that the name is a very common one, so a match on
    the name alone says little."""

    entry_id: str
    score: float
    matched_alias_index: int
    list_name: str
    name_score: float = 100.0
    identifiers: Identifiers = field(default_factory=Identifiers)
    weak_alias: bool = False
    common_name: bool = False
    #: how the name matched: `exact` (a spelling or order as listed) or the token
    #: alignment's counts (`fuzzy: 1 exact, 1 variant`; `initials: ...`), never the tokens
    method: str = "exact"

    @property
    def name_only(self) -> bool:
        """No secondary identifier agreed: the match rests on the name."""
        return not self.identifiers.agreed

    def reasons(self) -> str:
        """One line saying why: name score, identifiers, weak alias, common name."""
        parts = [f"name {self.name_score:.0f} ({self.method})", self.identifiers.describe()]
        if self.weak_alias:
            parts.append("weak alias")
        if self.common_name and self.name_only:
            parts.append("common name, name only")
        return "; ".join(parts)
