"""Parsing helpers shared by the list loaders: dates, country names, entry assembly."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date, datetime

from monitor.core.screening.models import WatchlistEntry

__all__ = ["BirthDates", "country_code", "entry", "parse_birth"]

logger = logging.getLogger(__name__)

#: full dates and years given without month and day
BirthDates = tuple[list[date], list[int]]

# country names as OFAC and the UN write them, to ISO 3166-1 alpha-2
_COUNTRIES = {
    "china": "CN",
    "people's republic of china": "CN",
    "hong kong": "HK",
    "china, hong kong special administrative region": "HK",
    "macau": "MO",
    "macao": "MO",
    "taiwan": "TW",
    "singapore": "SG",
    "malaysia": "MY",
    "russia": "RU",
    "russian federation": "RU",
    "iran": "IR",
    "iran (islamic republic of)": "IR",
    "north korea": "KP",
    "korea, north": "KP",
    "democratic people's republic of korea": "KP",
    "korea, south": "KR",
    "republic of korea": "KR",
    "syria": "SY",
    "syrian arab republic": "SY",
    "iraq": "IQ",
    "afghanistan": "AF",
    "pakistan": "PK",
    "united arab emirates": "AE",
    "turkey": "TR",
    "turkiye": "TR",
    "united states": "US",
    "united kingdom": "GB",
    "germany": "DE",
    "france": "FR",
    "spain": "ES",
    "argentina": "AR",
    "venezuela": "VE",
    "cuba": "CU",
    "myanmar": "MM",
    "burma": "MM",
    "thailand": "TH",
    "vietnam": "VN",
    "viet nam": "VN",
    "japan": "JP",
    "india": "IN",
    "lebanon": "LB",
    "yemen": "YE",
    "somalia": "SO",
    "sudan": "SD",
    "libya": "LY",
    "belarus": "BY",
    "ukraine": "UA",
}
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def country_code(text: str | None) -> str | None:
    """ISO alpha-2 of a country name or code, None when unknown."""
    if not text:
        return None
    value = text.strip().rstrip(".").strip()
    if re.fullmatch(r"[A-Za-z]{2}", value):
        return value.upper()
    return _COUNTRIES.get(value.casefold())


def parse_birth(text: str | None) -> BirthDates:
    """A listed date of birth: `1992-06-06`, `06 Jun 1992` and `Jun 1992` (a year then),
    `1992`, `circa 1992`, `1990 to 1992` (every year of the range)."""
    if not text:
        return [], []
    value = text.strip()
    for pattern in ("%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%d/%m/%Y"):
        try:
            return [datetime.strptime(value, pattern).date()], []
        except ValueError:
            continue
    years = [int(y) for y in _YEAR.findall(value)]
    if len(years) == 2 and " to " in value.casefold():
        years = list(range(years[0], years[1] + 1))
    return [], years


def entry(
    entry_id: str,
    names: Iterable[str],
    weak_names: Iterable[str],
    list_name: str,
    reason: str,
    births: Iterable[str | None] = (),
    countries: Iterable[str | None] = (),
    id_numbers: Iterable[str | None] = (),
    kind: str = "person",
) -> WatchlistEntry | None:
    """A `WatchlistEntry` from a loader's raw values (None without any name): names without
    duplicates, weak aliases after them, dates parsed, countries as ISO codes."""
    strong = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    weak = [n for n in dict.fromkeys(w.strip() for w in weak_names if w and w.strip())]
    weak = [n for n in weak if n not in strong]
    if not strong and not weak:
        return None
    dates: list[date] = []
    years: list[int] = []
    for text in births:
        found, found_years = parse_birth(text)
        dates += found
        years += found_years
    codes = [c for c in (country_code(t) for t in countries) if c]
    numbers = [n.strip() for n in id_numbers if n and n.strip()]
    all_names = (*strong, *weak)
    return WatchlistEntry(
        entry_id=entry_id,
        names=all_names,
        birth_date=None,
        country=None,
        list_name=list_name,
        reason=reason,
        birth_dates=tuple(dict.fromkeys(dates)),
        birth_years=tuple(dict.fromkeys(years)),
        countries=tuple(dict.fromkeys(codes)),
        id_numbers=tuple(dict.fromkeys(numbers)),
        weak=frozenset(range(len(strong), len(all_names))),
        kind=kind,
    )
