"""REMIT_MISSING_INFO: a cross-border remittance missing required originator/beneficiary
fields (outbound from CNY 5,000 / USD 1,000; inbound at any amount)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from monitor.core.engine import Engine

from .conftest import (
    BENEFICIARY_ACCOUNT,
    BENEFICIARY_NAME,
    ORIGINATOR_ACCOUNT,
    ORIGINATOR_ID_NUMBER,
    ORIGINATOR_NAME,
    complete_beneficiary,
    complete_originator,
    remittance,
    run,
)

RULE = "REMIT_MISSING_INFO"
NO_ACCOUNT = {"account_number": None}


def missing_in(summary: str) -> list[str]:
    prefix = "lacks required fields: "
    assert prefix in summary
    return summary.split(prefix, 1)[1].split(", ")


# --------------------------------------------------------------------------- required fields

BLANKS = [None, "", "   ", "\t\n"]


@pytest.mark.parametrize("blank", BLANKS, ids=["absent", "empty", "spaces", "tab-newline"])
@pytest.mark.parametrize(
    ("party", "key", "expected"),
    [
        ("originator", "name", ["originator.name"]),
        ("originator", "address", ["originator.address"]),
        ("beneficiary", "name", ["beneficiary.name"]),
    ],
)
def test_mandatory_party_field_missing_fires(engine, party, key, expected, blank):
    event = remittance(**{party: {key: blank} if blank is not None else {key: None}})
    (alert,) = run(engine, [event]).alerts
    assert alert.rule_id == RULE
    assert missing_in(alert.summary) == expected


@pytest.mark.parametrize("blank", BLANKS, ids=["absent", "empty", "spaces", "tab-newline"])
def test_blank_reference_alone_is_not_missing_when_both_accounts_are_present(engine, blank):
    assert run(engine, [remittance(reference=blank)]).alerts == []


def test_no_originator_account_but_id_number_contact_and_reference_is_complete(engine):
    assert run(engine, [remittance(originator=NO_ACCOUNT)]).alerts == []


@pytest.mark.parametrize("blank", BLANKS, ids=["absent", "empty", "spaces", "tab-newline"])
@pytest.mark.parametrize(
    ("originator", "reference_missing", "expected"),
    [
        ({"id_number": "BLANK"}, False, ["originator.account_number", "originator.id_number"]),
        ({"contact": "BLANK"}, False, ["originator.account_number", "originator.contact"]),
        ({}, True, ["originator.account_number", "reference"]),
        (
            {"id_number": "BLANK", "contact": "BLANK"},
            True,
            [
                "originator.account_number",
                "originator.id_number",
                "originator.contact",
                "reference",
            ],
        ),
    ],
    ids=["no-id-number", "no-contact", "no-reference", "none-of-them"],
)
def test_no_originator_account_needs_id_number_contact_and_reference(
    engine, blank, originator, reference_missing, expected
):
    overrides = {k: blank for k in originator} | {"account_number": blank}
    event = remittance(originator=overrides, reference=blank if reference_missing else "REF-1")
    (alert,) = run(engine, [event]).alerts
    assert missing_in(alert.summary) == expected


@pytest.mark.parametrize("blank", BLANKS, ids=["absent", "empty", "spaces", "tab-newline"])
def test_blank_originator_account_counts_as_missing(engine, blank):
    event = remittance(originator={"account_number": blank, "id_number": None})
    (alert,) = run(engine, [event]).alerts
    assert missing_in(alert.summary) == ["originator.account_number", "originator.id_number"]


def test_no_beneficiary_account_but_reference_is_complete(engine):
    assert run(engine, [remittance(beneficiary=NO_ACCOUNT, reference="REF-1")]).alerts == []


@pytest.mark.parametrize("blank", BLANKS, ids=["absent", "empty", "spaces", "tab-newline"])
def test_no_beneficiary_account_and_no_reference_fires(engine, blank):
    event = remittance(beneficiary={"account_number": blank}, reference=blank)
    (alert,) = run(engine, [event]).alerts
    assert missing_in(alert.summary) == ["beneficiary.account_number", "reference"]


def test_no_accounts_and_no_reference_lists_reference_once(engine):
    event = remittance(originator=NO_ACCOUNT, beneficiary=NO_ACCOUNT, reference=None)
    (alert,) = run(engine, [event]).alerts
    assert missing_in(alert.summary) == [
        "originator.account_number",
        "reference",
        "beneficiary.account_number",
    ]


def test_no_originator_at_all(engine):
    event = remittance().model_copy(update={"originator": None})
    (alert,) = run(engine, [event]).alerts
    assert missing_in(alert.summary) == [
        "originator.name",
        "originator.address",
        "originator.account_number",
        "originator.id_number",
        "originator.contact",
    ]


def test_no_beneficiary_at_all_with_reference(engine):
    event = remittance(reference="REF-1").model_copy(update={"beneficiary": None})
    (alert,) = run(engine, [event]).alerts
    assert missing_in(alert.summary) == ["beneficiary.name"]


def test_optional_fields_missing_is_complete(engine):
    # Country and addresses of the beneficiary are not required by the rule.
    event = remittance(
        originator={"country": None},
        beneficiary={"address": "", "country": None},
        source_of_funds=None,
        counterparty_country=None,
    )
    assert run(engine, [event]).alerts == []


# --------------------------------------------------------------------------- amounts in scope

INCOMPLETE = {"name": ""}  # beneficiary name missing


@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [
        ("4999.99", "CNY", False),
        ("5000.00", "CNY", True),
        ("5000", "CNY", True),
        ("999.99", "USD", False),
        ("1000.00", "USD", True),
        # EUR through the dated table: USD 1,000 = EUR 851.2844... on 2026-03-02
        ("851.28", "EUR", False),
        ("851.29", "EUR", True),
    ],
)
def test_outbound_threshold(engine, amount, currency, fires):
    event = remittance(amount, currency=currency, direction="out", beneficiary=INCOMPLETE)
    assert len(run(engine, [event]).alerts) == (1 if fires else 0)


@pytest.mark.parametrize(
    ("amount", "currency"), [("1", "CNY"), ("0.01", "CNY"), ("0.01", "USD"), ("1", "JPY")]
)
def test_inbound_any_amount_fires(engine, amount, currency):
    event = remittance(amount, currency=currency, direction="in", beneficiary=INCOMPLETE)
    (alert,) = run(engine, [event]).alerts
    assert alert.amount == Decimal(amount)
    assert alert.currency == currency


# --------------------------------------------------------------------------- never fires


@pytest.mark.parametrize("direction", ["in", "out"])
@pytest.mark.parametrize(
    ("amount", "currency"), [("1", "CNY"), ("10000000", "CNY"), ("50000", "USD")]
)
def test_complete_remittance_never_fires(engine, direction, amount, currency):
    # (CNY 10,000,000 and USD 50,000 are large-value reports: LV_XBORDER_INDIVIDUAL, not this rule)
    result = run(engine, [remittance(amount, currency=currency, direction=direction)])
    assert [a.rule_id for a in result.alerts if a.rule_id.startswith("REMIT")] == []
    assert result.tasks == []
    assert result.states["C001"].pending == {}


@pytest.mark.parametrize("direction", ["in", "out"])
def test_supplement_never_fires(engine, direction):
    event = remittance(
        "100000",
        kind="supplement",
        direction=direction,
        originator={"name": "", "address": None},
        beneficiary={"name": None},
    )
    assert run(engine, [event]).alerts == []


def test_supplement_without_amount_never_fires(engine):
    event = remittance(None, currency=None, kind="supplement", originator={"name": None})
    assert run(engine, [event]).alerts == []


# --------------------------------------------------------------------------- alert content


def test_alert_fields(engine):
    event = remittance(
        "20000.00", txn_id="RMT-42", at="2026-03-06T10:00:00+08:00", beneficiary={"name": ""}
    )
    (alert,) = run(engine, [event]).alerts
    assert alert.summary == (
        "outbound cross-border remittance RMT-42 of 20000.00 CNY lacks required fields: "
        "beneficiary.name"
    )
    assert alert.category == "due_diligence"
    assert alert.queue == "due_diligence"
    assert alert.severity == "medium"
    assert alert.amount == Decimal("20000.00")
    assert alert.currency == "CNY"
    assert alert.evidence == ["RMT-42"]
    assert alert.report_due == date(2026, 3, 13)
    assert alert.window_start is None and alert.window_end is None


def test_inbound_summary_says_inbound(engine):
    event = remittance("1", txn_id="RMT-7", direction="in", originator={"address": ""})
    (alert,) = run(engine, [event]).alerts
    assert alert.summary.startswith("inbound cross-border remittance RMT-7 of 1 CNY")


def test_summary_and_alert_never_contain_identity_values(engine):
    event = remittance(
        originator={"address": ""},
        beneficiary={"account_number": None},
        reference=None,
    )
    (alert,) = run(engine, [event]).alerts
    assert missing_in(alert.summary) == [
        "originator.address",
        "beneficiary.account_number",
        "reference",
    ]
    serialized = alert.model_dump_json()
    values = [
        ORIGINATOR_NAME,
        ORIGINATOR_ACCOUNT,
        ORIGINATOR_ID_NUMBER,
        complete_originator()["contact"],
        BENEFICIARY_NAME,
        complete_beneficiary()["address"],
    ]
    for value in values:
        assert value not in alert.summary
        assert value not in serialized
    assert BENEFICIARY_ACCOUNT not in serialized


def test_alert_id_is_deterministic_per_transaction(pack):
    event = remittance(txn_id="RMT-1", beneficiary={"name": ""})
    first = run(Engine(pack), [event]).alerts
    second = run(Engine(pack), [event]).alerts
    other = run(Engine(pack), [remittance(txn_id="RMT-2", beneficiary={"name": ""})]).alerts
    assert first[0].alert_id == second[0].alert_id
    assert first[0].alert_id != other[0].alert_id


def test_redelivered_remittance_fires_once(engine):
    event = remittance(event_id="evt-r", beneficiary={"name": ""})
    result = run(engine, [event, event])
    assert len(result.alerts) == 1
    assert [o.duplicate for o in result.outcomes] == [False, True]
