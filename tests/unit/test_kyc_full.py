"""KYC rules beyond KYC_INCOMPLETE: KYC_ID_EXPIRED, KYC_PEP, KYC_HIGH_RISK_COUNTRY,
KYC_BENEFICIAL_OWNER; the PROFILE_CHANGE / INCONSISTENT_INFO / DOUBTFUL_RECORDS
re-identification tasks of openings and updates; the periodic review from the risk rating.

PRC resident identity numbers are 18 characters; the last is the ISO 7064 MOD 11-2 check
character over the first 17 digits (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, characters
"10X98765432"); digits 7-14 are the birth date; digit 17 is odd for a man, even for a woman.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from monitor.core.engine import Engine

from .conftest import (
    PERSON_ID_NUMBER,
    bad_check_digit,
    cash,
    entity_opening_data,
    individual_opening_data,
    make_engine,
    opening,
    prc_id,
    remittance,
    run,
    update,
)

# --------------------------------------------------------------------------- identities

FEMALE_1949 = "11010519491231002X"  # the worked example: born 1949-12-31, female
MALE_1990 = PERSON_ID_NUMBER  # the default opening's number: born 1990-03-07, male
MALE_1990_OTHER = prc_id("11010119900307123")  # same birth date and sex, another number
MALE_1980 = prc_id("11010519800101001")  # born 1980-01-01, male


def test_identity_numbers_used_here():
    assert prc_id("11010519491231002") == FEMALE_1949
    assert MALE_1990 == "110101199003077774"
    assert MALE_1990_OTHER == "110101199003071233"
    assert MALE_1980 == "110105198001010016"
    assert bad_check_digit(FEMALE_1949) == "110105194912310020"


def doc(number: str = MALE_1990, expires_on: str | None = "2035-01-01", type_: str = "resident_id"):
    return {"type": type_, "number": number, "expires_on": expires_on}


def individual(**overrides):
    """The default complete individual opening (C001, Mon 2 March 2026) with overrides."""
    return opening(
        individual_opening_data(
            **{k: overrides.pop(k) for k in ("customer_id", "at", "event_id") if k in overrides}
        ),
        **overrides,
    )


def entity(owners=None, **overrides):
    data = entity_opening_data(
        **{k: overrides.pop(k) for k in ("customer_id", "at", "event_id") if k in overrides}
    )
    if owners is not None:
        data["beneficial_owners"] = owners
    return opening(data, **overrides)


def owner(
    pct: str | None, *, identified: bool = True, is_pep: bool = False, name: str = "Zhao Min"
):
    o = {"name": name, "ownership_pct": pct, "is_pep": is_pep}
    if identified:
        o["id_document"] = {"type": "resident_id", "number": FEMALE_1949}
    return o


def triggers(result) -> list[str]:
    return [t.trigger for t in result.tasks]


def per_event(result, rule: str) -> list[int]:
    return [sum(a.rule_id == rule for a in o.findings.alerts) for o in result.outcomes]


# =========================================================================== KYC_ID_EXPIRED

EXPIRED = "KYC_ID_EXPIRED"


def test_expired_at_opening(engine):
    event = individual(id_document=doc(expires_on="2026-03-01"), event_id="evt-open-x")
    result = run(engine, [event])
    (alert,) = result.by_rule(EXPIRED)
    assert alert.summary == (
        "identity document expired on 2026-03-01, still in use at opening (evt-open-x)"
    )
    assert alert.evidence == ["evt-open-x"]
    assert alert.category == "due_diligence"
    assert alert.severity == "medium"
    (task,) = result.tasks
    assert task.trigger == "ID_EXPIRED"
    assert task.alert_ids == [alert.alert_id]
    assert task.source_event_id == "evt-open-x"
    assert task.measures == engine.pack.config.tasks["ID_EXPIRED"].measures
    assert task.due_by == date(2026, 3, 16)  # Mon 2 March + 10 PRC working days


@pytest.mark.parametrize(
    ("expires_on", "opened_at", "fires"),
    [
        ("2026-03-01", "2026-03-02T00:00:00+08:00", True),
        ("2026-03-02", "2026-03-02T23:59:59+08:00", False),  # expires the same day
        ("2026-03-02", "2026-03-02T15:59:59Z", False),  # = 23:59:59 Shanghai
        ("2026-03-02", "2026-03-02T16:00:00Z", True),  # = 00:00 Shanghai on 3 March
        ("2026-03-03", "2026-03-02T10:00:00+08:00", False),
        (None, "2026-03-02T10:00:00+08:00", False),  # long-term document
    ],
)
def test_expiry_at_opening_boundaries(engine, expires_on, opened_at, fires):
    result = run(engine, [individual(id_document=doc(expires_on=expires_on), opened_at=opened_at)])
    assert len(result.by_rule(EXPIRED)) == (1 if fires else 0)


@pytest.mark.parametrize(
    ("txn_at", "fires"),
    [
        ("2026-03-09T10:00:00+08:00", False),  # before expiry
        ("2026-03-10T23:59:59+08:00", False),  # the expiry day itself
        ("2026-03-10T15:59:59Z", False),  # = 23:59:59 Shanghai on the expiry day
        ("2026-03-11T00:00:00+08:00", True),  # the day after
        ("2026-03-10T16:00:00Z", True),  # = 00:00 Shanghai on 11 March
    ],
)
def test_expiry_at_a_cash_transaction(engine, txn_at, fires):
    setup = individual(id_document=doc(expires_on="2026-03-10"))
    result = run(engine, [setup, cash("100", at=txn_at, txn_id="TXN-E")])
    assert per_event(result, EXPIRED) == [0, 1 if fires else 0]
    if fires:
        (alert,) = result.by_rule(EXPIRED)
        assert alert.summary == (
            "identity document expired on 2026-03-10, still in use on 2026-03-11 (TXN-E)"
        )
        assert alert.evidence == ["TXN-E"]
        assert triggers(result) == ["ID_EXPIRED"]


def test_expiry_at_a_remittance(engine):
    setup = individual(id_document=doc(expires_on="2026-03-10"))
    result = run(engine, [setup, remittance("100", at="2026-03-12T10:00:00+08:00", txn_id="RMT-E")])
    (alert,) = result.by_rule(EXPIRED)
    assert alert.evidence == ["RMT-E"]


def test_reported_once_per_expiry_date(engine):
    events = [
        individual(id_document=doc(expires_on="2026-03-01")),
        cash("100", at="2026-03-03T10:00:00+08:00"),
        remittance("100", at="2026-03-04T10:00:00+08:00"),
        update({"phone": "+86 10 1111 2222"}, at="2026-03-05T10:00:00+08:00"),
    ]
    result = run(engine, events)
    assert per_event(result, EXPIRED) == [1, 0, 0, 0]
    assert triggers(result).count("ID_EXPIRED") == 1


def test_new_document_renews_it(engine):
    events = [
        individual(id_document=doc(expires_on="2026-03-10")),
        cash("100", at="2026-03-11T10:00:00+08:00"),
        update({"id_document": doc(MALE_1990_OTHER, "2036-03-10")}, at="2026-03-12T10:00:00+08:00"),
        cash("100", at="2026-03-13T10:00:00+08:00"),
        cash("100", at="2027-01-13T10:00:00+08:00"),
    ]
    result = run(engine, events)
    assert per_event(result, EXPIRED) == [0, 1, 0, 0, 0]
    assert result.states["C001"].profile["id_exp"] == "2036-03-10"


def test_a_new_document_that_expires_too_is_reported_again(engine):
    events = [
        individual(id_document=doc(expires_on="2026-03-10")),
        cash("100", at="2026-03-11T10:00:00+08:00"),
        update({"id_document": doc(MALE_1990_OTHER, "2026-04-30")}, at="2026-03-12T10:00:00+08:00"),
        cash("100", at="2026-04-30T10:00:00+08:00"),
        cash("100", at="2026-05-01T10:00:00+08:00"),
    ]
    result = run(engine, events)
    assert per_event(result, EXPIRED) == [0, 1, 0, 0, 1]
    first, second = result.by_rule(EXPIRED)
    assert first.alert_id != second.alert_id
    assert "expired on 2026-04-30" in second.summary


def test_update_with_an_already_expired_document_fires_at_the_update(engine):
    upd = update(
        {"id_document": doc(MALE_1990_OTHER, "2026-03-01")},
        at="2026-03-09T10:00:00+08:00",
        event_id="evt-upd-exp",
    )
    result = run(engine, [individual(), upd])
    (alert,) = result.by_rule(EXPIRED)
    assert alert.summary == (
        "identity document expired on 2026-03-01, still in use on 2026-03-09 (evt-upd-exp)"
    )


def test_entity_legal_representative_document_expiry(engine):
    data = entity_opening_data()
    data["legal_representative"]["id_document"]["expires_on"] = "2026-03-01"
    result = run(engine, [opening(data)])
    assert len(result.by_rule(EXPIRED)) == 1


def test_no_profile_never_fires(engine):
    assert run(engine, [cash("100")]).by_rule(EXPIRED) == []


# =========================================================================== KYC_PEP

PEP = "KYC_PEP"


def test_pep_customer_at_opening(engine):
    result = run(engine, [individual(is_pep=True, event_id="evt-open-pep")])
    (alert,) = result.by_rule(PEP)
    assert alert.summary == (
        "politically exposed customer: enhanced due diligence required (evt-open-pep)"
    )
    assert alert.severity == "high"
    assert alert.category == "due_diligence"
    assert alert.evidence == ["evt-open-pep"]
    (task,) = result.tasks
    assert task.trigger == "ENHANCED_DUE_DILIGENCE"
    assert task.alert_ids == [alert.alert_id]
    assert task.risk_rating == "high"
    assert task.measures == engine.pack.config.tasks["ENHANCED_DUE_DILIGENCE"].measures
    assert task.due_by == date(2026, 3, 16)


def test_not_pep_raises_nothing(engine):
    result = run(engine, [individual(is_pep=False)])
    assert result.alerts == []
    assert result.tasks == []


def test_pep_beneficial_owner(engine):
    result = run(engine, [entity([owner("60", is_pep=True)], event_id="evt-open-bo")])
    (alert,) = result.by_rule(PEP)
    assert alert.summary == (
        "politically exposed beneficial owner: enhanced due diligence required (evt-open-bo)"
    )
    (task,) = result.tasks
    assert task.trigger == "ENHANCED_DUE_DILIGENCE"
    assert task.risk_rating == "high"


def test_update_making_the_customer_pep(engine):
    result = run(engine, [individual(), update({"is_pep": True}, event_id="evt-upd-pep")])
    assert per_event(result, PEP) == [0, 1]
    (task,) = result.tasks
    assert (task.trigger, task.source_event_id, task.risk_rating) == (
        "ENHANCED_DUE_DILIGENCE",
        "evt-upd-pep",
        "high",
    )


def test_update_adding_a_pep_beneficial_owner(engine):
    upd = update(
        {"beneficial_owners": [owner("60"), owner("30", is_pep=True, name="Qian")]},
        customer_id="E001",
    )
    result = run(engine, [entity([owner("60")]), upd])
    assert per_event(result, PEP) == [0, 1]
    assert "politically exposed beneficial owner" in result.by_rule(PEP)[0].summary
    assert "ENHANCED_DUE_DILIGENCE" in triggers(result)


def test_pep_reported_once_per_role(engine):
    result = run(
        engine,
        [
            individual(is_pep=True),
            update({"is_pep": True}, at="2026-03-09T10:00:00+08:00"),
            update({"address": "2 Other Road"}, at="2026-03-10T10:00:00+08:00"),
        ],
    )
    assert per_event(result, PEP) == [1, 0, 0]


def test_pep_alert_and_task_ids_are_deterministic(pack):
    event = individual(is_pep=True, event_id="evt-open-pep")
    first, second = run(Engine(pack), [event]), run(Engine(pack), [event])
    assert first.alerts[0].alert_id == second.alerts[0].alert_id
    assert first.tasks[0].task_id == second.tasks[0].task_id


# =========================================================================== KYC_HIGH_RISK_COUNTRY

HRC = "KYC_HIGH_RISK_COUNTRY"


@pytest.mark.parametrize("country", ["KP", "IR", "MM", "ir"])
def test_high_risk_nationality(engine, country):
    result = run(engine, [individual(nationality=country, event_id="evt-open-hrc")])
    (alert,) = result.by_rule(HRC)
    assert alert.summary == f"customer nationality {country.upper()} is a high-risk jurisdiction"
    assert alert.severity == "high"
    assert alert.evidence == ["evt-open-hrc"]
    (task,) = result.tasks
    assert task.trigger == "ENHANCED_DUE_DILIGENCE"
    assert task.alert_ids == [alert.alert_id]
    assert task.risk_rating == "high"


def test_high_risk_address_country(engine):
    result = run(engine, [individual(address_country="KP")])
    (alert,) = result.by_rule(HRC)
    assert alert.summary == "customer address country KP is a high-risk jurisdiction"
    assert triggers(result) == ["ENHANCED_DUE_DILIGENCE"]


def test_nationality_and_address_in_one_country_give_one_task(engine):
    result = run(engine, [individual(nationality="IR", address_country="IR")])
    assert len(result.by_rule(HRC)) == 2
    assert triggers(result) == ["ENHANCED_DUE_DILIGENCE"]


def test_two_countries_give_two_tasks(engine):
    result = run(engine, [individual(nationality="IR", address_country="KP")])
    assert len(result.by_rule(HRC)) == 2
    assert triggers(result) == ["ENHANCED_DUE_DILIGENCE", "ENHANCED_DUE_DILIGENCE"]
    assert result.tasks[0].task_id != result.tasks[1].task_id


def test_update_to_a_high_risk_nationality(engine):
    result = run(engine, [individual(), update({"nationality": "MM"})])
    assert per_event(result, HRC) == [0, 1]


def test_customer_tie_reported_once_per_country(engine):
    result = run(
        engine, [individual(nationality="IR"), update({"nationality": "IR", "address": "x"})]
    )
    assert per_event(result, HRC) == [1, 0]


@pytest.mark.parametrize(
    ("direction", "overrides", "hit"),
    [
        ("out", {"counterparty_country": "MM"}, "MM"),
        ("out", {"beneficiary": {"country": "KP"}}, "KP"),
        ("in", {"counterparty_country": "IR"}, "IR"),
        ("in", {"originator": {"country": "IR"}}, "IR"),
    ],
    ids=["out-counterparty", "out-beneficiary", "in-counterparty", "in-originator"],
)
def test_remittance_to_or_from_a_high_risk_country(engine, direction, overrides, hit):
    event = remittance("100.00", direction=direction, txn_id="RMT-H", **overrides)
    result = run(engine, [individual(), event])
    (alert,) = result.by_rule(HRC)
    word = "to" if direction == "out" else "from"
    assert alert.summary == f"remittance RMT-H {word} high-risk jurisdiction {hit}"
    assert alert.evidence == ["RMT-H"]
    assert alert.amount == Decimal("100.00")
    assert alert.currency == "CNY"
    (task,) = result.tasks
    assert task.trigger == "ENHANCED_DUE_DILIGENCE"


def test_inbound_beneficiary_country_is_our_customer_not_a_counterparty(engine):
    event = remittance("100", direction="in", beneficiary={"country": "KP"})
    assert run(engine, [individual(), event]).by_rule(HRC) == []


def test_every_remittance_is_reported_with_one_task_per_country(engine):
    events = [
        individual(),
        remittance("100", counterparty_country="KP", at="2026-03-03T10:00:00+08:00"),
        remittance("200", counterparty_country="KP", at="2026-03-04T10:00:00+08:00"),
        remittance("300", counterparty_country="IR", at="2026-03-05T10:00:00+08:00"),
    ]
    result = run(engine, events)
    assert per_event(result, HRC) == [0, 1, 1, 1]
    assert triggers(result) == ["ENHANCED_DUE_DILIGENCE", "ENHANCED_DUE_DILIGENCE"]


def test_supplement_to_a_high_risk_country_is_not_reported(engine):
    event = remittance(None, currency=None, kind="supplement", counterparty_country="KP")
    assert run(engine, [individual(), event]).by_rule(HRC) == []


@pytest.mark.parametrize("country", ["CN", "GB", "US", "RU"])
def test_country_not_in_the_list_raises_nothing(engine, country):
    result = run(
        engine,
        [
            individual(nationality=country, address_country=country),
            remittance("100", counterparty_country=country, beneficiary={"country": country}),
        ],
    )
    assert result.by_rule(HRC) == []
    assert result.tasks == []


def test_the_list_is_configurable():
    engine = make_engine({"rules.KYC_HIGH_RISK_COUNTRY.countries": ["RU"]})
    result = run(
        engine,
        [
            individual(nationality="IR"),
            remittance("100", counterparty_country="RU", txn_id="RMT-RU"),
            remittance("100", counterparty_country="KP"),
        ],
    )
    (alert,) = result.by_rule(HRC)
    assert alert.summary == "remittance RMT-RU to high-risk jurisdiction RU"


# =========================================================================== KYC_BENEFICIAL_OWNER

BO = "KYC_BENEFICIAL_OWNER"


@pytest.mark.parametrize(
    ("owners", "fires"),
    [
        ([owner("25")], True),  # exactly 25 %: not "more than"
        ([owner("25.00")], True),
        ([owner("25.01")], False),
        ([owner("100")], False),
        ([owner("60", identified=False)], True),  # no identity document
        ([owner("24"), owner("24"), owner("24")], True),
        ([owner("20"), owner("30", identified=False), owner("25.01")], False),
        ([owner(None)], True),  # share unknown
        ([], True),
    ],
    ids=[
        "25",
        "25.00",
        "25.01",
        "100",
        "unidentified",
        "three-small",
        "one-enough",
        "no-pct",
        "none",
    ],
)
def test_entity_needs_an_identified_owner_above_25_percent(engine, owners, fires):
    result = run(engine, [entity(owners)])
    assert len(result.by_rule(BO)) == (1 if fires else 0)


@pytest.mark.parametrize(
    "document",
    [
        {"type": "resident_id", "number": ""},
        {"type": "resident_id"},
    ],
    ids=["blank-number", "no-number"],
)
def test_owner_without_a_document_number_is_not_identified(engine, document):
    o = owner("60", identified=False)
    o["id_document"] = document
    assert len(run(engine, [entity([o])]).by_rule(BO)) == 1


def test_owner_without_a_name_is_not_identified(engine):
    o = owner("60")
    o["name"] = ""
    assert len(run(engine, [entity([o])]).by_rule(BO)) == 1


def test_beneficial_owner_alert_fields(engine):
    result = run(engine, [entity([owner("25"), owner("20")], event_id="evt-open-bo")])
    (alert,) = result.by_rule(BO)
    assert alert.summary == (
        "entity without an identified natural person owning more than 25% (2 owner(s) declared)"
    )
    assert alert.evidence == ["evt-open-bo"]
    assert alert.category == "due_diligence"
    assert "Zhao Min" not in alert.model_dump_json()


@pytest.mark.parametrize("owners", [[], [owner("10")], [owner("60", identified=False)]])
def test_individual_customers_never_fire(engine, owners):
    data = individual_opening_data()
    data["beneficial_owners"] = owners
    assert run(engine, [opening(data)]).by_rule(BO) == []


def test_update_of_beneficial_owners_is_checked(engine):
    upd = update({"beneficial_owners": [owner("25")]}, customer_id="E001")
    result = run(engine, [entity([owner("60")]), upd])
    assert per_event(result, BO) == [0, 1]


def test_update_of_another_field_is_not_checked_again(engine):
    upd = update({"address": "6 Financial Street"}, customer_id="E001")
    result = run(engine, [entity([owner("25")]), upd])
    assert per_event(result, BO) == [1, 0]


@pytest.mark.parametrize(("pct", "fires"), [("50", True), ("50.01", False)])
def test_ownership_share_is_configurable(pct, fires):
    engine = make_engine({"rules.KYC_BENEFICIAL_OWNER.ownership_above_pct": "50"})
    assert len(run(engine, [entity([owner(pct)])]).by_rule(BO)) == (1 if fires else 0)


# =========================================================================== profile checks


def test_opening_never_raises_profile_change(engine):
    assert "PROFILE_CHANGE" not in triggers(run(engine, [individual()]))


@pytest.mark.parametrize(
    "changes",
    [
        {"address": "2 Other Road, Beijing"},
        {"name": "Zhang Weiwei"},
        {"occupation": "teacher"},
        {"nationality": "HK"},
        {"id_document": doc(MALE_1990_OTHER)},
    ],
    ids=["address", "name", "occupation", "nationality", "id_document"],
)
def test_update_of_a_watched_identity_field_raises_profile_change(engine, changes):
    upd = update(changes, event_id="evt-upd-pc", at="2026-03-09T10:00:00+08:00")
    result = run(engine, [individual(), upd])
    (task,) = result.tasks
    assert task.trigger == "PROFILE_CHANGE"
    assert task.source_event_id == "evt-upd-pc"
    assert task.alert_ids == []
    assert task.measures == engine.pack.config.tasks["PROFILE_CHANGE"].measures
    assert task.due_by == date(2026, 3, 23)  # Mon 9 March + 10 PRC working days
    assert task.risk_rating == "low"
    assert result.alerts == []


def test_update_of_beneficial_owners_raises_profile_change(engine):
    upd = update({"beneficial_owners": [owner("60")]}, customer_id="E001")
    result = run(engine, [entity([owner("60", name="Someone Else")]), upd])
    assert triggers(result) == ["PROFILE_CHANGE"]


def test_several_fields_in_one_update_raise_one_task(engine):
    upd = update({"address": "2 Other Road", "occupation": "teacher", "name": "Zhang Weiwei"})
    assert triggers(run(engine, [individual(), upd])) == ["PROFILE_CHANGE"]


def test_update_repeating_the_same_value_raises_nothing(engine):
    data = individual_opening_data()
    upd = update({"address": data["address"], "id_document": data["id_document"]})
    result = run(engine, [opening(data), upd])
    assert result.tasks == []


@pytest.mark.parametrize("changes", [{"phone": "+86 10 0000 0000"}, {"branch_code": "SH002"}])
def test_update_of_an_unwatched_field_raises_no_profile_change(engine, changes):
    assert run(engine, [individual(), update(changes)]).tasks == []


def test_profile_change_task_id_is_deterministic_and_per_event(pack):
    upd = update({"address": "2 Other Road"}, event_id="evt-upd-1")
    other = update({"address": "2 Other Road"}, event_id="evt-upd-2")
    a = run(Engine(pack), [individual(event_id="evt-o"), upd]).tasks[0]
    b = run(Engine(pack), [individual(event_id="evt-o"), upd]).tasks[0]
    c = run(Engine(pack), [individual(event_id="evt-o"), other]).tasks[0]
    assert a.task_id == b.task_id != c.task_id


def test_gender_contradicting_the_identity_number_at_opening(engine):
    result = run(engine, [individual(gender="F")])  # MALE_1990 says male
    assert triggers(result) == ["INCONSISTENT_INFO"]
    (task,) = result.tasks
    assert task.measures == engine.pack.config.tasks["INCONSISTENT_INFO"].measures
    assert task.due_by == date(2026, 3, 9)  # Mon 2 March + 5 PRC working days


def test_gender_matching_the_identity_number(engine):
    result = run(engine, [individual(gender="F", id_document=doc(FEMALE_1949))])
    assert result.tasks == []


def test_update_of_gender_contradicting_the_identity_number(engine):
    result = run(engine, [individual(), update({"gender": "female"})])
    assert triggers(result) == ["INCONSISTENT_INFO"]


def test_new_identity_number_with_another_birth_date(engine):
    result = run(engine, [individual(), update({"id_document": doc(MALE_1980)})])
    assert triggers(result) == ["PROFILE_CHANGE", "INCONSISTENT_INFO"]


def test_new_identity_number_with_another_sex(engine):
    result = run(engine, [individual(), update({"id_document": doc(prc_id("11010119900307122"))})])
    assert "INCONSISTENT_INFO" in triggers(result)


def test_new_identity_number_with_the_same_birth_date_and_sex(engine):
    result = run(engine, [individual(), update({"id_document": doc(MALE_1990_OTHER)})])
    assert triggers(result) == ["PROFILE_CHANGE"]


def test_birth_date_contradicting_the_identity_number(engine):
    result = run(engine, [individual(), update({"birth_date": "1991-03-07"})])
    assert triggers(result) == ["INCONSISTENT_INFO"]


@pytest.mark.parametrize(
    "number",
    [
        bad_check_digit(MALE_1990),
        "11010519491231002",  # 17 characters
        "1101051949123100XX",
        prc_id("11010519491331001"),  # right check digit but month 13
    ],
    ids=["check-digit", "too-short", "two-x", "bad-date"],
)
def test_identity_number_failing_its_check_at_opening_is_doubtful(engine, number):
    result = run(engine, [individual(id_document=doc(number))])
    assert triggers(result) == ["DOUBTFUL_RECORDS"]
    (task,) = result.tasks
    assert task.measures == engine.pack.config.tasks["DOUBTFUL_RECORDS"].measures
    assert task.due_by == date(2026, 3, 9)  # 5 PRC working days


def test_lower_case_x_check_character_is_valid(engine):
    result = run(engine, [individual(gender="F", id_document=doc(FEMALE_1949.lower()))])
    assert result.tasks == []


@pytest.mark.parametrize("type_", ["passport", "hk_macao_permit"])
def test_other_documents_are_not_checked(engine, type_):
    result = run(engine, [individual(id_document=doc("E12345678", type_=type_))])
    assert result.tasks == []


def test_update_with_a_doubtful_identity_number(engine):
    upd = update({"id_document": doc(bad_check_digit(MALE_1990_OTHER))})
    result = run(engine, [individual(), upd])
    assert triggers(result) == ["PROFILE_CHANGE", "DOUBTFUL_RECORDS"]


def test_doubtful_records_not_repeated_for_unrelated_updates(engine):
    result = run(
        engine,
        [individual(id_document=doc(bad_check_digit(MALE_1990))), update({"phone": "1"})],
    )
    assert [len(o.findings.tasks) for o in result.outcomes] == [1, 0]


def test_profile_checks_can_be_switched_off():
    engine = make_engine({"profile_checks.enabled": False})
    result = run(
        engine,
        [
            individual(gender="F", id_document=doc(bad_check_digit(MALE_1990))),
            update({"address": "2 Other Road"}),
        ],
    )
    assert result.tasks == []


# =========================================================================== periodic review

# A PEP is rated high: review 6 months after opening. Opened Mon 2 March 2026 -> review date
# 2026-09-02, decided when the customer's watermark passes 2026-09-03T00:00+08:00.


def pep_opening():
    return individual(is_pep=True, opened_at="2026-03-02T10:00:00+08:00")


def review_tasks(result):
    return [t for t in result.tasks if t.trigger == "PERIODIC_REVIEW"]


def test_high_rating_sets_a_review_six_months_after_opening(engine):
    result = run(engine, [pep_opening()])
    assert result.states["C001"].risk["rating"] == "high"
    assert result.states["C001"].risk["next_review"] == "2026-09-02"


@pytest.mark.parametrize(
    ("at", "due"),
    [
        ("2026-09-02T23:59:59+08:00", False),
        ("2026-09-02T15:59:59Z", False),  # = 23:59:59 Shanghai
        ("2026-09-03T00:00:01+08:00", True),
        ("2026-09-02T16:00:01Z", True),  # = 00:00:01 Shanghai on 3 September
    ],
)
def test_review_task_appears_only_when_the_watermark_passes_the_date(engine, at, due):
    result = run(engine, [pep_opening(), cash("10", at=at)])
    assert len(review_tasks(result)) == (1 if due else 0)


def test_review_task_fields(engine):
    result = run(
        engine, [pep_opening(), cash("10", at="2026-09-03T10:00:00+08:00", event_id="evt-pr")]
    )
    (task,) = review_tasks(result)
    # no event raises a review: whatever decides it (this event or a partition's stream
    # time), the task is the same
    assert task.source_event_id == "periodic-review:2026-09-02"
    assert task.alert_ids == []
    assert task.risk_rating == "high"
    assert task.measures == engine.pack.config.tasks["PERIODIC_REVIEW"].measures
    # Thu 3 Sep + 20 PRC working days: Sep 4 (1), 7-11 (6), 14-18 (11), Sun 20 make-up (12),
    # 21-24 (16; Fri 25 Mid-Autumn), 28-30 (19), Oct 1-7 holidays, Thu Oct 8 (20)
    assert task.due_by == date(2026, 10, 8)
    assert result.states["C001"].risk["next_review"] == "2027-03-02"


@pytest.mark.parametrize(
    "passing",
    [
        lambda: cash("10", at="2026-09-03T10:00:00+08:00"),
        lambda: cash("10", at="2026-11-20T10:00:00+08:00", direction="out"),
        lambda: remittance("100", at="2026-09-04T10:00:00+08:00"),
        lambda: update({"phone": "1"}, at="2026-09-05T10:00:00+08:00"),
        lambda: update({"address": "2 Other Road"}, at="2026-10-01T10:00:00+08:00"),
    ],
    ids=["cash", "cash-later", "remittance", "update", "identity-update"],
)
def test_review_task_id_is_the_same_whichever_event_passes_it(pack, passing):
    reference = run(Engine(pack), [pep_opening(), cash("10", at="2026-09-03T00:00:01+08:00")])
    result = run(Engine(pack), [pep_opening(), passing()])
    (expected,) = review_tasks(reference)
    (task,) = review_tasks(result)
    assert task.task_id == expected.task_id


def test_review_is_raised_once_then_the_next_date_counts(engine):
    events = [
        pep_opening(),
        cash("10", at="2026-09-03T10:00:00+08:00"),
        cash("10", at="2026-12-01T10:00:00+08:00"),
        cash("10", at="2027-03-02T23:59:59+08:00"),
        cash("10", at="2027-03-03T00:00:01+08:00"),
    ]
    result = run(engine, events)
    assert [
        sum(t.trigger == "PERIODIC_REVIEW" for t in o.findings.tasks) for o in result.outcomes
    ] == [
        0,
        1,
        0,
        0,
        1,
    ]
    first, second = review_tasks(result)
    assert first.task_id != second.task_id


def test_a_long_silence_passing_two_review_dates_gives_two_tasks(engine):
    result = run(engine, [pep_opening(), cash("10", at="2027-04-01T10:00:00+08:00")])
    tasks = review_tasks(result)
    assert len(tasks) == 2
    assert tasks[0].task_id != tasks[1].task_id
    assert result.states["C001"].risk["next_review"] == "2027-09-02"


@pytest.mark.parametrize(
    ("opening_event", "rating", "review"),
    [
        (lambda: individual(), "low", "2028-03-02"),
        (lambda: entity([owner("25")]), "medium", "2027-03-02"),  # entity opacity: 30 points
        (lambda: individual(nationality="IR"), "high", "2026-09-02"),  # high-risk country: 60
    ],
    ids=["low", "medium", "high"],
)
def test_review_interval_follows_the_rating(engine, opening_event, rating, review):
    result = run(engine, [opening_event()])
    (state,) = result.states.values()
    assert state.risk["rating"] == rating
    assert state.risk["next_review"] == review


def test_a_higher_rating_brings_the_review_forward(engine):
    result = run(
        engine,
        [individual(), update({"is_pep": True}, at="2026-04-01T10:00:00+08:00")],
    )
    assert result.states["C001"].risk["next_review"] == "2026-10-01"


def test_low_rated_customer_has_no_review_within_two_years(engine):
    result = run(engine, [individual(), cash("10", at="2027-12-31T10:00:00+08:00")])
    assert review_tasks(result) == []


def test_grace_hours_delay_the_review_decision():
    engine = make_engine({"deadline_grace_hours": 2})
    result = run(
        engine,
        [
            pep_opening(),
            cash("10", at="2026-09-03T01:59:59+08:00"),
            cash("10", at="2026-09-03T02:00:01+08:00"),
        ],
    )
    assert [len(o.findings.tasks) for o in result.outcomes] == [1, 0, 1]


def test_review_is_decided_for_a_state_record_without_due_ms(engine):
    from monitor.core.state import CustomerState

    state = run(engine, [pep_opening()]).states["C001"]
    older = CustomerState.from_bytes(state.to_bytes())
    del older.risk["due_ms"]  # as the previous version wrote the record
    assert older.risk["next_review"] == "2026-09-02"
    result = run(engine, [cash("10", at="2026-09-03T10:00:00+08:00")], states={"C001": older})
    assert len(review_tasks(result)) == 1


def test_add_months_keeps_the_day_or_takes_the_months_last_day():
    import calendar
    from datetime import timedelta

    from monitor.core.risk import add_months

    day = date(2023, 1, 1)
    while day < date(2029, 1, 1):  # leap years, month ends, both directions
        for months in (-13, -1, 0, 1, 6, 12, 36):
            month0 = day.month - 1 + months
            year, month = day.year + month0 // 12, month0 % 12 + 1
            expected = date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
            assert add_months(day, months) == expected, (day, months)
        day += timedelta(days=1)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 3, 31), -1) == date(2023, 2, 28)
