"""The state record's layout: a profile keeps its present identity paths as a bit set and
no fingerprint of an absent value, empty parts are left out; a record written in the earlier
layout loads and decides exactly as before."""

from __future__ import annotations

from typing import Any, get_args, get_origin

import orjson
import pytest
from pydantic import BaseModel

from monitor.core.profile import WATCHED_FIELDS, identity_paths, model_paths, present_paths
from monitor.core.profile_layout import NONE_FINGERPRINT, PRESENCE_PATHS, set_present
from monitor.core.state import CustomerState
from schemas import AccountOpening, ProfileChanges

from .conftest import (
    LEGAL_REP_ID_NUMBER,
    LEGAL_REP_NAME,
    PERSON_NAME,
    entity_opening_data,
    individual_opening_data,
    make_engine,
    opening,
    run,
    transfer,
    update,
)

# Written by the previous version (main at f51a780) after the three events of `_before()`.
OLD_INDIVIDUAL = (
    b'{"c":"C001","w":1772676000000,"p":{"type":"individual","opened_at":"2026-03-02T10:00:00+'
    b'08:00","t0":1772416800000,"id_exp":"2035-01-01","id_valid":true,"id_birth":"1990-03-07",'
    b'"id_sex":"M","sex":"M","pep":false,"nationality":"CN","address_country":"CN","income":"3'
    b'00000","bo_pep":false,"bo":[],"present":["account_id","address","address_country","branc'
    b'h_code","customer_id","customer_type","declared_annual_income","event_id","gender","id_d'
    b'ocument","id_document.expires_on","id_document.number","id_document.type","income_curren'
    b'cy","is_pep","name","nationality","occupation","opened_at","phone"],"fp":{"name":"ff3285'
    b'10f2730334","id_document":"bf700d7adab84d4b","address":"21e41d4a8d3cb2df","occupation":"'
    b'de10874b8e939b0f","nationality":"e7e878da03503b71","beneficial_owners":"4f53cda18c2baa0c'
    b'","registration_number":"74234e98afe7498f","registered_capital":"74234e98afe7498f","busi'
    b'ness_scope":"74234e98afe7498f","legal_representative":"74234e98afe7498f"},"ft":{"nationa'
    b'lity":1772676000000,"address_country":1772676000000}},"b":{},"v":{},"q":{},"f":{},"r":{"'
    b'rating":"low","factors":[],"next_review":"2028-03-02","changes":1,"due_ms":1835625600000'
    b'},"s":{"open-C001":1772416800000,"upd-C001":1772676000000},"d":739680}'
)
OLD_ENTITY = (
    b'{"c":"E001","w":1772416800000,"p":{"type":"entity","opened_at":"2026-03-02T10:00:00+08:0'
    b'0","t0":1772416800000,"id_exp":null,"sex":null,"pep":false,"nationality":null,"address_c'
    b'ountry":null,"income":null,"bo_pep":false,"bo":[{"pct":"60","identified":true}],"present'
    b'":["account_id","address","beneficial_owners","branch_code","business_scope","customer_i'
    b'd","customer_type","event_id","is_pep","legal_representative","legal_representative.id_d'
    b'ocument","legal_representative.id_document.number","legal_representative.id_document.typ'
    b'e","legal_representative.name","name","opened_at","registered_capital","registration_num'
    b'ber"],"fp":{"name":"f602fd06c220ceec","id_document":"74234e98afe7498f","address":"038495'
    b'55a84f7758","occupation":"74234e98afe7498f","nationality":"74234e98afe7498f","beneficial'
    b'_owners":"91098869b9c68f09","registration_number":"a13146e1e30ab8ba","registered_capital'
    b'":"a1afe62b63ae80c6","business_scope":"12905ad06b2b0f5f","legal_representative":"c1ec3f4'
    b'9a5ed2f0e"}},"b":{},"v":{},"q":{},"f":{},"r":{"rating":"low","factors":[],"next_review":'
    b'"2028-03-02","changes":1,"due_ms":1835625600000},"s":{"open-E001":1772416800000},"d":739'
    b"677}"
)


