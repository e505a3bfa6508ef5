"""The state record's named fields: day buckets and window items are NamedTuples in memory
and the same JSON arrays as before in the stored bytes, so a record written by the previous
version (positional lists, short risk keys) loads, and writes its buckets and windows back
as they were."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest

from monitor.core.state import (
    HIGH_RISK_COUNTRY_ALERTS,
    SUSPICIOUS_ALERTS,
    WATCHLIST_MATCHES,
    CashItem,
    CustomerState,
    DayBucket,
    TransferItem,
)

from .conftest import DETECTED_AT, cash, make_engine

# As the previous version wrote it (config/samples/all-rules.jsonl customers R07 and R08
# merged, profile shortened): positional arrays, "susp" / "hrc" / "wl" risk counters.
OLD_RECORD = (
    b'{"c":"R07","w":1772848800000,"p":{"type":"individual","income":"200000",'
    b'"present":["customer_id","name"]},'
    b'"b":{"LV_CASH|2026-03-03|in|CNY":["45500.00",["ST0"],false,1,1772553600000],'
    b'"LV_XBORDER_INDIVIDUAL|2026-03-03|out|USD":["10000",["XB1","XB2"],true,2,1772553600000]},'
    b'"v":{"STRUCTURING":[[1772503200000,"ST0","45500.00","CNY",true,"45500.00"],'
    b'[1772676000000,"ST1","68900.0000","USD",false,"9800.00"]],'
    b'"FREQUENT_LARGE_UNCLEAR_SOURCE":[[1772517600000,"FL0","60000.00",true,true],'
    b'[1772604000000,"FL1","70288.0000",false,false]]},'
    b'"q":{},"f":{"hrc|nationality|IR":1772413200000},'
    b'"r":{"hrc":1,"wl":2,"rating":"high","factors":["suspicious_alerts"],'
    b'"next_review":"2026-09-02","changes":1,"due_ms":1788364800000,"susp":3},'
    b'"s":{"open-015":1772413200000,"cash-016":1772503200000},"d":739680}'
)


def test_a_record_of_the_previous_version_loads_with_named_fields():
    state = CustomerState.from_bytes(OLD_RECORD)
    day = state.buckets["LV_CASH|2026-03-03|in|CNY"]
    assert day == DayBucket("45500.00", ["ST0"], False, 1, 1772553600000)
    assert (day.total, day.evidence, day.fired, day.txn_count) == ("45500.00", ["ST0"], False, 1)
    assert state.buckets["LV_XBORDER_INDIVIDUAL|2026-03-03|out|USD"].fired is True
    first, second = state.windows["STRUCTURING"]
    assert first == CashItem(1772503200000, "ST0", "45500.00", "CNY", True, "45500.00")
    assert (second.side, second.side_amount, second.base_amount) == ("USD", "9800.00", "68900.0000")
    assert not second.reported
    transfers = state.windows["FREQUENT_LARGE_UNCLEAR_SOURCE"]
    assert all(isinstance(i, TransferItem) for i in transfers)
    assert [(i.txn_id, i.unclear, i.reported) for i in transfers] == [
        ("FL0", True, True),
        ("FL1", False, False),
    ]
    assert state.risk[SUSPICIOUS_ALERTS] == 3
    assert state.risk[HIGH_RISK_COUNTRY_ALERTS] == 1
    assert state.risk[WATCHLIST_MATCHES] == 2


def test_a_record_of_the_previous_version_writes_back_its_arrays_as_they_were():
    state = CustomerState.from_bytes(OLD_RECORD)
    raw = state.to_bytes()
    old, new = orjson.loads(OLD_RECORD), orjson.loads(raw)
    assert (new["b"], new["v"], new["r"], new["s"]) == (old["b"], old["v"], old["r"], old["s"])
    assert CustomerState.from_bytes(raw) == state
    assert CustomerState.from_bytes(raw).to_bytes() == raw


def test_named_fields_are_stored_as_arrays_in_field_order():
    state = CustomerState("C001", 5)
    state.buckets["k"] = DayBucket("1.00", ["T1"], False, 1, 9)
    state.windows["STRUCTURING"] = [CashItem(1, "T1", "2.00", "USD", False, "0.30")]
    state.windows["FREQUENT_LARGE_UNCLEAR_SOURCE"] = [TransferItem(2, "T2", "3.00", True, True)]
    stored = orjson.loads(state.to_bytes())
    assert stored["b"] == {"k": ["1.00", ["T1"], False, 1, 9]}
    assert stored["v"] == {
        "STRUCTURING": [[1, "T1", "2.00", "USD", False, "0.30"]],
        "FREQUENT_LARGE_UNCLEAR_SOURCE": [[2, "T2", "3.00", True, True]],
    }
    assert CustomerState.from_bytes(state.to_bytes()) == state


def test_a_value_json_cannot_hold_is_still_refused():
    state = CustomerState("C001")
    state.flags["x"] = {1, 2}  # type: ignore[assignment]
    with pytest.raises(orjson.JSONEncodeError):
        state.to_bytes()


def test_the_rules_keep_named_items_and_mark_reported_ones_in_place():
    """Three structuring-band deposits: one alert, all three items marked reported in
    their window positions; the day buckets carry the summed totals by name."""
    engine = make_engine()
    state = None
    start = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
    alerts = []
    for i, amount in enumerate(("45500.00", "47800.00", "49900.00")):
        at = (start + timedelta(days=i)).isoformat()
        outcome = engine.process(state, cash(amount, at=at, txn_id=f"ST{i}"), DETECTED_AT)
        state = outcome.state
        alerts += [a.rule_id for a in outcome.findings.alerts]
    assert state is not None
    assert alerts == ["STRUCTURING"]
    window = state.windows["STRUCTURING"]
    assert all(isinstance(i, CashItem) for i in window)
    assert [(i.txn_id, i.reported, i.side) for i in window] == [
        ("ST0", True, "CNY"),
        ("ST1", True, "CNY"),
        ("ST2", True, "CNY"),
    ]
    days = sorted(state.buckets.values(), key=lambda b: b.window_end_ms)
    assert all(isinstance(b, DayBucket) for b in days)
    assert [(b.total, b.txn_count, b.fired) for b in days] == [
        ("45500.00", 1, False),
        ("47800.00", 1, False),
        ("49900.00", 1, False),
    ]
    restored = CustomerState.from_bytes(state.to_bytes())
    assert restored == state
    assert restored.to_bytes() == state.to_bytes()
