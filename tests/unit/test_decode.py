"""monitor.core.decode.Decoder: bytes -> event, or a Rejection with a fixed reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from monitor.core.decode import KINDS, REASONS, Decoder, Rejection
from schemas import AccountOpening, CashTransaction, CustomerUpdate, Remittance, Transfer

from .conftest import PERSON_ID_NUMBER, UTC

SECRET_NAME = "Zhao Secretname"


@pytest.fixture
def decoder(pack) -> Decoder:
    return Decoder(pack.fx)


def cash_doc(**overrides: object) -> dict:
    doc = {
        "event_id": "evt-1",
        "txn_id": "TXN-1",
        "customer_id": "C001",
        "account_id": "ACC-1",
        "occurred_at": "2026-03-02T09:15:00+08:00",
        "direction": "in",
        "amount": "50000.00",
        "currency": "CNY",
        "service": "deposit",
        "conductor": None,
        "branch_code": "BJ001",
    }
    for key, value in overrides.items():
        if value is ...:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


def opening_doc(**overrides: object) -> dict:
    doc = {
        "event_id": "evt-open-1",
        "customer_id": "C001",
        "opened_at": "2026-03-02T09:15:00+08:00",
        "customer_type": "individual",
        "name": SECRET_NAME,
        "id_document": {"type": "resident_id", "number": PERSON_ID_NUMBER, "expires_on": None},
    }
    doc.update(overrides)
    return doc


def encode(doc: object) -> bytes:
    return orjson.dumps(doc)


def rejected(result: object, reason: str) -> Rejection:
    assert isinstance(result, Rejection), result
    assert result.reason == reason, result.errors
    assert result.reason in REASONS
    assert result.errors
    return result


# --------------------------------------------------------------------------- accepted


def test_a_transfer_in_an_unknown_currency_is_rejected(decoder):
    doc = {
        "event_id": "e",
        "txn_id": "t",
        "customer_id": "C",
        "account_id": "A",
        "direction": "out",
        "occurred_at": "2026-03-02T09:15:00Z",
        "amount": "1",
        "currency": "XYZ",
        "counterparty": {"account_number": "6222"},
    }
    rejected(decoder.decode("transfer", encode(doc)), "unknown_currency")


def test_valid_cash_decodes(decoder):
    event = decoder.decode("cash", encode(cash_doc()))
    assert isinstance(event, CashTransaction)
    assert event.amount == Decimal("50000.00")
    assert event.occurred_at == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "model", "doc"),
    [
        ("account_opening", AccountOpening, opening_doc()),
        (
            "customer_update",
            CustomerUpdate,
            {
                "event_id": "e",
                "customer_id": "C",
                "updated_at": "2026-03-02T09:15:00Z",
                "changes": {},
            },
        ),
        ("cash", CashTransaction, cash_doc()),
        (
            "remittance",
            Remittance,
            {
                "event_id": "e",
                "txn_id": "t",
                "customer_id": "C",
                "direction": "out",
                "occurred_at": "2026-03-02T09:15:00Z",
                "amount": "1",
                "currency": "USD",
            },
        ),
        (
            "transfer",
            Transfer,
            {
                "event_id": "e",
                "txn_id": "t",
                "customer_id": "C",
                "account_id": "A",
                "direction": "in",
                "occurred_at": "2026-03-02T09:15:00Z",
                "amount": "1",
                "currency": "CNY",
                "counterparty": {
                    "name": "Payer",
                    "account_number": "6222",
                    "bank_code": "102",
                    "customer_id": None,
                },
            },
        ),
    ],
)
def test_every_kind_decodes_to_its_model(decoder, kind, model, doc):
    assert set(KINDS) == {"account_opening", "customer_update", "cash", "remittance", "transfer"}
    assert isinstance(decoder.decode(kind, encode(doc)), model)


@pytest.mark.parametrize("amount", [50000, "50000.00", "50000", 50000.0])
def test_amount_as_json_number_or_string_decodes_to_decimal(decoder, amount):
    event = decoder.decode("cash", encode(cash_doc(amount=amount)))
    assert isinstance(event, CashTransaction)
    assert type(event.amount) is Decimal
    assert event.amount == Decimal("50000")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("49999.99", "49999.99"), ("0.1", "0.1"), ("1234567.89", "1234567.89")],
)
def test_amount_json_number_with_cents_is_exact(decoder, raw, expected):
    value = (
        b'{"event_id":"e","txn_id":"t","customer_id":"C","occurred_at":"2026-03-02T09:15:00Z",'
        b'"direction":"in","currency":"CNY","amount":' + raw.encode() + b"}"
    )
    event = decoder.decode("cash", value)
    assert isinstance(event, CashTransaction)
    assert event.amount == Decimal(expected)
    assert str(event.amount) == expected


def test_amount_json_number_with_many_digits_is_exact(decoder):
    value = (
        b'{"event_id":"e","txn_id":"t","customer_id":"C","occurred_at":"2026-03-02T09:15:00Z",'
        b'"direction":"in","currency":"CNY","amount":12345678901234567.89}'
    )
    event = decoder.decode("cash", value)
    assert isinstance(event, CashTransaction)
    assert event.amount == Decimal("12345678901234567.89")


def test_unknown_extra_fields_are_ignored(decoder):
    doc = cash_doc(
        future_field="x", nested_extra={"a": [1, 2]}, conductor={"name": "A", "extra": 1}
    )
    event = decoder.decode("cash", encode(doc))
    assert isinstance(event, CashTransaction)
    assert not hasattr(event, "future_field")
    assert (
        event.model_dump()
        == decoder.decode("cash", encode(cash_doc(conductor={"name": "A"}))).model_dump()
    )


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("2026-03-02T01:15:00Z", datetime(2026, 3, 2, 1, 15, tzinfo=UTC)),
        ("2026-03-02T01:15:00+00:00", datetime(2026, 3, 2, 1, 15, tzinfo=UTC)),
        ("2026-03-02T09:15:00+08:00", datetime(2026, 3, 2, 1, 15, tzinfo=UTC)),
        ("2026-03-01T20:15:00-05:00", datetime(2026, 3, 2, 1, 15, tzinfo=UTC)),
    ],
)
def test_timestamps_with_offset_or_z_are_accepted(decoder, stamp, utc):
    event = decoder.decode("cash", encode(cash_doc(occurred_at=stamp)))
    assert isinstance(event, CashTransaction)
    assert event.occurred_at == utc
    assert event.occurred_at.utcoffset() is not None


def test_z_offset_is_utc(decoder):
    event = decoder.decode("cash", encode(cash_doc(occurred_at="2026-03-02T09:15:00Z")))
    assert event.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("currency", ["CNY", "USD", "EUR", "HKD", "JPY", "GBP"])
def test_currencies_of_the_fx_table_are_accepted(decoder, currency):
    assert isinstance(decoder.decode("cash", encode(cash_doc(currency=currency))), CashTransaction)


# --------------------------------------------------------------------------- rejected


@pytest.mark.parametrize(
    "value",
    [b"", b"not json", b'{"event_id": ', b"{'single': 'quotes'}", b'{"a": NaN}'],
    ids=["empty", "text", "truncated", "single-quotes", "nan-literal"],
)
def test_invalid_json(decoder, value):
    rejected(decoder.decode("cash", value), "invalid_json")


@pytest.mark.parametrize(
    "value",
    [b'{"event_id": "\xff\xfe"}', b"\xc3\x28", b'{"name": "\xed\xa0\x80"}'],
    ids=["ff-fe", "bad-continuation", "surrogate"],
)
def test_invalid_utf8_is_invalid_json(decoder, value):
    rejected(decoder.decode("cash", value), "invalid_json")


@pytest.mark.parametrize(
    "value", [b"[]", b'[{"event_id": "e"}]', b'"text"', b"42", b"null", b"true"]
)
def test_json_that_is_not_an_object(decoder, value):
    rejected(decoder.decode("cash", value), "not_an_object")


def test_tombstone_is_not_an_object(decoder):
    rejected(decoder.decode("cash", None), "not_an_object")


@pytest.mark.parametrize(
    "field", ["event_id", "txn_id", "customer_id", "occurred_at", "direction", "currency"]
)
def test_missing_required_field_is_schema(decoder, field):
    result = rejected(decoder.decode("cash", encode(cash_doc(**{field: ...}))), "schema")
    assert result.errors == [f"{field}: Field required"]


def test_missing_customer_type_of_an_opening_is_schema(decoder):
    doc = opening_doc()
    del doc["customer_type"]
    rejected(decoder.decode("account_opening", encode(doc)), "schema")


def test_missing_amount_is_schema_not_invalid_amount(decoder):
    rejected(decoder.decode("cash", encode(cash_doc(amount=...))), "schema")


@pytest.mark.parametrize(
    "doc",
    [
        cash_doc(direction="sideways"),
        cash_doc(event_id=""),
        cash_doc(currency="usd"),
        cash_doc(currency="US"),
        cash_doc(customer_id=None),
    ],
    ids=[
        "bad-direction",
        "empty-event-id",
        "lowercase-currency",
        "short-currency",
        "null-customer",
    ],
)
def test_invalid_field_is_schema(decoder, doc):
    rejected(decoder.decode("cash", encode(doc)), "schema")


def test_remittance_payment_without_amount_is_schema(decoder):
    doc = {
        "event_id": "e",
        "txn_id": "t",
        "customer_id": "C",
        "direction": "out",
        "occurred_at": "2026-03-02T09:15:00Z",
        "kind": "payment",
    }
    rejected(decoder.decode("remittance", encode(doc)), "schema")


def test_remittance_supplement_without_amount_is_accepted(decoder):
    doc = {
        "event_id": "e",
        "txn_id": "t",
        "customer_id": "C",
        "direction": "out",
        "occurred_at": "2026-03-02T09:15:00Z",
        "kind": "supplement",
    }
    assert isinstance(decoder.decode("remittance", encode(doc)), Remittance)


@pytest.mark.parametrize(
    ("kind", "doc"),
    [
        ("cash", cash_doc(occurred_at="2026-03-02T09:15:00")),
        ("cash", cash_doc(occurred_at="2026-03-02 09:15:00")),
        ("account_opening", opening_doc(opened_at="2026-03-02T09:15:00")),
        (
            "customer_update",
            {
                "event_id": "e",
                "customer_id": "C",
                "updated_at": "2026-03-02T09:15:00",
                "changes": {},
            },
        ),
    ],
)
def test_timestamp_without_offset(decoder, kind, doc):
    rejected(decoder.decode(kind, encode(doc)), "timestamp_without_offset")


@pytest.mark.parametrize(
    "amount",
    [
        "-1",
        "-0.01",
        -50000,
        "0",
        0,
        "0.00",
        "abc",
        "",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "1e30",
    ],
)
def test_invalid_amount(decoder, amount):
    result = rejected(decoder.decode("cash", encode(cash_doc(amount=amount))), "invalid_amount")
    assert all(e.startswith("amount:") for e in result.errors)


def test_invalid_declared_income_is_invalid_amount(decoder):
    doc = opening_doc(declared_annual_income="-5", income_currency="CNY")
    rejected(decoder.decode("account_opening", encode(doc)), "invalid_amount")


@pytest.mark.parametrize("currency", ["XYZ", "AUD", "BTC"])
def test_unknown_currency(decoder, currency):
    result = rejected(
        decoder.decode("cash", encode(cash_doc(currency=currency))), "unknown_currency"
    )
    assert result.errors == [f"currency {currency} is not in the FX table"]


def test_unknown_income_currency(decoder):
    doc = opening_doc(declared_annual_income="100000", income_currency="XYZ")
    rejected(decoder.decode("account_opening", encode(doc)), "unknown_currency")


def test_value_over_max_bytes_is_too_large(pack):
    decoder = Decoder(pack.fx, max_bytes=200)
    value = encode(cash_doc(service="x" * 200))
    assert len(value) > 200
    result = rejected(decoder.decode("cash", value), "too_large")
    assert result.errors == [f"message of {len(value)} bytes > 200"]


def test_value_of_exactly_max_bytes_is_decoded(pack):
    value = encode(cash_doc())
    decoder = Decoder(pack.fx, max_bytes=len(value))
    assert isinstance(decoder.decode("cash", value), CashTransaction)
    assert isinstance(Decoder(pack.fx, max_bytes=len(value) - 1).decode("cash", value), Rejection)


def test_too_large_is_checked_before_parsing(pack):
    result = Decoder(pack.fx, max_bytes=10).decode("cash", b"not json at all")
    rejected(result, "too_large")


# --------------------------------------------------------------------------- no values in errors


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("account_opening", encode(opening_doc(customer_type=PERSON_ID_NUMBER))),
        ("account_opening", encode(opening_doc(opened_at=PERSON_ID_NUMBER))),
        ("account_opening", encode(opening_doc(opened_at="2026-03-02T09:15:00", name=SECRET_NAME))),
        (
            "account_opening",
            encode(
                opening_doc(
                    id_document={"number": PERSON_ID_NUMBER, "expires_on": PERSON_ID_NUMBER}
                )
            ),
        ),
        ("account_opening", encode(opening_doc(name=["not", "a", "string", SECRET_NAME]))),
        ("account_opening", encode(opening_doc(declared_annual_income=PERSON_ID_NUMBER + "x"))),
        ("cash", encode(cash_doc(amount=PERSON_ID_NUMBER + "abc"))),
        ("cash", encode(cash_doc(direction=SECRET_NAME))),
        ("cash", encode(cash_doc(currency="ZZZ", conductor={"name": SECRET_NAME}))),
        (
            "account_opening",
            b'{"name": "' + SECRET_NAME.encode() + b'", "id": "' + PERSON_ID_NUMBER.encode(),
        ),
        ("account_opening", b'{"name": "' + SECRET_NAME.encode() + b'" "id": 1}'),
        ("account_opening", b'{"name": "' + SECRET_NAME.encode() + b'\xff"}'),
        ("account_opening", b'["' + PERSON_ID_NUMBER.encode() + b'"]'),
    ],
)
def test_errors_never_contain_the_offending_values(decoder, kind, value):
    result = decoder.decode(kind, value)
    assert isinstance(result, Rejection)
    text = " ".join(result.errors)
    assert PERSON_ID_NUMBER not in text
    assert SECRET_NAME not in text
    assert "Secretname" not in text


def _update(changes: object) -> bytes:
    return orjson.dumps(
        {
            "event_id": "u-1",
            "customer_id": "C001",
            "updated_at": "2026-03-02T09:15:00+08:00",
            "changes": changes,
        }
    )


def test_an_update_keeps_its_changes_as_sent_and_typed_once(decoder):
    """The rules read `typed_changes` (validated once, at decoding) and `changes` (the keys
    the update names); both describe the same input."""
    from schemas import ProfileChanges

    changes = {
        "name": " Li Wei ",
        "is_pep": True,
        "birth_date": "1980-02-29",
        "beneficial_owners": [{"name": "Wang Fang", "share": "30"}],
    }
    update = decoder.decode("customer_update", _update(changes))
    assert isinstance(update, CustomerUpdate)
    assert update.changes == changes
    assert update.typed_changes == ProfileChanges.model_validate(changes)
    assert update.typed_changes is update.typed_changes
    assert update.typed_changes.name == "Li Wei"
    unvalidated = CustomerUpdate.model_construct(**update.model_dump())
    assert unvalidated.typed_changes == update.typed_changes


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"is_pep": "maybe"}, "changes.is_pep: "),
        ({"id_document": {"expires_on": "soon"}}, "changes.id_document.expires_on: "),
        ({"declared_annual_income": -1}, "changes.declared_annual_income: "),
        ({"income_currency": "yuan"}, "changes.income_currency: "),
        ({"customer_type": "alien"}, "changes.customer_type: "),
        ("name=Li", "changes: "),
    ],
)
def test_a_bad_change_rejects_the_update_at_its_place_under_changes(decoder, changes, error):
    result = decoder.decode("customer_update", _update(changes))
    assert isinstance(result, Rejection)
    assert result.reason == "schema"
    assert [e for e in result.errors if e.startswith(error)], result.errors