def _before() -> list[Any]:
    return [
        opening(individual_opening_data(event_id="open-C001")),
        update(
            {"nationality": "cn", "address_country": "CN"},
            event_id="upd-C001",
            at="2026-03-05T10:00:00+08:00",
        ),
        opening(entity_opening_data(event_id="open-E001")),
    ]


def _after() -> list[Any]:
    rep = {
        "name": LEGAL_REP_NAME,
        "id_document": {"type": "resident_id", "number": LEGAL_REP_ID_NUMBER, "expires_on": None},
    }
    return [
        update({"name": PERSON_NAME}, event_id="u1", at="2026-03-10T10:00:00+08:00"),  # same
        update({"registration_number": None}, event_id="u2", at="2026-03-11T10:00:00+08:00"),
        update({"phone": ""}, event_id="u3", at="2026-03-12T10:00:00+08:00"),  # now missing
        update({"address": "2 New Road, Beijing"}, event_id="u4", at="2026-03-13T10:00:00+08:00"),
        # idle since the opening (DORMANT_REACTIVATION counts from it)
        transfer("150000.00", direction="out", at="2026-10-01T10:00:00+08:00", txn_id="T1"),
        transfer("150000.00", direction="out", at="2026-10-02T10:00:00+08:00", txn_id="T2"),
        transfer("1000.00", direction="out", at="2026-10-20T10:00:00+08:00", txn_id="T3"),
        update({"registered_capital": "10000000.00"}, customer_id="E001", event_id="e1"),
        update({"legal_representative": rep}, customer_id="E001", event_id="e2"),
        update({"id_document": None, "occupation": None}, customer_id="E001", event_id="e3"),
        update(
            {"business_scope": "retail of gold jewellery"},
            customer_id="E001",
            event_id="e4",
            at="2026-03-12T10:00:00+08:00",
        ),
    ]


def _findings(states: dict[str, CustomerState]) -> list[dict[str, Any]]:
    result = run(make_engine(), _after(), states=states)
    return [x.model_dump(mode="json") for x in [*result.alerts, *result.tasks]]


def test_an_old_record_loads_into_the_new_layout():
    old = orjson.loads(OLD_INDIVIDUAL)["p"]
    profile = CustomerState.from_bytes(OLD_INDIVIDUAL).profile
    assert profile is not None
    assert "present" not in profile and "opened_at" not in profile
    assert present_paths(profile) == set(old["present"])
    assert profile["fp"] == {k: v for k, v in old["fp"].items() if v != NONE_FINGERPRINT}
    assert profile["t0"] == old["t0"]
    entity = CustomerState.from_bytes(OLD_ENTITY).profile
    assert entity is not None
    assert present_paths(entity) == set(orjson.loads(OLD_ENTITY)["p"]["present"])
    assert set(entity["fp"]) == set(WATCHED_FIELDS) - {"id_document", "occupation", "nationality"}


def test_old_records_decide_as_records_of_this_version():
    fresh = run(make_engine(), _before()).states
    old = {"C001": OLD_INDIVIDUAL, "E001": OLD_ENTITY}
    loaded = {cid: CustomerState.from_bytes(raw) for cid, raw in old.items()}
    assert loaded == {cid: CustomerState.from_bytes(s.to_bytes()) for cid, s in fresh.items()}
    found = _findings(loaded)
    assert found == _findings(fresh)
    # what the previous version decided from the same records
    assert [(f.get("rule_id") or f["trigger"], f["customer_id"]) for f in found] == [
        ("KYC_INCOMPLETE", "C001"),  # u3 takes the phone away
        ("KYC_INCOMPLETE", "C001"),  # u4 touches a mandatory field: checked again
        ("DORMANT_REACTIVATION", "C001"),
        ("INCOMPLETE_KYC", "C001"),
        ("INCOMPLETE_KYC", "C001"),
        ("PROFILE_CHANGE", "C001"),  # u4, the address; not u1 (same name) nor u2 (null)
        ("PROFILE_CHANGE", "E001"),  # e4, the business scope; not e1 to e3 (same values)
    ]


