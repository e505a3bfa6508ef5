"""LV_CASH_CONDUCTOR in the us-bsa pack: multiple currency transactions are one "if the
financial institution has knowledge that they are by or on behalf of any person" (31 CFR
1010.313(b)): cash one person conducts for several customers on one business day is more
than USD 10,000 (31 CFR 1010.311) for that person too. The core aggregates it in a state
record keyed by the conductor's person key (`monitor.core.conductor`); offline runs apply it
in the same step as the cash (`monitor.tools.offline.OfflineRun`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from monitor.core.conductor import PERSON_KEY_PREFIX, ConductorCash, conductor_cash, conductor_key
from monitor.core.engine import Engine
from monitor.core.rules import Findings
from monitor.tools.offline import OfflineRun

from .conftest import DETECTED_AT, cash, make_pack, run

LV = "LV_CASH"
BY_CONDUCTOR = "LV_CASH_CONDUCTOR"
PASSPORT = "X12345678"
AT = "2026-03-03T10:00:00-05:00"  # Tuesday, New York


def conductor(number: str = PASSPORT, kind: str | None = "passport", name: str = "Ann Lee"):
    return {"name": name, "id_document": {"type": kind, "number": number}}


def by(customer_id: str, amount: str, at: str = AT, who: dict | None = None, **kw: Any):
    return cash(
        amount,
        currency="USD",
        at=at,
        customer_id=customer_id,
        conductor=who or conductor(),
        **kw,
    )


@pytest.fixture
def engine(us_pack) -> Engine:
    return Engine(us_pack)


def run_with_conductors(engine: Engine, events: list[Any]) -> list[Any]:
    """The currency transaction reports (LV_CASH, LV_CASH_CONDUCTOR) of `events` in order,
    each cash applied to its customer's record and then to its conductor's, as `OfflineRun`
    does (CDD_AGENT, about the customers' identities, is left out)."""
    alerts: list[Any] = []
    runner = OfflineRun(engine.pack, lambda f: alerts.extend(f.alerts), DETECTED_AT)
    for event in events:
        runner.apply(event, int(event.event_time.timestamp() * 1000))
    return [a for a in alerts if a.rule_id in (LV, BY_CONDUCTOR)]


# --------------------------------------------------------------------------- person key


def test_person_key_is_a_fingerprint_of_the_document():
    key = conductor_key(by("C1", "1"))
    assert key is not None and key.startswith(PERSON_KEY_PREFIX)
    assert len(key) == len(PERSON_KEY_PREFIX) + 32
    assert PASSPORT not in key and PASSPORT.lower() not in key


@pytest.mark.parametrize(
    ("number", "kind", "same"),
    [
        ("x12345678", "passport", True),  # case
        (" X 1234-5678 ", "passport", True),  # spaces and punctuation
        ("X12345678", "Passport ", True),  # the type's case and spaces
        ("X12345679", "passport", False),
        ("X12345678", "driver_license", False),  # another document type
        ("X12345678", None, False),
    ],
)
def test_person_key_normalises_the_document(number, kind, same):
    other = conductor_key(by("C1", "1", who=conductor(number, kind)))
    assert (other == conductor_key(by("C1", "1"))) is same


def test_person_key_ignores_the_name():
    assert conductor_key(by("C1", "1", who=conductor(name="A. Lee"))) == conductor_key(
        by("C2", "1")
    )


@pytest.mark.parametrize(
    "who",
    [None, {"name": "Ann Lee"}, {"name": "Ann Lee", "id_document": {"type": "passport"}}],
)
def test_no_person_key_without_a_document_number(who):
    event = cash("1", currency="USD", at=AT, conductor=who)
    assert conductor_key(event) is None
    assert conductor_cash(event) is None


def test_conductor_cash_reads_like_the_cash():
    event = by("C1", "6000", txn_id="T-1")
    person = conductor_cash(event)
    assert isinstance(person, ConductorCash)
    assert person.customer_id == conductor_key(event)
    assert person.on_behalf_of == "C1"
    assert (person.event_id, person.txn_id, person.amount) == (event.event_id, "T-1", 6000)
    assert person.event_time == event.occurred_at


# --------------------------------------------------------------------------- the rule


def test_cash_for_two_customers_is_more_than_10000_for_the_conductor(engine):
    events = [by("C1", "6000", txn_id="T-1"), by("C2", "4000.01", txn_id="T-2")]
    alerts = run_with_conductors(engine, events)
    assert [a.rule_id for a in alerts] == [BY_CONDUCTOR]  # neither customer's own total is
    (alert,) = alerts
    assert alert.customer_id == conductor_key(events[0])
    assert alert.summary == (
        "2 cash deposits by one person for 2 customers totalling 10,000.01 USD on 2026-03-03 "
        "exceed the 10,000.00 USD large-value threshold"
    )
    assert alert.evidence == ["T-1", "T-2"]
    assert alert.amount == Decimal("10000.01") and alert.currency == "USD"
    assert alert.category == "large_value_report" and alert.queue == "ctr"
    assert alert.report_due == date(2026, 3, 18)  # 15 calendar days (31 CFR 1010.306(a)(1))


@pytest.mark.parametrize(("second", "fires"), [("4000.00", False), ("4000.01", True)])
def test_more_than_10000(engine, second, fires):
    alerts = run_with_conductors(engine, [by("C1", "6000"), by("C2", second)])
    assert len([a for a in alerts if a.rule_id == BY_CONDUCTOR]) == (1 if fires else 0)


def test_cash_for_one_customer_is_that_customers_report_only(engine):
    alerts = run_with_conductors(engine, [by("C1", "6000"), by("C1", "4000.01")])
    assert [a.rule_id for a in alerts] == [LV]


def test_second_customer_after_the_crossing_reports_the_conductor(engine):
    events = [by("C1", "10000.01", txn_id="T-1"), by("C2", "1", txn_id="T-2")]
    alerts = run_with_conductors(engine, events)
    assert [a.rule_id for a in alerts] == [LV, BY_CONDUCTOR]
    assert alerts[1].evidence == ["T-1", "T-2"]
    assert alerts[1].summary.startswith("2 cash deposits by one person for 2 customers")


def test_the_days_report_grows_with_later_cash(engine):
    # one CTR for the person's day, as LV_CASH's: later cash emits it again, grown
    events = [by("C1", "6000", txn_id="T-1"), by("C2", "6000", txn_id="T-2")]
    events.append(by("C3", "500", txn_id="T-3"))
    first, grown = run_with_conductors(engine, events)
    assert first.alert_id == grown.alert_id
    assert grown.evidence == ["T-1", "T-2", "T-3"] and grown.amount == Decimal("12500.00")
    assert grown.summary.startswith("3 cash deposits by one person for 3 customers")
    person = conductor_cash(events[2])
    state = OfflineRun(engine.pack, lambda f: None, DETECTED_AT)
    for event in events[:2]:
        state.apply(event, int(event.event_time.timestamp() * 1000))
    outcome = engine.process(state.states[person.customer_id], person, DETECTED_AT)
    assert outcome.findings.grown == [grown.alert_id]


def test_different_conductors_are_apart(engine):
    events = [by("C1", "6000"), by("C2", "6000", who=conductor("Y999"))]
    assert run_with_conductors(engine, events) == []


@pytest.mark.parametrize(
    ("second_at", "fires"),
    [("2026-03-03T23:59:59-05:00", True), ("2026-03-04T00:00:00-05:00", False)],
)
def test_one_new_york_business_day(engine, second_at, fires):
    alerts = run_with_conductors(engine, [by("C1", "6000"), by("C2", "6000", at=second_at)])
    assert len(alerts) == (1 if fires else 0)


def test_deposits_and_withdrawals_are_apart(engine):
    events = [by("C1", "6000"), by("C2", "6000", direction="out")]
    assert run_with_conductors(engine, events) == []


def test_currencies_are_summed_in_usd(engine):
    events = [
        by("C1", "6000"),
        cash("28115.21", currency="CNY", at=AT, customer_id="C2", conductor=conductor()),
    ]  # USD 4,000.00142...
    (alert,) = run_with_conductors(engine, events)
    assert alert.amount == Decimal("10000.00")  # 10,000.0014 rounded: still more than 10,000


def test_a_redelivered_cash_counts_once(engine):
    first = by("C1", "6000")
    assert run_with_conductors(engine, [first, first]) == []


def test_arrival_order_of_the_conductor_side_gives_the_same_alert(engine):
    # the worker applies the conductor's side after a trip through the events topic: in
    # another order than the customers' side; the alert id depends on the facts only
    events = [by("C1", "6000"), by("C2", "3000"), by("C3", "1000.01")]
    in_order = run_with_conductors(engine, events)
    states: dict[str, Any] = {}
    reversed_alerts = []
    for event in reversed(events):
        person = conductor_cash(event)
        assert person is not None
        outcome = engine.process(states.get(person.customer_id), person, DETECTED_AT)
        states[person.customer_id] = outcome.state
        reversed_alerts += outcome.findings.alerts
    assert [a.alert_id for a in reversed_alerts] == [a.alert_id for a in in_order]
    assert reversed_alerts[0].amount == in_order[0].amount


def test_the_state_and_the_alert_never_hold_the_document_number_or_name(engine):
    events = [by("C1", "6000"), by("C2", "6000")]
    runner = OfflineRun(engine.pack, lambda f: None, DETECTED_AT)
    found: list[Findings] = []
    runner.on_findings = found.append
    for event in events:
        runner.apply(event, int(event.event_time.timestamp() * 1000))
    key = conductor_key(events[0])
    raw = runner.states[key].to_bytes() + found[0].alerts[0].model_dump_json().encode()
    assert PASSPORT.encode() not in raw and b"Ann Lee" not in raw


def test_customer_side_runs_no_conductor_rule_and_conductor_side_no_customer_rule(engine):
    event = by("C1", "10000.01")
    assert [a.rule_id for a in run(engine, [event]).alerts if "LV" in a.rule_id] == [LV]
    person = conductor_cash(event)
    outcome = engine.process(None, person, DETECTED_AT)
    assert outcome.findings.alerts == [] and outcome.findings.tasks == []
    assert outcome.state.risk == {} and outcome.state.profile is None


# --------------------------------------------------------------------------- packs and runs


def test_off_in_the_default_pack(pack):
    assert pack.config.rules.LV_CASH_CONDUCTOR.enabled is False
    assert Engine(pack).conductors is False


def test_on_in_the_us_pack(engine):
    assert engine.conductors is True


def test_offline_run_without_the_rule_keeps_no_conductor_state(pack):
    runner = OfflineRun(pack, lambda f: None, DETECTED_AT)
    for event in [by("C1", "6000"), by("C2", "6000")]:
        runner.apply(event, int(event.event_time.timestamp() * 1000))
    assert set(runner.states) == {"C1", "C2"}
    assert runner.stats.events == 2


def test_offline_counts_events_once(engine):
    runner = OfflineRun(engine.pack, lambda f: None, DETECTED_AT)
    first = by("C1", "6000")
    for event in [first, first, by("C2", "6000")]:
        runner.apply(event, int(event.event_time.timestamp() * 1000))
    assert runner.stats.events == 3
    assert runner.stats.duplicates == 1
    assert runner.stats.alerts == 1


def test_run_offline_over_files(tmp_path, us_pack):
    from monitor.tools.offline import run_offline

    rows = [by("C1", "6000"), by("C2", "4000.01")]
    (tmp_path / "txn.cash.jsonl").write_text(
        "".join(e.model_dump_json() + "\n" for e in rows), encoding="utf-8"
    )
    alerts: list[Any] = []
    run_offline(us_pack, tmp_path, lambda f: alerts.extend(f.alerts), datetime.now(UTC))
    assert [a.rule_id for a in alerts] == [BY_CONDUCTOR]


def test_conductor_record_stored_between_events_gives_the_same_alert(engine):
    from monitor.core.state import CustomerState

    events = [by("C1", "6000"), by("C2", "3000"), by("C1", "1000.01")]
    kept = run_with_conductors(engine, events)
    state = None
    stored = []
    for event in events:
        outcome = engine.process(state, conductor_cash(event), DETECTED_AT)
        stored += outcome.findings.alerts
        state = CustomerState.from_bytes(outcome.state.to_bytes())
    assert stored == kept and len(kept) == 1


def test_scenario_expectations_include_the_conductor(us_pack):
    from monitor.tools.scenario import Message, expected_findings

    rows = [by("C1", "6000"), by("C2", "4000.01")]
    messages = [Message("cash", e.customer_id.encode(), e.model_dump_json().encode()) for e in rows]
    findings, invalid = expected_findings(us_pack, messages)
    assert invalid == 0
    assert [a.rule_id for a in findings.alerts if "LV" in a.rule_id] == [BY_CONDUCTOR]


def test_sharded_replay_of_a_pack_across_customers_is_sharded(us_pack, monkeypatch):
    # a conductor's cash is spread over customers of every shard: the shards pass it on to
    # the second pass (`monitor.tools.replay_accounts`), so such packs are sharded too
    from monitor.io.settings import load_settings
    from monitor.tools import replay as replay_module
    from monitor.tools.offline import RunStats

    calls: list[str] = []

    async def one(*args: Any, **kwargs: Any) -> RunStats:
        calls.append("one")
        return RunStats()

    def sharded(*args: Any, **kwargs: Any) -> RunStats:
        calls.append("sharded")
        return RunStats()

    monkeypatch.setattr(replay_module, "_replay", one)
    monkeypatch.setattr(replay_module, "_replay_sharded", sharded)
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
    settings = load_settings()
    for which in (us_pack, make_pack()):  # per conductor; across accounts
        replay_module.replay(
            settings, which, start, end, None, "x.", show_progress=False, workers=2
        )
    assert calls == ["sharded", "sharded"]
