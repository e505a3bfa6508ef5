"""Re-screening on a list update: only new entries, deterministic alert ids."""

from __future__ import annotations

from datetime import date

from monitor.core.screening import WatchlistEntry
from monitor.core.screening.rescreen import IndexedName, new_entries, rescreen

OLD = [WatchlistEntry("A", ("张晓明",), date(1975, 3, 14), "CN", "l", "r")]
NEW = [
    *OLD,
    WatchlistEntry("B", ("林国豪",), date(1980, 1, 1), "CN", "l", "r"),
    WatchlistEntry("C", ("Li Bo",), date(1992, 6, 6), "CN", "l", "r"),
]
INDEX = {
    "C1": [IndexedName("customer", "Lin Guohao", date(1980, 1, 1), "CN")],
    "C2": [IndexedName("customer", "Guo Haolin")],
    "C3": [IndexedName("customer", "Zhang Xiaoming")],  # matches only the old entry
    "C4": [IndexedName("customer", "Li Bo", date(1990, 1, 1))],  # another birth date
}


def test_only_new_or_changed_entries_are_rescreened() -> None:
    assert [e.entry_id for e in new_entries(OLD, NEW)] == ["B", "C"]
    changed = [WatchlistEntry("A", ("张晓明", "Zhang Xiaoming"), None, "CN", "l", "r")]
    assert [e.entry_id for e in new_entries(OLD, changed)] == ["A"]


def test_existing_customers_matching_new_entries_are_found_once() -> None:
    found = list(rescreen(INDEX, new_entries(OLD, NEW)))
    assert [(r.customer_id, r.match.entry_id) for r in found] == [("C1", "B")]
    assert found[0].match.identifiers.agreed == ("birth_date", "country")


def test_a_second_reload_gives_the_same_ids() -> None:
    first = [r.alert_id for r in rescreen(INDEX, new_entries(OLD, NEW))]
    second = [r.alert_id for r in rescreen(INDEX, new_entries(OLD, NEW))]
    assert first == second and len(set(first)) == len(first)
    assert list(rescreen(INDEX, new_entries(NEW, NEW))) == []
