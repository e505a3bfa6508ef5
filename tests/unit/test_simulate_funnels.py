"""`monitor simulate`'s funnel typologies are funnels by the pack's definition: no ordinary
inflow of the customer in the week FUNNEL_IN / FUNNEL_OUT look back over (an ordinary
remittance of up to 40,000 there dilutes the planted 95 % under the pack's 80 % of the
week's inflow), and the default pack finds every planted funnel."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest

from monitor.core.decode import Decoder, Rejection
from monitor.core.state import CustomerState
from monitor.tools.simulate import TOPIC_FILES, simulate

from .conftest import DETECTED_AT, make_engine

FUNNELS = {"funnel_in": "FUNNEL_IN", "funnel_out": "FUNNEL_OUT"}
MONEY_TOPICS = ("txn.transfers", "txn.remittances")


@pytest.fixture(scope="module")
def sim() -> Any:
    # with ordinary inflows in the funnel's week, this seed plants a funnel_in at 76.15 %
    return simulate(customers=2000, days=30, seed=5)


def _time(value: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(value["occurred_at"])


def test_no_ordinary_inflow_in_the_week_a_funnel_is_judged_over(sim: Any) -> None:
    labels = [lab for lab in sim.labels if lab["typology"] in FUNNELS]
    assert {lab["typology"] for lab in labels} == set(FUNNELS)
    for label in labels:
        cid, evidence = label["customer_id"], set(label["evidence"])
        mine = [
            v
            for topic in MONEY_TOPICS
            for _, v in sim.events[topic]
            if v["customer_id"] == cid and v.get("amount")
        ]
        last = max(_time(v) for v in mine if v["txn_id"] in evidence)
        diluting = [
            (v["txn_id"], v["amount"])
            for v in mine
            if v["txn_id"] not in evidence
            and v["direction"] == "in"
            and last - timedelta(days=7) < _time(v) <= last
        ]
        assert diluting == [], (label["typology"], cid)


def test_the_default_pack_finds_every_planted_funnel(sim: Any) -> None:
    wanted = {
        lab["customer_id"]: lab["typology"] for lab in sim.labels if lab["typology"] in FUNNELS
    }
    messages = sorted(
        (
            (v.get("opened_at") or v.get("updated_at") or v["occurred_at"], topic, v)
            for topic in TOPIC_FILES
            for _, v in sim.events[topic]
            if v["customer_id"] in wanted
        ),
        key=lambda tv: (tv[0], tv[2]["event_id"]),
    )
    engine = make_engine()
    decoder = Decoder(engine.pack.fx)
    states: dict[str, CustomerState] = {}
    rules: dict[str, set[str]] = defaultdict(set)
    for _, topic, value in messages:
        event: Any = decoder.decode(TOPIC_FILES[topic], orjson.dumps(value))
        assert not isinstance(event, Rejection)
        outcome = engine.process(states.get(event.customer_id), event, DETECTED_AT)
        states[event.customer_id] = outcome.state
        rules[event.customer_id].update(a.rule_id for a in outcome.findings.alerts)
    missed = sorted(cid for cid, typ in wanted.items() if FUNNELS[typ] not in rules[cid])
    assert missed == []
