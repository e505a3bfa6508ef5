"""The back-fill of the names index: a customer file gives the bytes the worker writes for
the same openings, back-filled and worker records merge by event time (the worker's wins a
tie) whatever their order in the topic, bad lines are named or counted, and a running
worker merges a back-fill and writes again a record where its own is later."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor.core.decode import Decoder
from monitor.core.engine import Engine
from monitor.core.errors import MonitorError
from monitor.core.pack import load_pack
from monitor.core.screening.index import (
    ENTRY_PREFIX,
    INDEXED_ROLES,
    PartitionIndex,
    combine,
    decode_record,
    merge_record,
    record_of,
)
from monitor.tools.backfill import Backfill, build_records, read_openings
from schemas import AccountOpening, CustomerUpdate
from tests.support.packs import CONFIG

from .test_rescreen_service import ADDED, findings, make, run, written

PACK = load_pack(CONFIG / "cn-pboc.yaml")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RESIDENT_ID = "11010519491231002X"  # the standard's example number: born 1949-12-31

OPENINGS: list[dict[str, Any]] = [
    {
        "event_id": "o-1",
        "customer_id": "BF-1",
        "account_id": "A-1",
        "opened_at": "2019-05-06T10:00:00+08:00",
        "customer_type": "individual",
        "name": "林国豪",
        "nationality": "CN",
        "id_document": {"type": "resident_id", "number": RESIDENT_ID, "expires_on": None},
        "agent": {"name": "Wang Wei", "id_document": {"type": "passport", "number": "E1"}},
        "branch_code": "BR001",
    },
    {
        "event_id": "o-2",
        "customer_id": "BF-2",
        "account_id": "A-2",
        "opened_at": "2020-01-02T09:00:00Z",
        "customer_type": "entity",
        "name": "Hengda Trading Co., Ltd.",
        "registration_number": "91310000X",
        "legal_representative": {"name": "Zhou Lan", "id_document": None},
        "beneficial_owners": [
            {"name": "Li Na", "ownership_pct": "30", "id_document": {"type": "passport"}},
            {"name": "Chen Jie", "ownership_pct": 70},
        ],
        "branch_code": "BR002",
    },
]


def jsonl(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "customers.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def worker_record(data: dict[str, Any]) -> bytes:
    """What the worker indexes for an opening: the engine's profile, then `observe`."""
    event = AccountOpening.model_validate(data)
    state = Engine(PACK).process(None, event, T0).state
    record = PartitionIndex().observe(event, state.profile, INDEXED_ROLES)
    assert record is not None
    return record


def backfilled(path: Path, fmt: str = "jsonl", skip: bool = False) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    stats = Backfill()
    events = read_openings(path, fmt, Decoder(PACK.fx), stats, skip)
    build_records(events, PACK, list(INDEXED_ROLES), records, None)
    return records


def test_a_customer_file_gives_the_bytes_the_worker_writes(tmp_path: Path) -> None:
    path = jsonl(tmp_path, [orjson.dumps(o) for o in OPENINGS])
    records = backfilled(path)
    assert records == {o["customer_id"]: worker_record(o) for o in OPENINGS}
    _, names = decode_record(records["BF-1"])
    me = next(n for n in names if n.role == "customer")
    assert me.birth_date is not None and me.birth_date.isoformat() == "1949-12-31"  # from the ID


def test_a_csv_file_with_dotted_columns_gives_the_same_records(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "event_id,customer_id,account_id,opened_at,customer_type,name,nationality,"
        "id_document.type,id_document.number,agent.name,agent.id_document.type,"
        "agent.id_document.number,legal_representative.name,beneficial_owners.0.name,"
        "beneficial_owners.0.ownership_pct,beneficial_owners.0.id_document.type,"
        "beneficial_owners.1.name,beneficial_owners.1.ownership_pct,registration_number,"
        "branch_code\n"
        f"o-1,BF-1,A-1,2019-05-06T10:00:00+08:00,individual,林国豪,CN,resident_id,"
        f"{RESIDENT_ID},Wang Wei,passport,E1,,,,,,,,BR001\n"
        'o-2,BF-2,A-2,2020-01-02T09:00:00Z,entity,"Hengda Trading Co., Ltd.",,,,,,,'
        "Zhou Lan,Li Na,30,passport,Chen Jie,70,91310000X,BR002\n",
        encoding="utf-8",
    )
    assert backfilled(path, "csv") == backfilled(
        jsonl(tmp_path, [orjson.dumps(o) for o in OPENINGS])
    )


