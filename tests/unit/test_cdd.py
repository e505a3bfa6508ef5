"""CDD_ONE_OFF and CDD_AGENT: customer due diligence on cash transactions from
CNY 50,000 / USD 10,000 equivalent.

- CDD_ONE_OFF: a one-off service (`account_id` null) without a complete, valid identity
  record of the person (opening seen, mandatory fields present, document not expired on
  the transaction's Shanghai day, identity number passing its check digit).
- CDD_AGENT: cash conducted by someone else (`conductor`) without both the conductor's
  (name, document type and number, not expired) and the customer's valid identity.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from monitor.core.engine import Engine

from .conftest import (
    PERSON_ID_NUMBER,
    bad_check_digit,
    cash,
    individual_opening_data,
    opening,
    run,
    update,
    without,
)

ONE_OFF = "CDD_ONE_OFF"
AGENT = "CDD_AGENT"

VALID_DOC = {"type": "resident_id", "number": "11010519491231002X", "expires_on": "2030-01-01"}
CONDUCTOR = {"name": "Wang Qiang", "id_document": VALID_DOC}


def one_off(amount: str = "50000.00", **kw):
    """A cash service for a person without an account here."""
    return cash(amount, account_id=None, service="cash_remittance", **kw)


def by_agent(amount: str = "50000.00", conductor: dict | None = None, **kw):
    return cash(amount, conductor=CONDUCTOR if conductor is None else conductor, **kw)


def gaps_in(summary: str) -> list[str]:
    return summary.rsplit(": ", 1)[1].split(", ")


def with_doc(**doc) -> dict:
    """The default opening with id_document fields replaced."""
    data = individual_opening_data()
    data["id_document"] = {**data["id_document"], **doc}
    return data


# =========================================================================== CDD_ONE_OFF


@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [
        ("49999.99", "CNY", False),
        ("50000.00", "CNY", True),
        ("50000.01", "CNY", True),
        ("9999.99", "USD", False),
        ("10000.00", "USD", True),
        # EUR is compared in USD: USD 10,000 = EUR 8,512.84... at the 2026 rates
        ("8512.84", "EUR", False),
        ("8512.85", "EUR", True),
    ],
)
def test_one_off_threshold_without_an_identity_record(engine, amount, currency, fires):
    result = run(engine, [one_off(amount, currency=currency)])
    assert len(result.by_rule(ONE_OFF)) == (1 if fires else 0)


def test_one_off_alert_fields(engine):
    event = one_off("50000.00", txn_id="TXN-OO-1", at="2026-03-02T10:00:00+08:00")
    (alert,) = run(engine, [event]).by_rule(ONE_OFF)
    assert alert.summary == (
        "one-off cash_remittance service TXN-OO-1 of 50000.00 CNY without a complete identity "
        "record: no identity record"
    )
    assert alert.category == "due_diligence"
    assert alert.queue == "due_diligence"
    assert alert.severity == "medium"
    assert alert.amount == Decimal("50000.00")
    assert alert.currency == "CNY"
    assert alert.evidence == ["TXN-OO-1"]


@pytest.mark.parametrize("amount", ["50000", "10000000"])
def test_account_transactions_are_not_one_off(engine, amount):
    # no opening seen, but the transaction is on an account: not a one-off service
    assert run(engine, [cash(amount)]).by_rule(ONE_OFF) == []


def test_one_off_with_a_complete_valid_identity_record_does_not_fire(engine):
    result = run(engine, [opening(), one_off("50000")])
    assert result.by_rule(ONE_OFF) == []


def test_one_off_cumulative_amounts_do_not_count(engine):
    # the rule is per service: two one-offs of CNY 25,000 are each below the threshold
    result = run(engine, [one_off("25000"), one_off("25000")])
    assert result.by_rule(ONE_OFF) == []


@pytest.mark.parametrize("path", ["phone", "occupation", "id_document", "id_document.number"])
def test_one_off_with_an_incomplete_identity_record_fires(engine, path):
    result = run(engine, [opening(without(individual_opening_data(), path)), one_off("50000")])
    (alert,) = result.by_rule(ONE_OFF)
    expected = {
        "phone": ["missing phone"],
        "occupation": ["missing occupation"],
        "id_document": ["missing id_document.type", "missing id_document.number"],
        "id_document.number": ["missing id_document.number"],
    }[path]
    assert gaps_in(alert.summary) == expected


@pytest.mark.parametrize(
    ("expires_on", "at", "fires"),
    [
        ("2026-03-01", "2026-03-02T10:00:00+08:00", True),  # expired the day before
        ("2026-03-02", "2026-03-02T23:59:59+08:00", False),  # valid through its last day
        ("2026-03-02", "2026-03-02T15:59:59Z", False),  # = 23:59:59 Shanghai on 2 March
        ("2026-03-02", "2026-03-02T16:00:00Z", True),  # = 00:00 Shanghai on 3 March
        ("2026-03-03", "2026-03-02T10:00:00+08:00", False),
    ],
)
def test_one_off_with_an_expired_document_fires(engine, expires_on, at, fires):
    setup = opening(with_doc(expires_on=expires_on), opened_at="2026-02-01T10:00:00+08:00")
    result = run(engine, [setup, one_off("50000", at=at)])
    alerts = result.by_rule(ONE_OFF)
    assert len(alerts) == (1 if fires else 0)
    if fires:
        assert gaps_in(alerts[0].summary) == ["identity document expired"]


def test_one_off_with_a_long_term_document_does_not_fire(engine):
    result = run(engine, [opening(with_doc(expires_on=None)), one_off("50000")])
    assert result.by_rule(ONE_OFF) == []


def test_one_off_with_an_identity_number_failing_its_check_digit_fires(engine):
    setup = opening(with_doc(number=bad_check_digit(PERSON_ID_NUMBER)))
    (alert,) = run(engine, [setup, one_off("50000")]).by_rule(ONE_OFF)
    assert gaps_in(alert.summary) == ["identity number fails its check digit"]


def test_one_off_after_the_record_is_completed_does_not_fire(engine):
    result = run(
        engine,
        [
            opening(without(individual_opening_data(), "phone")),
            one_off("50000", at="2026-03-03T10:00:00+08:00"),
            update({"phone": "+86 10 8888 0000"}, at="2026-03-04T10:00:00+08:00"),
            one_off("50000", at="2026-03-05T10:00:00+08:00"),
        ],
    )
    assert [sum(a.rule_id == ONE_OFF for a in o.findings.alerts) for o in result.outcomes] == [
        0,
        1,
        0,
        0,
    ]


def test_one_off_alert_id_is_per_transaction(pack):
    first = run(Engine(pack), [one_off("50000", txn_id="T-1")]).by_rule(ONE_OFF)
    again = run(Engine(pack), [one_off("50000", txn_id="T-1")]).by_rule(ONE_OFF)
    other = run(Engine(pack), [one_off("50000", txn_id="T-2")]).by_rule(ONE_OFF)
    assert first[0].alert_id == again[0].alert_id != other[0].alert_id


# =========================================================================== CDD_AGENT


def test_agent_with_both_identities_complete_does_not_fire(engine):
    result = run(engine, [opening(), by_agent("50000")])
    assert result.by_rule(AGENT) == []


def test_no_conductor_never_fires(engine):
    result = run(engine, [cash("10000000", conductor=None)])  # no opening either
    assert result.by_rule(AGENT) == []


@pytest.mark.parametrize(
    ("amount", "currency", "fires"),
    [
        ("49999.99", "CNY", False),
        ("50000.00", "CNY", True),
        ("9999.99", "USD", False),
        ("10000.00", "USD", True),
        ("8512.84", "EUR", False),
        ("8512.85", "EUR", True),
    ],
)
def test_agent_threshold(engine, amount, currency, fires):
    event = by_agent(amount, currency=currency, conductor={"name": "Wang Qiang"})
    result = run(engine, [opening(), event])
    assert len(result.by_rule(AGENT)) == (1 if fires else 0)


@pytest.mark.parametrize(
    ("conductor", "gaps"),
    [
        ({"name": "Wang Qiang"}, ["conductor id_document"]),
        ({"name": "Wang Qiang", "id_document": None}, ["conductor id_document"]),
        ({"name": "", "id_document": VALID_DOC}, ["conductor name"]),
        ({"id_document": VALID_DOC}, ["conductor name"]),
        (
            {"name": "Wang Qiang", "id_document": {"type": "resident_id", "number": ""}},
            ["conductor id_document"],
        ),
        (
            {"name": "Wang Qiang", "id_document": {"type": "", "number": "11010519491231002X"}},
            ["conductor id_document"],
        ),
        (
            {"name": "Wang Qiang", "id_document": {**VALID_DOC, "expires_on": "2026-03-01"}},
            ["conductor id_document expired"],
        ),
        ({}, ["conductor name", "conductor id_document"]),
    ],
    ids=[
        "no-document",
        "null-document",
        "blank-name",
        "no-name",
        "blank-number",
        "blank-type",
        "expired",
        "nothing",
    ],
)
def test_agent_without_the_conductor_identity_fires(engine, conductor, gaps):
    event = by_agent("50000", conductor=conductor, at="2026-03-02T10:00:00+08:00")
    (alert,) = run(engine, [opening(), event]).by_rule(AGENT)
    assert gaps_in(alert.summary) == gaps


def test_agent_conductor_document_expiring_on_the_transaction_day_is_valid(engine):
    conductor = {"name": "Wang Qiang", "id_document": {**VALID_DOC, "expires_on": "2026-03-02"}}
    event = by_agent("50000", conductor=conductor, at="2026-03-02T15:59:59Z")  # 23:59:59
    assert run(engine, [opening(), event]).by_rule(AGENT) == []


def test_agent_with_an_incomplete_customer_identity_fires(engine):
    setup = opening(without(individual_opening_data(), "phone"))
    (alert,) = run(engine, [setup, by_agent("50000")]).by_rule(AGENT)
    assert gaps_in(alert.summary) == ["customer missing phone"]


def test_agent_for_an_unknown_customer_fires(engine):
    (alert,) = run(engine, [by_agent("50000")]).by_rule(AGENT)
    assert gaps_in(alert.summary) == ["customer no identity record"]


def test_agent_with_an_expired_customer_document_fires(engine):
    setup = opening(with_doc(expires_on="2026-03-01"), opened_at="2026-02-01T10:00:00+08:00")
    result = run(engine, [setup, by_agent("50000", at="2026-03-02T10:00:00+08:00")])
    (alert,) = result.by_rule(AGENT)
    assert gaps_in(alert.summary) == ["customer identity document expired"]


def test_agent_with_both_identities_missing_lists_both(engine):
    event = by_agent("50000", conductor={"name": "Wang Qiang"})
    (alert,) = run(engine, [event]).by_rule(AGENT)
    assert gaps_in(alert.summary) == ["conductor id_document", "customer no identity record"]


def test_agent_alert_fields(engine):
    event = by_agent("50000.00", conductor={"name": "Wang Qiang"}, txn_id="TXN-AG-1")
    (alert,) = run(engine, [opening(), event]).by_rule(AGENT)
    assert alert.summary == (
        "cash TXN-AG-1 of 50000.00 CNY conducted by an agent without verified identities: "
        "conductor id_document"
    )
    assert alert.category == "due_diligence"
    assert alert.severity == "medium"
    assert alert.amount == Decimal("50000.00")
    assert alert.currency == "CNY"
    assert alert.evidence == ["TXN-AG-1"]
    assert "Wang Qiang" not in alert.model_dump_json()


@pytest.mark.parametrize("direction", ["in", "out"])
def test_agent_applies_to_both_directions(engine, direction):
    event = by_agent("50000", conductor={"name": "Wang Qiang"}, direction=direction)
    assert len(run(engine, [opening(), event]).by_rule(AGENT)) == 1


def test_one_off_by_an_agent_raises_both(engine):
    event = one_off("50000", conductor={"name": "Wang Qiang"}, txn_id="TXN-B-1")
    result = run(engine, [event])
    assert [a.rule_id for a in result.alerts if a.rule_id.startswith("CDD")] == [ONE_OFF, AGENT]
