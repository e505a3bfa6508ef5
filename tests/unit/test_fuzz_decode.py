"""Property-based fuzzing of every decoder: hostile input is rejected with a reason, never
raises, and is never accepted in a form the rules cannot use."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.decode import KINDS, REASONS, Decoder, Rejection
from monitor.core.pack import load_pack

DECODER = Decoder(load_pack().fx, max_bytes=1_048_576)
#: examples per property and input kind; `make faults` runs 2,500 (10,000+ per property)
N = int(os.environ.get("MONITOR_FUZZ_EXAMPLES", "150"))

VALID = {
    "cash": {
        "event_id": "e",
        "txn_id": "t",
        "customer_id": "c",
        "occurred_at": "2026-03-02T09:00:00+08:00",
        "direction": "in",
        "amount": "100.00",
        "currency": "CNY",
    },
    "remittance": {
        "event_id": "e",
        "txn_id": "t",
        "kind": "payment",
        "customer_id": "c",
        "occurred_at": "2026-03-02T09:00:00Z",
        "direction": "out",
        "amount": 5,
        "currency": "USD",
    },
    "transfer": {
        "event_id": "e",
        "txn_id": "t",
        "customer_id": "c",
        "account_id": "a",
        "occurred_at": "2026-03-02T09:00:00+08:00",
        "direction": "in",
        "amount": "100.00",
        "currency": "CNY",
        "counterparty": {"account_number": "6222", "customer_id": None},
    },
    "account_opening": {
        "event_id": "e",
        "customer_id": "c",
        "opened_at": "2026-03-02T09:00:00+08:00",
        "customer_type": "individual",
    },
    "customer_update": {
        "event_id": "e",
        "customer_id": "c",
        "updated_at": "2026-03-02T09:00:00+08:00",
        "changes": {"phone": "1"},
    },
}

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-Infinity",
            "1e999",
            "-0",
            "0",
            "2026-03-02T09:00:00",
            "9999-12-31T23:59:59+14:00",
            "0001-01-01T00:00:00Z",
            "",
            " ",
            "XYZ",
            "\u0000",
        ]
    ),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


def _check(kind: str, raw: bytes) -> None:
    result = DECODER.decode(kind, raw)
    if isinstance(result, Rejection):
        assert result.reason in REASONS and result.errors
        return
    assert isinstance(result, KINDS[kind])
    amount = getattr(result, "amount", None)
    if amount is not None:
        assert isinstance(amount, Decimal) and amount.is_finite() and amount > 0
    assert result.event_time.tzinfo is not None
    currency = getattr(result, "currency", None)
    if currency is not None:
        assert DECODER.fx.knows(currency)


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from(
        [
            "amount",
            "currency",
            "occurred_at",
            "opened_at",
            "updated_at",
            "event_id",
            "customer_id",
            "direction",
            "kind",
            "changes",
            "customer_type",
            "id_document",
            "beneficial_owners",
            "extra",
        ]
    ),
    value=json_value,
)
def test_one_hostile_field_is_accepted_or_rejected_with_a_reason(kind, field, value):
    doc = dict(VALID[kind])
    doc[field] = value
    _check(kind, json.dumps(doc).encode())


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=N, deadline=None)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_decoder(kind, raw):
    _check(kind, raw)


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=N, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=st.dictionaries(st.text(max_size=12), json_value, max_size=8))
def test_arbitrary_objects_never_crash_the_decoder(kind, doc):
    _check(kind, json.dumps(doc).encode())


@pytest.mark.parametrize("depth", [10, 500, 5000, 100_000])
def test_deep_nesting_is_rejected_not_a_crash(depth):
    raw = b'{"event_id":"e","changes":' + b"[" * depth + b"]" * depth + b"}"
    assert isinstance(DECODER.decode("customer_update", raw), Rejection)


def test_a_message_of_several_megabytes_is_rejected_as_too_large():
    doc = dict(VALID["cash"], padding="x" * 5_000_000)
    result = DECODER.decode("cash", orjson.dumps(doc))
    assert isinstance(result, Rejection) and result.reason == "too_large"


@pytest.mark.parametrize(
    "number", ["1e400", "-1e400", "1e-400", "123456789012345678901234567890.5"]
)
def test_huge_and_tiny_numbers(number):
    raw = json.dumps(VALID["cash"]).replace('"100.00"', number).encode()
    _check("cash", raw)


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe\xfd", b'{"a": "\xed\xa0\x80"}', b"\x00", b"", b"null", b"[]", b'"x"']
)
def test_invalid_utf8_and_non_objects(raw):
    result = DECODER.decode("cash", raw)
    assert isinstance(result, Rejection) and result.reason in {"invalid_json", "not_an_object"}