def test_a_bad_line_is_named_without_its_values_or_counted(tmp_path: Path) -> None:
    bad = dict(OPENINGS[0], opened_at="2019-05-06T10:00:00", customer_id="BF-9")
    path = jsonl(tmp_path, [orjson.dumps(OPENINGS[0]), b'{"customer_id": "x",', orjson.dumps(bad)])
    with pytest.raises(MonitorError, match=r"customers.jsonl:2: invalid_json") as caught:
        backfilled(path)
    assert "林国豪" not in str(caught.value)
    path = jsonl(tmp_path, [orjson.dumps(OPENINGS[0]), orjson.dumps(bad)])
    with pytest.raises(MonitorError, match=r"customers.jsonl:2: timestamp_without_offset"):
        backfilled(path)
    records: dict[str, bytes] = {}
    stats = Backfill()
    events = read_openings(path, "jsonl", Decoder(PACK.fx), stats, True)
    build_records(events, PACK, list(INDEXED_ROLES), records, None)
    assert set(records) == {"BF-1"} and stats.invalid == {"timestamp_without_offset": 1}


def test_updates_from_the_topics_fold_into_the_record_as_the_worker_does() -> None:
    opening = AccountOpening.model_validate(OPENINGS[0])
    change = CustomerUpdate.model_validate(
        {
            "event_id": "u-1",
            "customer_id": "BF-1",
            "updated_at": "2024-01-01T00:00:00Z",
            "changes": {"nationality": "SG", "agent": None},
        }
    )
    records: dict[str, bytes] = {}
    build_records([opening, change], PACK, list(INDEXED_ROLES), records, {})
    engine, index = Engine(PACK), PartitionIndex()
    state = None
    for event in (opening, change):
        state = engine.process(state, event, T0).state
        index.observe(event, state.profile, INDEXED_ROLES)
    assert records["BF-1"] == index.names[b"BF-1"]
    assert {(n.role, n.country) for n in decode_record(records["BF-1"])[1]} == {("customer", "SG")}


def rec(customer: str, roles: dict[str, tuple[int, str]]) -> bytes:
    record = None
    for role, (at, name) in roles.items():
        record = merge_record(record, customer, {role: [[name, None, None, None]]}, at, False)
    assert record is not None
    return record


def named(record: bytes) -> set[tuple[str, str]]:
    return {(n.role, n.name) for n in decode_record(record)[1]}


def test_combine_keeps_the_later_event_per_role_and_the_worker_on_a_tie() -> None:
    worker = rec("C", {"customer": (200, "New Name"), "agent": (100, "Wang Wei")})
    filed = rec("C", {"customer": (100, "Old Name"), "beneficial_owner": (100, "Li Na")})
    merged = combine(worker, filed, True)
    assert named(merged) == {
        ("customer", "New Name"),
        ("agent", "Wang Wei"),
        ("beneficial_owner", "Li Na"),
    }
    assert combine(worker, rec("C", {"agent": (100, "Someone Else")}), True) is worker  # a tie
    assert named(combine(worker, rec("C", {"agent": (100, "Someone Else")}), False)) == {
        ("customer", "New Name"),
        ("agent", "Someone Else"),  # the worker's own later record wins a tie
    }
    assert combine(None, filed, True) is filed
    assert combine(merged, filed, True) == merged  # a second back-fill changes nothing


