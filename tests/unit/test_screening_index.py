"""The names index for re-screening: records by role in event-time order, the entry diff,
and re-screening findings with deterministic ids."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.core.engine import Engine
from monitor.core.pack import load_pack
from monitor.core.screening import WatchlistEntry
from monitor.core.screening.index import (
    ENTRY_PREFIX,
    INDEXED_ROLES,
    PartitionIndex,
    decode_record,
    entry_digest,
)
from monitor.core.screening.rescreen import rescreen_findings
from schemas import AccountOpening, CustomerUpdate

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def opening(customer: str, name: str, at: datetime = T0, **extra: object) -> AccountOpening:
    return AccountOpening.model_validate(
        {
            "event_id": f"o-{customer}",
            "customer_id": customer,
            "opened_at": at,
            "customer_type": "individual",
            "name": name,
            **extra,
        }
    )


def update(customer: str, changes: dict, at: datetime, n: int = 1) -> CustomerUpdate:
    return CustomerUpdate.model_validate(
        {
            "event_id": f"u-{customer}-{n}",
            "customer_id": customer,
            "updated_at": at,
            "changes": changes,
        }
    )


def names(index: PartitionIndex, customer: str) -> list[tuple[str, str]]:
    return [(n.role, n.name) for n in decode_record(index.names[customer.encode()])[1]]


def test_an_opening_indexes_every_role_with_identifiers() -> None:
    index = PartitionIndex()
    event = opening(
        "C1",
        "Lin Guohao",
        nationality="CN",
        birth_date="1980-01-01",
        id_document={"type": "passport", "number": "E123"},
        agent={"name": "Wang Wei"},
        beneficial_owners=[{"name": "Li Na", "ownership_pct": 30}],
    )
    record = index.observe(event, None, INDEXED_ROLES)
    assert record is not None
    customer, found = decode_record(record)
    assert customer == "C1"
    assert {(n.role, n.name) for n in found} == {
        ("customer", "Lin Guohao"),
        ("agent", "Wang Wei"),
        ("beneficial_owner", "Li Na"),
    }
    me = next(n for n in found if n.role == "customer")
    assert (me.birth_date, me.country, me.id_number) == (date(1980, 1, 1), "CN", "E123")


def test_only_configured_roles_and_naming_events_are_indexed() -> None:
    index = PartitionIndex()
    index.observe(opening("C1", "Lin Guohao", agent={"name": "Wang Wei"}), None, ["customer"])
    assert names(index, "C1") == [("customer", "Lin Guohao")]
    assert index.observe(object(), None, INDEXED_ROLES) is None


def test_an_update_replaces_the_roles_it_changes_and_keeps_the_rest() -> None:
    index = PartitionIndex()
    index.observe(opening("C1", "Lin Guohao", nationality="CN"), None, INDEXED_ROLES)
    later = T0.replace(hour=10)
    index.observe(update("C1", {"nationality": "SG"}, later), None, INDEXED_ROLES)
    (me,) = decode_record(index.names[b"C1"])[1]
    assert (me.name, me.country) == ("Lin Guohao", "SG")
    index.observe(update("C1", {"name": "Lin Guo Hao"}, later, 2), None, INDEXED_ROLES)
    assert names(index, "C1") == [("customer", "Lin Guo Hao")]


def test_an_earlier_event_arriving_late_does_not_replace_a_later_name() -> None:
    index = PartitionIndex()
    index.observe(update("C1", {"name": "New Name"}, T0.replace(hour=12)), None, INDEXED_ROLES)
    index.observe(opening("C1", "Old Name", agent={"name": "Wang Wei"}), None, INDEXED_ROLES)
    assert sorted(names(index, "C1")) == [("agent", "Wang Wei"), ("customer", "New Name")]


def test_an_update_without_a_name_before_the_opening_keeps_the_openings_name() -> None:
    index = PartitionIndex()
    index.observe(update("C1", {"nationality": "SG"}, T0.replace(hour=12)), None, INDEXED_ROLES)
    index.observe(opening("C1", "Lin Guohao"), None, INDEXED_ROLES)
    assert names(index, "C1") == [("customer", "Lin Guohao")]


ENTRY_A = WatchlistEntry("A", ("张晓明",), date(1975, 3, 14), "CN", "l", "r")
ENTRY_B = WatchlistEntry("B", ("林国豪",), date(1980, 1, 1), "CN", "l", "r")


def digests(entries: list[WatchlistEntry]) -> dict[str, str]:
    return {e.entry_id: entry_digest(e) for e in entries}


def test_the_digest_changes_with_what_screening_reads_only() -> None:
    assert entry_digest(ENTRY_A) == entry_digest(
        WatchlistEntry("A", ("张晓明",), date(1975, 3, 14), "CN", "l", "other reason")
    )
    assert entry_digest(ENTRY_A) != entry_digest(
        WatchlistEntry("A", ("张晓明", "Zhang Xiaoming"), date(1975, 3, 14), "CN", "l", "r")
    )


def test_pending_is_the_new_and_changed_entries_and_marks_removals() -> None:
    index = PartitionIndex()
    entries, records = index.pending([ENTRY_A], digests([ENTRY_A]))
    assert entries == []  # never screened: the list as it is, nothing to catch up
    index.mark(records)
    assert index.pending([ENTRY_A], digests([ENTRY_A])) == ([], {})
    entries, records = index.pending([ENTRY_B], digests([ENTRY_B]))
    assert entries == [ENTRY_B]
    assert records == {
        ENTRY_PREFIX + b"B": entry_digest(ENTRY_B).encode(),
        ENTRY_PREFIX + b"A": b"",
    }
    index.mark(records)
    assert index.screened == digests([ENTRY_B])
    # restored from the stored records, the partition is in the same place
    restored = PartitionIndex()
    for key, value in [(ENTRY_PREFIX + b"A", b"x"), *records.items()]:
        restored.load(key, value)
    assert restored.pending([ENTRY_B], digests([ENTRY_B])) == ([], {})


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_pack())


def test_rescreen_findings_have_deterministic_ids(engine: Engine) -> None:
    rule = next(r for r in engine.rules if r.rule_id == "WATCHLIST_MATCH")
    index = PartitionIndex()
    index.observe(
        opening("C1", "Lin Guohao", nationality="CN", birth_date="1980-01-01"), None, INDEXED_ROLES
    )
    index.observe(opening("C2", "Guo Haolin"), None, INDEXED_ROLES)
    first = rescreen_findings(index.snapshot(), [ENTRY_B], rule, engine.pack, T0)
    again = rescreen_findings(index.snapshot(), [ENTRY_B], rule, engine.pack, T0.replace(day=9))
    assert [a.customer_id for a in first.alerts] == ["C1"]
    assert [a.alert_id for a in first.alerts] == [a.alert_id for a in again.alerts]
    assert [t.task_id for t in first.tasks] == [t.task_id for t in again.tasks]
    (task,) = first.tasks
    assert task.trigger == "WATCHLIST_MATCH" and task.alert_ids == [first.alerts[0].alert_id]
    assert "re-screening" in first.alerts[0].summary
    changed = WatchlistEntry("B", ("林国豪", "Lam Kwok Ho"), date(1980, 1, 1), "CN", "l", "r")
    other = rescreen_findings(index.snapshot(), [changed], rule, engine.pack, T0)
    assert other.alerts[0].alert_id != first.alerts[0].alert_id
