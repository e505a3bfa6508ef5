"""KYC_INCOMPLETE: an opening or an identity update leaving mandatory fields missing raises
an alert and an INCOMPLETE_KYC re-identification task."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.core.engine import Engine
from monitor.core.profile import present_paths

from .conftest import (
    DETECTED_AT,
    LEGAL_REP_ID_NUMBER,
    LEGAL_REP_NAME,
    PERSON_ADDRESS,
    PERSON_ID_NUMBER,
    PERSON_NAME,
    PERSON_PHONE,
    entity_opening_data,
    individual_opening_data,
    make_pack,
    opening,
    run,
    update,
    without,
)

RULE = "KYC_INCOMPLETE"
_PACK = make_pack()
_KYC = _PACK.config.rules.KYC_INCOMPLETE
_TASK = _PACK.config.tasks["INCOMPLETE_KYC"]
INDIVIDUAL_FIELDS = list(_KYC.individual_fields)
ENTITY_FIELDS = list(_KYC.entity_fields)


def test_pack_mandatory_fields_are_those_of_the_contract():
    assert INDIVIDUAL_FIELDS == [
        "name",
        "gender",
        "nationality",
        "occupation",
        "address",
        "phone",
        "id_document.type",
        "id_document.number",
    ]
    assert ENTITY_FIELDS == [
        "name",
        "registration_number",
        "business_scope",
        "address",
        "legal_representative.name",
        "legal_representative.id_document.type",
        "legal_representative.id_document.number",
    ]


def missing_in(summary: str) -> list[str]:
    return summary.split("mandatory identity fields missing: ", 1)[1].split(", ")


# --------------------------------------------------------------------------- openings


def test_complete_individual_opening_raises_nothing(engine):
    result = run(engine, [opening()])
    assert result.alerts == []
    assert result.tasks == []


def test_complete_entity_opening_raises_nothing(engine):
    result = run(engine, [opening(entity_opening_data())])
    assert result.alerts == []
    assert result.tasks == []


@pytest.mark.parametrize("path", INDIVIDUAL_FIELDS)
def test_individual_opening_missing_a_mandatory_field_fires(engine, path):
    event = opening(without(individual_opening_data(), path))
    result = run(engine, [event])
    (alert,) = result.alerts
    (task,) = result.tasks
    assert alert.rule_id == RULE
    assert missing_in(alert.summary) == [path]
    assert alert.evidence == [event.event_id]
    assert task.trigger == "INCOMPLETE_KYC"
    assert task.alert_ids == [alert.alert_id]
    assert task.source_event_id == event.event_id
    assert task.customer_id == event.customer_id


@pytest.mark.parametrize("blank", ["", "   "], ids=["empty", "spaces"])
@pytest.mark.parametrize("field", ["name", "phone", "address"])
def test_blank_mandatory_field_counts_as_missing(engine, field, blank):
    (alert,) = run(engine, [opening(**{field: blank})]).alerts
    assert missing_in(alert.summary) == [field]


def test_missing_id_document_lists_both_document_fields(engine):
    (alert,) = run(engine, [opening(without(individual_opening_data(), "id_document"))]).alerts
    assert missing_in(alert.summary) == ["id_document.type", "id_document.number"]


def test_several_missing_fields_in_pack_order(engine):
    data = without(without(individual_opening_data(), "phone"), "gender")
    (alert,) = run(engine, [opening(data)]).alerts
    assert missing_in(alert.summary) == ["gender", "phone"]


def test_alert_and_task_fields(engine):
    event = opening(
        without(individual_opening_data(event_id="evt-open-1"), "occupation"),
        opened_at="2026-03-02T10:00:00+08:00",
    )
    result = run(engine, [event])
    (alert,) = result.alerts
    (task,) = result.tasks
    assert alert.summary == (
        "account opening evt-open-1 leaves mandatory identity fields missing: occupation"
    )
    assert alert.category == "due_diligence"
    assert alert.queue == "due_diligence"
    assert alert.severity == "medium"
    assert alert.detected_at == DETECTED_AT
    assert alert.amount is None and alert.currency is None
    assert alert.report_due == date(2026, 3, 9)
    assert task.measures == list(_TASK.measures)
    assert task.due_by == date(2026, 3, 16)  # Mon 2 March + 10 working days


@pytest.mark.parametrize(
    ("at", "due_by"),
    [
        ("2026-03-02T10:00:00+08:00", date(2026, 3, 16)),
        # 17:00Z Thursday 5 March = 01:00 Friday 6 March in Shanghai: counts from Friday
        ("2026-03-05T17:00:00Z", date(2026, 3, 20)),
        # Wed 30 Sep 2026: Oct 8, 9, 10 (make-up Saturday), 12, 13, 14, 15, 16, 19, 20
        ("2026-09-30T10:00:00+08:00", date(2026, 10, 20)),
    ],
)
def test_task_due_by_is_ten_prc_working_days_later(engine, at, due_by):
    event = opening(without(individual_opening_data(), "phone"), opened_at=at)
    (task,) = run(engine, [event]).tasks
    assert task.due_by == due_by


def test_alert_and_task_ids_are_deterministic(pack):
    event = opening(without(individual_opening_data(event_id="evt-open-x"), "phone"))
    first = run(Engine(pack), [event])
    second = run(Engine(pack), [event])
    assert first.alerts[0].alert_id == second.alerts[0].alert_id
    assert first.tasks[0].task_id == second.tasks[0].task_id
    assert first.alerts[0].alert_id != first.tasks[0].task_id


@pytest.mark.parametrize(
    "path",
    ["legal_representative", "legal_representative.name", "legal_representative.id_document"],
)
def test_entity_opening_missing_legal_representative_fields_fires(engine, path):
    result = run(engine, [opening(without(entity_opening_data(), path))])
    (alert,) = result.alerts
    (task,) = result.tasks
    expected = {
        "legal_representative": [
            "legal_representative.name",
            "legal_representative.id_document.type",
            "legal_representative.id_document.number",
        ],
        "legal_representative.name": ["legal_representative.name"],
        "legal_representative.id_document": [
            "legal_representative.id_document.type",
            "legal_representative.id_document.number",
        ],
    }[path]
    assert missing_in(alert.summary) == expected
    assert task.trigger == "INCOMPLETE_KYC"
    assert task.alert_ids == [alert.alert_id]


@pytest.mark.parametrize("path", ENTITY_FIELDS)
def test_entity_opening_missing_a_mandatory_field_fires(engine, path):
    (alert,) = run(engine, [opening(without(entity_opening_data(), path))]).alerts
    assert missing_in(alert.summary) == [path]


def test_entity_does_not_need_individual_fields(engine):
    data = entity_opening_data()
    assert "gender" not in data and "phone" not in data and "id_document" not in data
    assert run(engine, [opening(data)]).alerts == []


# --------------------------------------------------------------------------- updates


def test_update_blanking_a_mandatory_field_fires(engine):
    upd = update({"phone": ""}, event_id="evt-upd-1", at="2026-03-09T10:00:00+08:00")
    result = run(engine, [opening(), upd])
    (alert,) = result.alerts
    (task,) = result.tasks
    assert result.outcomes[1].findings.alerts == [alert]
    assert alert.summary == (
        "customer update evt-upd-1 leaves mandatory identity fields missing: phone"
    )
    assert alert.evidence == ["evt-upd-1"]
    assert task.trigger == "INCOMPLETE_KYC"
    assert task.alert_ids == [alert.alert_id]
    assert task.source_event_id == "evt-upd-1"
    assert task.due_by == date(2026, 3, 23)  # Mon 9 March + 10 working days


@pytest.mark.parametrize("value", [None, "", "  "], ids=["null", "empty", "spaces"])
def test_update_blanking_name_fires(engine, value):
    (alert,) = run(engine, [opening(), update({"name": value})]).alerts
    assert missing_in(alert.summary) == ["name"]


def test_update_removing_the_id_document_fires(engine):
    (alert,) = run(engine, [opening(), update({"id_document": None})]).alerts
    assert missing_in(alert.summary) == ["id_document.type", "id_document.number"]


def test_update_blanking_legal_representative_name_fires(engine):
    data = entity_opening_data(customer_id="E001")
    upd = update(
        {
            "legal_representative": {
                "name": "",
                "id_document": {"type": "resident_id", "number": "X1"},
            }
        },
        customer_id="E001",
    )
    (alert,) = run(engine, [opening(data), upd]).alerts
    assert missing_in(alert.summary) == ["legal_representative.name"]


@pytest.mark.parametrize(
    "changes",
    [
        {"branch_code": "SH002"},
        {"declared_annual_income": "500000"},
        {"account_id": "ACC-2"},
    ],
)
def test_update_of_a_non_identity_field_does_not_fire(engine, changes):
    result = run(engine, [opening(), update(changes)])
    assert result.alerts == []
    assert result.tasks == []


def test_update_making_the_customer_pep_is_not_kyc_incomplete(engine):
    # is_pep is not a mandatory identity field: only KYC_PEP answers it (test_kyc_full.py)
    result = run(engine, [opening(), update({"is_pep": True})])
    assert result.by_rule(RULE) == []
    assert [a.rule_id for a in result.alerts] == ["KYC_PEP"]
    assert [t.trigger for t in result.tasks] == ["ENHANCED_DUE_DILIGENCE"]


def test_non_identity_update_on_incomplete_profile_does_not_fire_again(engine):
    result = run(
        engine,
        [opening(without(individual_opening_data(), "phone")), update({"branch_code": "SH002"})],
    )
    assert [len(o.findings.alerts) for o in result.outcomes] == [1, 0]
    assert [len(o.findings.tasks) for o in result.outcomes] == [1, 0]


def test_update_completing_identity_does_not_fire(engine):
    result = run(
        engine,
        [
            opening(without(individual_opening_data(), "phone")),
            update({"phone": "+86 10 1234 5678"}),
        ],
    )
    assert len(result.outcomes[0].findings.alerts) == 1
    assert result.outcomes[1].findings.alerts == []


def test_update_of_identity_field_on_incomplete_profile_fires_again(engine):
    result = run(
        engine,
        [opening(without(individual_opening_data(), "phone")), update({"occupation": "teacher"})],
    )
    assert [len(o.findings.alerts) for o in result.outcomes] == [1, 1]
    assert missing_in(result.alerts[1].summary) == ["phone"]


def test_update_for_a_customer_never_opened_does_not_fire(engine):
    result = run(engine, [update({"phone": "", "name": None}, customer_id="C404")])
    assert result.alerts == []
    assert result.tasks == []
    assert result.states["C404"].profile is None


def test_update_for_another_customer_does_not_fire(engine):
    result = run(engine, [opening(customer_id="C001"), update({"phone": ""}, customer_id="C002")])
    assert result.alerts == []


def test_redelivered_update_fires_once(engine):
    upd = update({"phone": ""}, event_id="evt-upd-dup")
    result = run(engine, [opening(), upd, upd])
    assert len(result.alerts) == 1
    assert [o.duplicate for o in result.outcomes] == [False, False, True]


# --------------------------------------------------------------------------- state privacy


def _identity_values() -> list[str]:
    return [
        PERSON_NAME,
        PERSON_ID_NUMBER,
        PERSON_PHONE,
        PERSON_ADDRESS,
        LEGAL_REP_NAME,
        LEGAL_REP_ID_NUMBER,
        "Beijing Example Trading Co., Ltd.",
        "91110000100000000X",
    ]


def test_state_never_contains_identity_values_of_an_individual(engine):
    state = run(engine, [opening()]).states["C001"]
    raw = state.to_bytes()
    for value in _identity_values():
        assert value.encode() not in raw
    assert state.profile is not None
    assert state.profile["type"] == "individual"
    assert {"name", "id_document.number"} <= present_paths(state.profile)


def test_state_never_contains_identity_values_of_an_entity(engine):
    raw = run(engine, [opening(entity_opening_data())]).states["E001"].to_bytes()
    for value in _identity_values():
        assert value.encode() not in raw


def test_state_never_contains_identity_values_after_an_update(engine):
    new_name = "Zhang Weiwei"
    new_number = "110101199003078888"
    result = run(
        engine,
        [
            opening(),
            update({"name": new_name, "id_document": {"type": "passport", "number": new_number}}),
        ],
    )
    raw = result.states["C001"].to_bytes()
    for value in [*_identity_values(), new_name, new_number, "passport"]:
        assert value.encode() not in raw
    assert result.alerts == []


def test_alerts_never_contain_identity_values(engine):
    result = run(engine, [opening(without(individual_opening_data(), "phone"))])
    serialized = "".join(a.model_dump_json() for a in result.alerts) + "".join(
        t.model_dump_json() for t in result.tasks
    )
    for value in _identity_values():
        assert value not in serialized


def _reference_facts(number: str) -> tuple[bool, str | None, str | None]:
    """GB 11643-1999 spelled out: weights 2^(17-i) mod 11, check digit from the sum."""
    n = number.strip().upper()
    if len(n) != 18 or not all(c in "0123456789" for c in n[:17]) or n[17] not in "0123456789X":
        return False, None, None
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(n[:17]))
    check = "10X98765432"[total % 11]
    try:
        birth = date(int(n[6:10]), int(n[10:12]), int(n[12:14])).isoformat()
    except ValueError:
        birth = None
    return check == n[17] and birth is not None, birth, "M" if int(n[16]) % 2 else "F"


def test_identity_number_facts_agree_with_the_standard_on_random_numbers():
    import random

    from monitor.core.profile import resident_id_facts

    rng = random.Random(3)
    for _ in range(3_000):
        head = (
            f"{rng.randrange(10**5, 10**6)}{rng.randrange(1940, 2030)}{rng.randrange(1, 14):02d}"
            f"{rng.randrange(1, 33):02d}{rng.randrange(1000):03d}"
        )
        number = head + rng.choice("0123456789Xx")
        facts = resident_id_facts("resident_id", number)
        assert (facts["valid"], facts["birth"], facts["sex"]) == _reference_facts(number), number


@pytest.mark.parametrize(
    "number",
    [
        "11010119900307777²",
        "1101011990030777²4",
        "11010119900307 774",
        "1101011990030777",
        "١١٠١٠١١٩٩٠٠٣٠٧٧٧٤",
    ],
)
def test_an_identity_number_with_other_characters_is_invalid_never_an_error(number):
    from monitor.core.profile import resident_id_facts

    assert resident_id_facts("resident_id", number)["valid"] is False


def test_profile_paths_and_fingerprints_read_from_the_model_equal_those_of_its_json_dump(pack):
    """merge_profile reads an opening's identity paths and watched values from the model;
    they must be exactly those of `model_dump(mode="json")` (the form stored fingerprints
    were made from), for every shape the simulator and the samples produce."""
    import orjson

    from monitor.core.decode import Decoder
    from monitor.core.profile import (
        WATCHED_FIELDS,
        _fingerprint,
        _json_form,
        identity_paths,
        model_paths,
    )
    from monitor.tools.simulate import simulate
    from schemas import AccountOpening

    decoder = Decoder(pack.fx)
    openings = [
        decoder.decode("account_opening", orjson.dumps(v))
        for _, v in simulate(600, 1, 11).events["kyc.account-openings"]
    ]
    openings.append(
        AccountOpening.model_validate(
            {  # blanks, nested blanks, numbers, owners
                "event_id": "E",
                "customer_id": "C",
                "opened_at": "2026-03-02T09:00:00+08:00",
                "customer_type": "entity",
                "name": "  ",
                "registered_capital": 0,
                "legal_representative": {"name": "", "id_document": {}},
                "beneficial_owners": [
                    {"name": "A", "ownership_pct": "30.5", "id_document": {"number": "1"}}
                ],
                "id_document": {"type": "passport", "number": " ", "expires_on": "2030-01-01"},
            }
        )
    )
    assert len(openings) > 500 and all(isinstance(o, AccountOpening) for o in openings)
    for parsed in openings:
        dumped = parsed.model_dump(mode="json", exclude_none=False)
        assert model_paths(parsed) == identity_paths(dumped)
        for name in WATCHED_FIELDS:
            value = getattr(parsed, name)
            assert _json_form(value) == dumped[name]
            assert _fingerprint(_json_form(value)) == _fingerprint(dumped[name])
