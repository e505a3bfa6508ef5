"""`monitor simulate`'s late-delivery typologies: delivered out of event-time order, they
give the event-time outcome (no REMIT_INFO_UNRESOLVED after an early supplement, no
KYC_ID_EXPIRED on a document renewed by an update that came before the opening)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
import pytest

from monitor.core.decode import Decoder, Rejection
from monitor.core.engine import Engine
from monitor.core.state import CustomerState
from monitor.tools.simulate import TOPIC_FILES, arrivals, simulate

from .conftest import DETECTED_AT, make_engine

LATE = ("supplement_before_payment", "update_before_opening")


@pytest.fixture(scope="module")
def sim() -> Any:
    return simulate(customers=1500, days=30, seed=5)


def _run(engine: Engine, messages: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Rule ids of the alerts per customer, feeding `messages` in the given order."""
    decoder = Decoder(engine.pack.fx)
    states: dict[str, CustomerState] = {}
    alerts: dict[str, list[str]] = defaultdict(list)
    for topic, value in messages:
        event: Any = decoder.decode(TOPIC_FILES[topic], orjson.dumps(value))
        assert not isinstance(event, Rejection)
        outcome = engine.process(states.get(event.customer_id), event, DETECTED_AT)
        states[event.customer_id] = outcome.state
        alerts[event.customer_id].extend(sorted(a.alert_id for a in outcome.findings.alerts))
        alerts[event.customer_id + "/rules"].extend(a.rule_id for a in outcome.findings.alerts)
    return alerts


def _event_time(value: dict[str, Any]) -> str:
    return value.get("opened_at") or value.get("updated_at") or value["occurred_at"]


def test_late_deliveries_give_the_event_time_outcome(sim):
    labels = {lab["customer_id"]: lab for lab in sim.labels if lab["typology"] in LATE}
    assert {lab["typology"] for lab in labels.values()} == set(LATE)
    arrived = [(t, v) for t, v in arrivals(sim) if v["customer_id"] in labels]
    in_event_order = sorted(arrived, key=lambda tv: _event_time(tv[1]))
    assert arrived != in_event_order  # the files really are out of event-time order
    engine = make_engine()
    live, ordered = _run(engine, arrived), _run(engine, in_event_order)
    for cid, label in labels.items():
        assert sorted(live[cid]) == sorted(ordered[cid])
        rules = live[cid + "/rules"]
        assert "REMIT_INFO_UNRESOLVED" not in rules
        assert "KYC_ID_EXPIRED" not in rules
        assert sorted(set(rules)) == sorted(label["expected_rules"]), (label, rules)