def test_a_field_watched_after_the_record_was_written_raises_once():
    """An old profile without a field's fingerprint: its first update raises
    PROFILE_CHANGE even with the same value (docs/rules.md), the next does not."""
    record = orjson.loads(OLD_INDIVIDUAL)
    del record["p"]["fp"]["name"]
    states = {"C001": CustomerState.from_bytes(orjson.dumps(record))}
    again = [update({"name": PERSON_NAME}, event_id=f"n{i}") for i in range(2)]
    outcomes = run(make_engine(), again, states=states).outcomes
    assert [[t.trigger for t in o.findings.tasks] for o in outcomes] == [["PROFILE_CHANGE"], []]


def test_a_new_record_keeps_no_absent_value_and_round_trips():
    state = run(make_engine(), _before()).states["C001"]
    profile = state.profile
    assert profile is not None
    assert NONE_FINGERPRINT not in profile["fp"].values()
    assert None not in profile.values()
    raw = state.to_bytes()
    assert b'"q"' not in raw and b'"e"' not in raw  # left out when empty
    assert CustomerState.from_bytes(raw) == state
    assert CustomerState.from_bytes(raw).to_bytes() == raw
    assert CustomerState.from_bytes(CustomerState("X").to_bytes()) == CustomerState("X")


def test_a_value_set_to_null_drops_its_fingerprint_and_raises():
    states = run(make_engine(), _before()).states
    result = run(make_engine(), [update({"occupation": None}, event_id="n1")], states=states)
    assert "PROFILE_CHANGE" in [t.trigger for t in result.tasks]
    profile = states["C001"].profile
    assert profile is not None and "occupation" not in profile["fp"]


def test_a_path_outside_the_table_is_kept_by_name():
    profile: dict[str, Any] = {}
    set_present(profile, ["name", "extra.path"])
    assert profile["px"] == ["extra.path"]
    assert present_paths(profile) == {"name", "extra.path"}
    set_present(profile, ["name"])
    assert "px" not in profile and present_paths(profile) == {"name"}


def _schema_paths(model: type[Any], prefix: str = "") -> set[str]:
    paths = set()
    for name, info in model.model_fields.items():
        paths.add(prefix + name)
        if get_origin(info.annotation) is list:  # a list is present or not, as a whole
            continue
        for arg in (info.annotation, *get_args(info.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                paths |= _schema_paths(arg, f"{prefix}{name}.")
    return paths


@pytest.mark.parametrize("model", [AccountOpening, ProfileChanges])
def test_the_presence_table_holds_every_path_of_the_schemas(model):
    """A new field of the schemas: append its paths to PRESENCE_PATHS (never reorder)."""
    assert _schema_paths(model) - set(PRESENCE_PATHS) == set()


def test_the_presence_table_only_grows():
    """Stored records depend on the positions of the paths."""
    assert PRESENCE_PATHS[:37] == (
        *("event_id", "customer_id", "account_id", "opened_at", "customer_type", "name"),
        *("gender", "nationality", "occupation", "address", "phone", "id_document"),
        *("id_document.type", "id_document.number", "id_document.expires_on"),
        *("declared_annual_income", "income_currency", "is_pep", "registration_number"),
        *("business_scope", "registered_capital", "legal_representative"),
        "legal_representative.name",
        "legal_representative.id_document",
        "legal_representative.id_document.type",
        "legal_representative.id_document.number",
        "legal_representative.id_document.expires_on",
        *("beneficial_owners", "agent", "agent.name", "agent.id_document"),
        *("agent.id_document.type", "agent.id_document.number", "agent.id_document.expires_on"),
        *("branch_code", "address_country", "birth_date"),
    )


def test_paths_of_an_opening_fit_the_table():
    event = opening(entity_opening_data())
    assert set(model_paths(event)) <= set(PRESENCE_PATHS)
    assert set(identity_paths(event.model_dump(mode="json"))) <= set(PRESENCE_PATHS)