@pytest.mark.parametrize("backfill_first", [True, False])
def test_restore_merges_in_either_order_and_notes_a_stale_last_record(
    backfill_first: bool,
) -> None:
    worker = rec("C", {"customer": (200, "New Name")})
    filed = rec("C", {"customer": (100, "Old Name"), "agent": (100, "Wang Wei")})
    index = PartitionIndex()
    order = [(filed, True), (worker, False)] if backfill_first else [(worker, False), (filed, True)]
    for value, marked in order:
        index.load(b"C", value, marked)
    assert named(index.names[b"C"]) == {("customer", "New Name"), ("agent", "Wang Wei")}
    stale = index.take_stale()
    assert stale == {b"C": index.names[b"C"]}  # the last stored record is not the merge
    assert index.take_stale() == {}
    index.load(b"C", stale[b"C"])  # the merge written again: nothing stale
    assert index.stale == set()


def test_a_running_worker_merges_a_backfill_and_a_reload_rescreens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, writer, listed = make(tmp_path)
    run(svc._catch_up())  # noqa: SLF001  (the partition records the list as it is)
    svc.read_to[0] = 0
    opening = AccountOpening.model_validate(
        dict(OPENINGS[0], customer_id="RS-9", name="Su Zhenhua", id_document=None)
    )
    filed = record_of(opening, None, INDEXED_ROLES)
    assert filed is not None
    older = rec("RS-8", {"customer": (1, "Zhou Lan")})
    svc.index[0].load(b"RS-8", rec("RS-8", {"customer": (2, "Zhou Lan Later")}))

    async def open_reader(settings: Any) -> Any:
        return "reader"

    async def read_since(
        settings: Any, offsets: Any, indexes: Any, only_backfilled: bool, reader: Any
    ) -> Any:
        assert only_backfilled and offsets == {0: 0} and reader == "reader"
        indexes[0].load(b"RS-9", filed, True)
        indexes[0].load(b"RS-8", older, True)
        return {0: 5}

    monkeypatch.setattr("agents.screening.open_reader", open_reader)
    monkeypatch.setattr("agents.screening.read_since", read_since)
    run(svc._follow())  # noqa: SLF001
    assert svc.read_to == {0: 5}
    assert svc.index[0].names[b"RS-9"] == filed
    topic = svc.settings.screening_topic
    again = {k: v for k, v in written(svc, writer, topic) if not k.startswith(ENTRY_PREFIX)}
    assert set(again) == {b"RS-8"} and named(again[b"RS-8"]) == {("customer", "Zhou Lan Later")}

    listed.write_text(listed.read_text(encoding="utf-8") + ADDED, encoding="utf-8")
    run(svc._reload())  # noqa: SLF001
    run(svc._catch_up())  # noqa: SLF001
    alert_and_task = findings(svc, writer)
    assert len(alert_and_task) == 2  # of the back-filled customer
    alerts = [orjson.loads(v) for _, v in written(svc, writer, svc.settings.topic_alerts)]
    assert [a["customer_id"] for a in alerts] == ["RS-9"]


def test_a_restore_writes_again_a_record_a_backfill_made_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, writer, _ = make(tmp_path)
    svc.index.clear()
    later = rec("RS-8", {"customer": (2, "Zhou Lan Later")})

    async def read_index(settings: Any, partitions: Any) -> Any:
        index = PartitionIndex()
        index.load(b"RS-8", later)  # the worker's record, then an older back-fill after it
        index.load(b"RS-8", rec("RS-8", {"customer": (1, "Zhou Lan")}), True)
        return {0: index}, {0: 7}

    monkeypatch.setattr("agents.screening.read_index", read_index)
    run(svc._catch_up())  # noqa: SLF001  (reads the index of the owned partition)
    topic = svc.settings.screening_topic
    again = {k: v for k, v in written(svc, writer, topic) if not k.startswith(ENTRY_PREFIX)}
    assert again == {b"RS-8": later} and svc.read_to == {0: 7}
    assert svc.index[0].started  # a new partition recorded the list as it is, too
