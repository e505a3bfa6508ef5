"""The rules across customers on account records (monitor.core.network), from the indicators'
wording: COUNTERPARTY_HUB, many of our customers paying (or paid by) one account within days
(a collector or mule hub; PBoC 2006 Order No.2 art. 11(1) 分散转入、集中转出 seen from the
account the money gathers in), and FUNDS_CYCLE, money leaving a customer and coming back to
it through a short chain of transfers within days (round-tripping). Positives, near misses,
look-alike noise (a merchant's shoppers, a payroll, moves among one's own accounts), and the
same findings in whatever order the re-keyed transfers and paths arrive."""

from __future__ import annotations

import random
from itertools import permutations
from typing import Any

import pytest

from monitor.core.engine import Engine
from monitor.core.network import (
    ACCOUNT_KEY_PREFIX,
    Edge,
    Token,
    account_key,
    mask,
    network_edges,
)
from monitor.core.state import CustomerState
from schemas import Alert

from .conftest import DETECTED_AT, make_engine, remittance, transfer

HUB = "6217000000009999"
HUB_RULE, CYCLE_RULE = "COUNTERPARTY_HUB", "FUNDS_CYCLE"


def run_net(
    engine: Engine, events: list[Any], seed: int | None = None
) -> tuple[dict[str, Alert], list[Alert], dict[str, CustomerState]]:
    """Every event through its customer's record, then its edges through the account records
    and the paths passed on, at once (seed None) or all of them in a random order; returns
    (the latest version of each alert, every alert emitted, the states)."""
    states: dict[str, CustomerState] = {}
    latest: dict[str, Alert] = {}
    emitted: list[Alert] = []
    pending: list[Any] = []
    rng = random.Random(seed)

    def process(event: Any) -> None:
        outcome = engine.process(states.get(event.customer_id), event, DETECTED_AT)
        states[event.customer_id] = outcome.state
        for alert in outcome.findings.alerts:
            latest[alert.alert_id] = alert
            emitted.append(alert)
        pending.extend(outcome.findings.forwards)

    def drain() -> None:
        while pending:
            at = rng.randrange(len(pending)) if seed is not None else 0
            process(pending.pop(at))

    for event in events:
        process(event)
        pending.extend(engine.edges(event))
        if seed is None:
            drain()
    drain()
    return latest, emitted, states


def of(rule: str, alerts: dict[str, Alert]) -> list[Alert]:
    return sorted((a for a in alerts.values() if a.rule_id == rule), key=lambda a: a.alert_id)


def _dump(alerts: list[Alert]) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json") for a in alerts]


@pytest.fixture
def engine() -> Engine:
    return make_engine()


# ----------------------------------------------------------------------- account key, edges


def test_the_account_key_is_a_fingerprint_never_the_number():
    key = account_key(" 6217 0000 0000 9999 ")
    assert key == account_key("6217000000009999")
    assert key is not None and key.startswith(ACCOUNT_KEY_PREFIX) and HUB not in key
    assert account_key("") is None and account_key(None) is None
    assert mask(HUB) == "****9999"


def test_an_outflow_goes_to_the_payee_and_with_cycles_to_the_payer_account():
    event = transfer("20000", direction="out", customer_id="C1", counterparty=HUB)
    (only,) = network_edges(event, cycles=False)
    assert (only.customer_id, only.role, only.src_owner) == (account_key(HUB), "i", "C1")
    both = network_edges(event, cycles=True)
    assert [(e.customer_id, e.role) for e in both] == [
        (account_key(HUB), "i"),
        (account_key("ACC-C1"), "o"),
    ]


def test_both_sides_of_a_transfer_between_our_customers_are_one_edge():
    out = transfer(
        "20000",
        direction="out",
        customer_id="C1",
        counterparty="ACC-C2",
        counterparty_customer="C2",
        txn_id="T-1",
    )
    inn = transfer(
        "20000",
        direction="in",
        customer_id="C2",
        counterparty="ACC-C1",
        counterparty_customer="C1",
        txn_id="T-1-in",
    )
    assert {e.event_id for e in network_edges(out, True)} == {
        e.event_id for e in network_edges(inn, True)
    }


