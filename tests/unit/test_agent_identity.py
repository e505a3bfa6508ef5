"""An agent named on an opening (PBoC/NFRA/CSRC Order 2025 No.11: someone acting for a
customer, verify both the agent's and the customer's identity; the seed's 第二条(二)): a
KYC_INCOMPLETE finding naming the agent's gaps and an INCOMPLETE_KYC task when the agent's
name or identity document is missing or the document has expired."""

from __future__ import annotations

import pytest

from .conftest import (
    PERSON_ID_NUMBER,
    individual_opening_data,
    make_engine,
    opening,
    prc_id,
    run,
    update,
    without,
)

AGENT_NUMBER = prc_id("11010519800101001")
VALID_AGENT = {
    "name": "Agent Person",
    "id_document": {"type": "resident_id", "number": AGENT_NUMBER, "expires_on": "2030-01-01"},
}


def _opening(agent, **kw):
    data = individual_opening_data(customer_id="AG1", event_id="o-AG1", **kw)
    data["agent"] = agent
    return opening(data)


@pytest.mark.parametrize(
    ("agent", "gaps"),
    [
        ({"name": "Agent Person"}, "agent id_document"),
        ({"id_document": VALID_AGENT["id_document"]}, "agent name"),
        (
            {**VALID_AGENT, "id_document": {"type": "resident_id", "number": " "}},
            "agent id_document",
        ),
        (
            {
                **VALID_AGENT,
                "id_document": {**VALID_AGENT["id_document"], "expires_on": "2026-03-01"},
            },
            "agent id_document expired",
        ),
        ({}, "agent name, agent id_document"),
    ],
    ids=["no-document", "no-name", "blank-number", "expired", "empty"],
)
def test_order_2025_no11_opening_by_an_agent_without_verified_identity(engine, agent, gaps):
    result = run(engine, [_opening(agent, at="2026-03-02T10:00:00+08:00")])
    (alert,) = result.by_rule("KYC_INCOMPLETE")
    assert alert.summary == (
        f"account opening o-AG1 is made by an agent without a verified identity: {gaps}"
    )
    assert alert.category == "due_diligence"
    assert alert.evidence == ["o-AG1"]
    (task,) = [t for t in result.tasks if t.trigger == "INCOMPLETE_KYC"]
    assert task.alert_ids == [alert.alert_id]


def test_an_agent_with_a_complete_valid_identity_raises_nothing(engine):
    result = run(engine, [_opening(VALID_AGENT)])
    assert result.alerts == []
    assert result.tasks == []


def test_no_agent_raises_nothing(engine):
    assert run(engine, [_opening(None)]).alerts == []


def test_agent_document_valid_through_its_expiry_day_in_the_bank_zone(engine):
    doc = {**VALID_AGENT["id_document"], "expires_on": "2026-03-02"}
    # 2026-03-02T15:59:59Z is 23:59:59 on 2 March in Shanghai: still valid
    ok = run(engine, [_opening({**VALID_AGENT, "id_document": doc}, at="2026-03-02T15:59:59Z")])
    assert ok.alerts == []
    # 2026-03-02T16:00:00Z is already 3 March in Shanghai: expired
    late = run(
        make_engine(), [_opening({**VALID_AGENT, "id_document": doc}, at="2026-03-02T16:00:00Z")]
    )
    assert late.by_rule("KYC_INCOMPLETE")[0].summary.endswith("agent id_document expired")


def test_missing_customer_fields_and_agent_gaps_make_one_finding(engine):
    data = without(individual_opening_data(customer_id="AG1", event_id="o-AG1"), "phone")
    data["agent"] = {"name": "Agent Person"}
    result = run(engine, [opening(data)])
    (alert,) = result.by_rule("KYC_INCOMPLETE")
    assert alert.summary == (
        "account opening o-AG1 leaves mandatory identity fields missing: phone; "
        "is made by an agent without a verified identity: agent id_document"
    )
    assert [t.trigger for t in result.tasks] == ["INCOMPLETE_KYC"]


def test_an_update_made_by_an_agent_is_checked_too(engine):
    upd = update(
        {"phone": "+86 10 1234 5678", "agent": {"name": "Agent Person"}},
        customer_id="AG1",
        event_id="u-AG1",
    )
    result = run(engine, [_opening(None), upd])
    (alert,) = result.by_rule("KYC_INCOMPLETE")
    assert alert.summary == (
        "customer update u-AG1 is made by an agent without a verified identity: agent id_document"
    )


def test_the_agent_check_can_be_switched_off():
    engine = make_engine({"rules.KYC_INCOMPLETE.check_agent": False})
    assert run(engine, [_opening({})]).alerts == []


def test_the_agents_identity_never_reaches_the_summary_or_the_state(engine):
    result = run(engine, [_opening({"name": "Agent Person"})])
    (alert,) = result.by_rule("KYC_INCOMPLETE")
    raw = result.states["AG1"].to_bytes().decode()
    for text in ("Agent Person", AGENT_NUMBER, PERSON_ID_NUMBER):
        assert text not in alert.summary
        assert text not in raw
