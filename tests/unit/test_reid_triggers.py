"""Re-identification triggers of an entity (PBoC/NFRA/CSRC Order 2025 No.11: re-identify a
customer whose identity information changes; the seed's list: a change of name, identity
document type or number, registered capital, business scope, legal representative or
person in charge). The state keeps fingerprints of these values, never the values."""

from __future__ import annotations

import pytest

from .conftest import (
    LEGAL_REP_ID_NUMBER,
    LEGAL_REP_NAME,
    entity_opening_data,
    opening,
    prc_id,
    run,
    update,
)

NEW_REP = {
    "name": "Sun Li",
    "id_document": {
        "type": "resident_id",
        "number": prc_id("31010119750505002"),
        "expires_on": None,
    },
}


def _entity():
    return opening(entity_opening_data(customer_id="E-RE", event_id="o-E-RE"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"legal_representative": NEW_REP}, "legal_representative"),
        ({"registered_capital": "20000000"}, "registered_capital"),
        ({"business_scope": "retail of gold and silver jewellery"}, "business_scope"),
        ({"registration_number": "91110000100000001X"}, "registration_number"),
    ],
)
def test_order_2025_no11_entity_change_raises_profile_change(engine, changes, field):
    upd = update(changes, customer_id="E-RE", event_id="u-E-RE")
    result = run(engine, [_entity(), upd])
    (task,) = result.tasks
    assert task.trigger == "PROFILE_CHANGE"
    assert task.source_event_id == "u-E-RE"
    assert result.alerts == []


def test_order_2025_no11_several_entity_changes_raise_one_task(engine):
    upd = update(
        {"legal_representative": NEW_REP, "registered_capital": "1", "business_scope": "x"},
        customer_id="E-RE",
    )
    assert [t.trigger for t in run(engine, [_entity(), upd]).tasks] == ["PROFILE_CHANGE"]


@pytest.mark.parametrize(
    "changes",
    [
        {"registered_capital": "10000000.00"},  # the opening's 10000000, written otherwise
        {"registered_capital": 10000000},
        {"business_scope": "wholesale of electronic components"},
        {
            "legal_representative": {
                "name": LEGAL_REP_NAME,
                "id_document": {
                    "type": "resident_id",
                    "number": LEGAL_REP_ID_NUMBER,
                    "expires_on": None,
                },
            }
        },
    ],
    ids=["capital-text", "capital-number", "scope", "representative"],
)
def test_re_sending_the_same_entity_value_raises_nothing(engine, changes):
    upd = update(changes, customer_id="E-RE")
    assert run(engine, [_entity(), upd]).tasks == []


def test_the_state_keeps_fingerprints_of_entity_values_not_the_values(engine):
    upd = update(
        {"legal_representative": NEW_REP, "business_scope": "retail of gold jewellery"},
        customer_id="E-RE",
    )
    state = run(engine, [_entity(), upd]).states["E-RE"]
    raw = state.to_bytes().decode()
    for text in ("Sun Li", NEW_REP["id_document"]["number"], "gold jewellery", "20000000"):
        assert text not in raw
    fp = state.profile["fp"]
    assert {"legal_representative", "registered_capital", "business_scope"} <= set(fp)
    assert all(len(v) == 16 for v in fp.values())