def test_a_supplement_an_unknown_counterparty_and_cash_apply_to_no_account():
    assert network_edges(remittance(kind="supplement", amount=None, currency=None), True) == []
    assert network_edges(transfer(counterparty=None), True) == []
    assert network_edges(transfer(counterparty="ACC-C001"), True) == []  # its own account


def test_a_remittance_payment_is_an_edge_between_the_two_account_numbers():
    edges = network_edges(remittance("30000", direction="out", customer_id="C9"), True)
    assert [e.role for e in edges] == ["i", "o"]
    assert edges[0].src_owner == "C9" and edges[0].dst_owner == ""


def test_a_token_survives_its_bytes():
    leg = ("T1", "account:a", "account:b", "C1", "", 2_000_000, 1_000, "****0001", "****0002")
    token = Token("account:b", (leg,))
    assert Token.from_bytes(token.to_bytes()) == token
    assert Token.from_bytes(b"not json") is None


# ------------------------------------------------------------------------- COUNTERPARTY_HUB


def _payers(n: int, amount: str = "20000", days: list[int] | None = None, **kw: Any) -> list[Any]:
    days = days or [3 + k // 3 for k in range(n)]
    return [
        transfer(
            amount,
            direction="out",
            customer_id=f"C{k}",
            counterparty=HUB,
            at=f"2026-03-{days[k]:02d}T1{k % 10}:00:00+08:00",
            txn_id=f"H{k}",
            **kw,
        )
        for k in range(n)
    ]


def test_five_customers_paying_one_account_within_days_alerts_every_one(engine):
    latest, _, _ = run_net(engine, _payers(5))
    alerts = of(HUB_RULE, latest)
    assert sorted(a.customer_id for a in alerts) == [f"C{k}" for k in range(5)]
    for alert in alerts:
        assert sorted(alert.evidence) == [f"H{k}" for k in range(5)]
        figures = alert.explanation.figures
        assert figures["customers"] == 5 and figures["hub_account"] == "****9999"
        assert figures["side"] == "paying" and figures["total"] == "100000.00"
        assert HUB not in alert.model_dump_json()  # the number masked, the key a fingerprint
        assert alert.category == "suspicious"
        assert "5 customers of ours paid one account" in alert.explanation.narrative.en
        assert "个本行客户" in alert.explanation.narrative.zh


def test_four_customers_are_a_near_miss(engine):
    assert of(HUB_RULE, run_net(engine, _payers(4))[0]) == []


def test_five_customers_spread_over_more_than_the_window_are_a_near_miss(engine):
    # days 1, 2, 4, 5, 7: no three consecutive days hold five customers
    assert of(HUB_RULE, run_net(engine, _payers(5, days=[1, 2, 4, 5, 7]))[0]) == []


def test_shoppers_paying_a_merchant_below_the_minimum_are_not_a_hub(engine):
    # look-alike: 30 ordinary customers buying at one shop, CNY 300 each
    assert of(HUB_RULE, run_net(engine, _payers(30, "300.00", days=[3] * 30))[0]) == []


def test_a_payroll_paying_many_of_our_customers_is_not_a_hub(engine):
    # look-alike: one employer pays 12 of our customers their salary on one day
    salaries = [
        transfer(
            "8000",
            direction="in",
            customer_id=f"E{k}",
            counterparty=HUB,
            txn_id=f"S{k}",
            at="2026-03-10T14:00:00+08:00",
            purpose="salary",
        )
        for k in range(12)
    ]
    assert of(HUB_RULE, run_net(engine, salaries)[0]) == []
    unexplained = [s.model_copy(update={"purpose": None}) for s in salaries]
    alerts = of(HUB_RULE, run_net(engine, unexplained)[0])
    assert len(alerts) == 12 and {a.explanation.figures["side"] for a in alerts} == {"paid"}


def test_a_customers_own_other_account_is_not_a_hub(engine):
    own = [
        transfer(
            "20000",
            direction="out",
            customer_id="C1",
            counterparty=HUB,
            counterparty_customer="C1",
            txn_id=f"O{k}",
            at=f"2026-03-03T1{k}:00:00+08:00",
        )
        for k in range(6)
    ]
    assert of(HUB_RULE, run_net(engine, own)[0]) == []


def test_a_sixth_customer_grows_the_same_alerts(engine):
    first, _, _ = run_net(engine, _payers(5))
    grown, emitted, _ = run_net(engine, _payers(6))
    assert set(first) < set(grown)  # the five alerts keep their ids; the sixth is new
    for alert_id in first:
        assert len(grown[alert_id].evidence) == 6
    assert len([a for a in emitted if a.alert_id == next(iter(first))]) >= 2  # re-emitted


@pytest.mark.parametrize("seed", range(6))
def test_hub_alerts_do_not_depend_on_arrival_order(engine, seed):
    events = _payers(8, days=[1, 2, 3, 3, 3, 4, 5, 6])
    in_order = of(HUB_RULE, run_net(engine, events)[0])
    shuffled = list(events)
    random.Random(seed).shuffle(shuffled)
    assert _dump(of(HUB_RULE, run_net(make_engine(), shuffled, seed=seed)[0])) == _dump(in_order)
    assert in_order


def test_the_hub_rule_reads_its_parameters_from_the_pack():
    engine = make_engine({"rules.COUNTERPARTY_HUB.min_customers": 3})
    assert len(of(HUB_RULE, run_net(engine, _payers(3))[0])) == 3
    off = make_engine({"rules.COUNTERPARTY_HUB.sides": ["paid"]})
    assert of(HUB_RULE, run_net(off, _payers(5))[0]) == []


# ----------------------------------------------------------------------------- FUNDS_CYCLE

X, Y, Z = "6217000000003100", "6217000000003200", "6217000000003300"


def _t(txn: str, cid: str, at: str, direction: str, amount: str, cp: str, cp_customer=None):
    return transfer(
        amount,
        direction=direction,
        customer_id=cid,
        counterparty=cp,
        counterparty_customer=cp_customer,
        txn_id=txn,
        at=f"2026-03-{at}+08:00",
    )


def _four_hops(back: str = "04T09:00:00", back_amount: str = "47000") -> list[Any]:
    """C1 -> X (outside) -> C2 -> Y (outside) -> C1, as both customers' transfers show it."""
    return [
        _t("L1", "C1", "03T09:00:00", "out", "50000", X),
        _t("L2", "C2", "03T11:00:00", "in", "49000", X),
        _t("L3", "C2", "03T15:00:00", "out", "48000", Y),
        _t("L4", "C1", back, "in", back_amount, Y),
    ]


def test_money_back_at_its_origin_through_four_transfers_alerts_every_member(engine):
    latest, _, _ = run_net(engine, _four_hops())
    alerts = of(CYCLE_RULE, latest)
    assert sorted(a.customer_id for a in alerts) == ["C1", "C2"]
    for alert in alerts:
        assert alert.evidence == ["L1", "L2", "L3", "L4"]
        figures = alert.explanation.figures
        assert figures["hops"] == 4 and figures["members"] == ["C1", "C2"]
        assert figures["origin"] == "C1" and figures["returned_pct"] == "94.00"
        assert [t["txn_id"] for t in figures["transfers"]] == ["L1", "L2", "L3", "L4"]
        assert "round trip" in alert.explanation.narrative.en
        assert "资金循环" in alert.explanation.narrative.zh
    assert alerts[0].alert_id != alerts[1].alert_id


def test_a_cycle_among_our_customers_reported_by_both_sides_is_found_once(engine):
    # C1 -> C2 -> C3 -> C1, every transfer reported by its payer and its payee
    legs = [("C1", "C2", "03T09"), ("C2", "C3", "03T12"), ("C3", "C1", "03T18")]
    events = []
    for n, (a, b, at) in enumerate(legs):
        events.append(_t(f"K{n}", a, f"{at}:00:00", "out", str(30000 - n * 500), f"ACC-{b}", b))
        events.append(_t(f"K{n}-in", b, f"{at}:00:00", "in", str(30000 - n * 500), f"ACC-{a}", a))
    _, emitted, _ = run_net(engine, events)
    cycles = [a for a in emitted if a.rule_id == CYCLE_RULE]
    assert sorted(a.customer_id for a in cycles) == ["C1", "C2", "C3"]  # once each


@pytest.mark.parametrize(
    ("case", "events"),
    [
        ("back after the 72-hour window", _four_hops(back="06T10:00:00")),
        ("too little carried on (under 70 %)", _four_hops(back_amount="30000")),
        (
            "there and back is two transfers (FREQUENT_SAME_COUNTERPARTY's)",
            [
                _t("B1", "C1", "03T09:00:00", "out", "50000", X),
                _t("B2", "C1", "03T19:00:00", "in", "49000", X),
            ],
        ),
        (
            "five transfers are more than max_hops",
            [
                _t("M1", "C1", "03T09:00:00", "out", "50000", X),
                _t("M2", "C2", "03T10:00:00", "in", "50000", X),
                _t("M3", "C2", "03T11:00:00", "out", "50000", Y),
                _t("M4", "C3", "03T12:00:00", "in", "50000", Y),
                _t("M5", "C3", "03T13:00:00", "out", "50000", Z),
                _t("M6", "C1", "03T14:00:00", "in", "50000", Z),
            ],
        ),
        (
            "an onward transfer before the money arrived",
            [
                _t("E1", "C1", "03T09:00:00", "out", "50000", X),
                _t("E2", "C2", "03T11:00:00", "in", "49000", X),
                _t("E3", "C2", "03T10:00:00", "out", "48000", Y),
                _t("E4", "C1", "03T16:00:00", "in", "47000", Y),
            ],
        ),
        (
            "small amounts (under CNY 10,000 a transfer)",
            [
                _t(f"S{n}", *row)
                for n, row in enumerate(
                    [
                        ("C1", "03T09:00:00", "out", "5000", X),
                        ("C2", "03T11:00:00", "in", "4900", X),
                        ("C2", "03T15:00:00", "out", "4800", Y),
                        ("C1", "04T09:00:00", "in", "4700", Y),
                    ]
                )
            ],
        ),
    ],
)
def test_near_misses_are_no_cycle(engine, case, events):
    assert of(CYCLE_RULE, run_net(engine, events)[0]) == [], case


def test_moving_money_among_ones_own_accounts_is_no_cycle(engine):
    # look-alike: savings moved from the current account to two own accounts and back
    own1, own2 = "6217000000004401", "6217000000004402"
    events = [
        _t("W1", "C1", "03T09:00:00", "out", "40000", own1, "C1"),
        _t("W2", "C1", "03T10:00:00", "in", "40000", own1, "C1"),  # the savings side
        _t("W3", "C1", "03T11:00:00", "out", "40000", own2, "C1"),
        _t("W4", "C1", "03T13:00:00", "in", "40000", own2, "C1"),
    ]
    assert of(CYCLE_RULE, run_net(engine, events)[0]) == []


def test_a_round_trip_through_an_own_account_and_an_outside_one_is_a_cycle(engine):
    own = "6217000000004401"
    events = [
        _t("R1", "C1", "03T09:00:00", "out", "40000", own, "C1"),
        # C1's other account pays an outside account, which pays C1 back
        transfer(
            "39000",
            direction="out",
            customer_id="C1",
            account_id=own,
            counterparty=X,
            txn_id="R2",
            at="2026-03-03T12:00:00+08:00",
        ),
        _t("R3", "C1", "03T18:00:00", "in", "38000", X),
    ]
    (alert,) = of(CYCLE_RULE, run_net(engine, events)[0])
    assert alert.customer_id == "C1" and alert.evidence == ["R1", "R2", "R3"]


@pytest.mark.parametrize("order", list(permutations(range(4)))[::5])
def test_cycle_alerts_do_not_depend_on_arrival_order(engine, order):
    events = _four_hops()
    in_order = _dump(of(CYCLE_RULE, run_net(engine, events)[0]))
    shuffled = [events[i] for i in order]
    for seed in range(3):
        got = run_net(make_engine(), shuffled, seed=seed)[0]
        assert _dump(of(CYCLE_RULE, got)) == in_order


def test_a_redelivered_transfer_finds_no_second_cycle(engine):
    events = _four_hops()
    _, emitted, _ = run_net(engine, [*events, *events])
    assert len([a for a in emitted if a.rule_id == CYCLE_RULE]) == 2


def test_paths_followed_from_one_arrival_are_bounded():
    engine = make_engine({"rules.FUNDS_CYCLE.max_fanout": 3})
    # 10 transfers out of C2's account after one path arrives: at most 3 followed
    events = [
        _t("F0", "C1", "03T09:00:00", "out", "50000", X),
        _t("F1", "C2", "03T10:00:00", "in", "50000", X),
    ]
    events += [
        _t(f"F{n}", "C2", f"03T1{n - 1}:30:00", "out", "40000", f"62170000000050{n:02d}")
        for n in range(2, 10)
    ]
    states = run_net(engine, events)[2]
    paths_of = [
        key
        for key, state in states.items()
        if any(i.kind == "t" and len(i.body) == 3 for i in state.windows.get("NET", ()))
    ]
    # each transfer out arriving after the path pairs with it once: one path at each payee
    assert len(paths_of) == 8
    engine = make_engine({"rules.FUNDS_CYCLE.max_fanout": 3})
    # arriving after the 8 transfers out, the path is paired with the first 3 (event time)
    # only: past the cap, which onward transfers are followed depends on arrival order
    late = [*events[2:], *events[:2]]
    states = run_net(engine, late)[2]
    paths_of = [
        key
        for key, state in states.items()
        if any(i.kind == "t" and len(i.body) == 3 for i in state.windows.get("NET", ()))
    ]
    assert len(paths_of) == 3


def test_the_paths_kept_per_account_are_capped():
    engine = make_engine({"rules.FUNDS_CYCLE.max_paths": 5})
    events = [_t(f"P{n}", f"C{n}", f"03T{n + 8:02d}:00:00", "out", "20000", X) for n in range(9)]
    states = run_net(engine, events)[2]
    net = states[account_key(X)].windows["NET"]
    assert len([i for i in net if i.kind == "t"]) == 5
    assert [i.body[0][0] for i in net if i.kind == "t"] == ["P4", "P5", "P6", "P7", "P8"]


def test_an_account_record_survives_its_bytes(engine):
    events = _four_hops()
    _, _, states = run_net(engine, events[:3])
    outcome_states = {k: CustomerState.from_bytes(s.to_bytes()) for k, s in states.items()}
    # the fourth transfer on the stored records finds the cycle as on the live ones
    engine2 = make_engine()
    pending: list[Any] = [events[3], *network_edges(events[3], True)]
    found = []
    while pending:
        event = pending.pop(0)
        outcome = engine2.process(outcome_states.get(event.customer_id), event, DETECTED_AT)
        outcome_states[event.customer_id] = outcome.state
        found += [a.customer_id for a in outcome.findings.alerts if a.rule_id == CYCLE_RULE]
        pending += outcome.findings.forwards
    assert sorted(found) == ["C1", "C2"]


def test_account_records_run_only_the_rules_across_customers(engine):
    event = _four_hops()[0]
    edge = network_edges(event, True)[0]
    assert isinstance(edge, Edge)
    outcome = engine.process(None, edge, DETECTED_AT)
    assert outcome.state.profile is None and outcome.state.risk == {}
    assert not outcome.findings.tasks


# ----------------------------------------------------------------------------- simulator


def test_the_simulator_injects_hubs_and_cycles_with_look_alikes():
    import orjson

    from monitor.core.decode import Decoder
    from monitor.tools.offline import OfflineRun
    from monitor.tools.simulate import TOPIC_FILES, simulate

    sim = simulate(customers=1500, days=14, seed=5)
    pack = make_engine().pack
    decoder, alerts = Decoder(pack.fx), []
    runner = OfflineRun(pack, lambda f: alerts.extend(f.alerts), DETECTED_AT)
    timed = sorted(
        ((t, kind, v) for topic, kind in TOPIC_FILES.items() for t, v in sim.events[topic]),
        key=lambda row: (row[0], row[2]["event_id"]),
    )
    for _, kind, value in timed:
        event = decoder.decode(kind, orjson.dumps(value))
        if hasattr(event, "customer_id"):
            runner.apply(event, int(event.event_time.timestamp() * 1000))
    typology = {label["customer_id"]: label["typology"] for label in sim.labels}
    alerted = {(a.rule_id, a.customer_id) for a in alerts if a.rule_id in (HUB_RULE, CYCLE_RULE)}
    mules = {c for c, t in typology.items() if t == "mule_hub"}
    cyclers = {c for c, t in typology.items() if t == "funds_cycle"}
    assert len(mules) >= 6 and len(cyclers) >= 2
    assert {c for r, c in alerted if r == HUB_RULE} >= mules
    assert {c for r, c in alerted if r == CYCLE_RULE} >= cyclers
    looks = {c for c, t in typology.items() if t in ("employer", "own_round_trip")}
    assert looks and not {c for _, c in alerted} & looks  # payrolls and own moves: never


def test_the_bench_measures_the_stage_on_and_off():
    from bench.core import messages
    from bench.network import _without_stage, measure
    from monitor.core.decode import Decoder

    msgs = messages(300, 4, 7)
    pack = make_engine().pack
    on = measure(msgs, Engine(pack), Decoder(pack.fx))
    off_pack = _without_stage()
    off = measure(msgs, Engine(off_pack), Decoder(off_pack.fx))
    assert on["events"] == off["events"] > 0
    assert on["edges"] > 0 and on["accounts"] > 0
    assert off["edges"] == off["paths"] == off["accounts"] == 0


def test_an_exempt_account_and_a_window_above_max_customers_are_not_hubs():
    exempt = make_engine({"rules.COUNTERPARTY_HUB.exempt_accounts": [HUB]})
    assert of(HUB_RULE, run_net(exempt, _payers(5))[0]) == []
    capped = make_engine({"rules.COUNTERPARTY_HUB.max_customers": 6})
    assert len(of(HUB_RULE, run_net(capped, _payers(6))[0])) == 6
    # a seventh customer the same day: more than max_customers, a public collecting
    # account; the alerts of the window's smaller self stay, neither grown nor joined
    assert len(of(HUB_RULE, run_net(make_engine(), _payers(7, days=[3] * 7))[0])) == 7
    alerts = of(HUB_RULE, run_net(capped, _payers(7, days=[3] * 7))[0])
    assert "C6" not in {a.customer_id for a in alerts}
    assert all(len(a.evidence) <= 6 for a in alerts)


def test_min_customers_above_max_customers_is_refused():
    from monitor.core.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_customers"):
        make_engine({"rules.COUNTERPARTY_HUB.max_customers": 3})
