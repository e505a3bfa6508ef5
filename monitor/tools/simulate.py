"""`monitor simulate`: realistic synthetic bank traffic with injected, labelled typologies.

Deterministic: the same arguments give byte-identical files. Events of each topic are
written as JSONL (one value per line) to `<out>/<topic>.jsonl`, and the
injected typologies to `<out>/labels.jsonl` (`customer_id`, `typology`, `evidence` txn
ids, `expected_rules`). Normal customers stay below every threshold by construction,
including deliberate near misses, so a perfect rule pack has no false positives here.

Each topic's file is in arrival order: the order the bank's systems deliver the events,
which is event-time order except for the late-delivery typologies (an opening delivered
after an update of the customer, a payment after its supplement). `arrivals` gives every
topic's events in one arrival order, as `monitor simulate --produce` produces them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

from monitor.tools.simulate_network import NETWORK_TYPOLOGIES, network_typology
from monitor.tools.simulate_transfers import (
    ENTITY_PROFILES,
    TRANSFER_TYPOLOGIES,
    opened_days_before,
    quiet_before,
    transfer_typology,
)
from monitor.tools.traffic import TOPIC_FILES, Generator, Simulation

__all__ = ["TOPIC_FILES", "TYPOLOGIES", "Simulation", "arrivals", "simulate", "write_simulation"]

logger = logging.getLogger(__name__)

#: typology -> (share of customers, rules a good pack raises for it)
TYPOLOGIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "large_cash": (0.03, ("LV_CASH",)),
    "structuring": (0.01, ("STRUCTURING",)),
    "frequent_large_unclear_source": (0.01, ("FREQUENT_LARGE_UNCLEAR_SOURCE",)),
    "missing_info_unresolved": (0.01, ("REMIT_MISSING_INFO", "REMIT_INFO_UNRESOLVED")),
    "missing_info_supplemented": (0.01, ("REMIT_MISSING_INFO",)),
    "pep": (0.005, ("KYC_PEP",)),
    "high_risk_country": (0.005, ("KYC_HIGH_RISK_COUNTRY",)),
    "near_miss": (0.05, ()),
    # delivered out of event-time order; the outcome must be the event-time one
    "supplement_before_payment": (0.005, ("REMIT_MISSING_INFO",)),  # never UNRESOLVED
    "update_before_opening": (0.005, ()),  # the renewed ID: no KYC_ID_EXPIRED
    **TRANSFER_TYPOLOGIES,
    **NETWORK_TYPOLOGIES,  # groups of customers (the other members created with them)
}

#: benign typologies (no rule expected): any alert of their customers is a false alarm
_BENIGN = (
    "near_miss",
    "update_before_opening",
    *(name for name, (_, rules) in TRANSFER_TYPOLOGIES.items() if not rules),
    *(name for name, (_, rules) in NETWORK_TYPOLOGIES.items() if not rules),
)


def simulate(
    customers: int,
    days: int,
    seed: int,
    start: date = date(2026, 3, 2),
    events_per_customer_day: float = 0.6,
) -> Simulation:
    """Generate the traffic in memory (about customers x days x rate events)."""
    if days < 1 or customers < 1:
        raise ValueError("customers and days must be at least 1")
    g = Generator(seed, start, days)
    rng = g.rng
    shares = [(name, share) for name, (share, _) in TYPOLOGIES.items()]
    for c in range(customers):
        cid = f"C{c:07d}"
        entity = rng.random() < 0.12
        roll, typology, acc = rng.random(), None, 0.0
        for name, share in shares:
            acc += share
            if roll < acc:
                typology = name
                break
        if typology in ENTITY_PROFILES:
            entity = True  # merchants and payrolls are companies
        elif entity and typology not in (None, "near_miss", "large_cash"):
            typology = None  # keep entity traffic simple: typologies on individuals
        over: dict[str, Any] = {}
        if typology == "pep":
            over["is_pep"] = True
        if typology == "high_risk_country":
            over["nationality"] = rng.choice(["KP", "IR", "MM"])
        if typology == "update_before_opening" and days < 6:
            typology = None  # needs the days after the first document expires
        first_day = 0
        if typology == "update_before_opening":
            # the document expires on day 3, renewed on day 1; the opening (day 0) is
            # delivered on day 2, after the update; no traffic before it is delivered
            value = g.opening(
                cid, entity, expires_on=start + timedelta(days=3), arrives=g.ts(2, 12)
            )
            renewed = {**value["id_document"], "expires_on": f"{start.year + 10}-01-01"}
            g.update(cid, g.ts(1, 12), {"id_document": renewed})
            first_day = 3
        else:
            g.opening(cid, entity, days_before=opened_days_before(typology), **over)
        d0 = rng.randrange(0, max(1, days - 8))
        quiet = set(range(d0, d0 + 5)) if typology in ("near_miss", "structuring") else set()
        silent = quiet_before(typology, d0)
        for day in range(first_day, days):
            if day not in silent:
                g.normal_day(cid, day, events_per_customer_day, day in quiet)
        evidence: list[str] = []
        injected = transfer_typology(g, typology, cid, d0) if typology else None
        if injected is None and typology:
            injected = network_typology(g, typology, cid, d0)
        if injected is not None:
            evidence = injected
        elif typology == "large_cash":
            if rng.random() < 0.5:
                evidence = [g.cash(cid, g.ts(d0, 11), f"{rng.randint(500, 900) * 100}.00")]
            else:
                evidence = [
                    g.cash(cid, g.ts(d0, 10), "30000.00"),
                    g.cash(cid, g.ts(d0, 15), "20000.00"),
                ]
        elif typology == "structuring":
            evidence = [
                g.cash(cid, g.ts(d0 + 2 * i, 11), f"{rng.randint(4550, 4990) * 10}.00")
                for i in range(3)
            ]
        elif typology == "frequent_large_unclear_source":
            evidence = [
                g.remittance(
                    cid,
                    g.ts(d0 + i, 14),
                    f"{rng.randint(60, 90) * 1000}.00",
                    source=rng.choice([None, "", "unknown"]),
                )
                for i in range(3)
            ]
        elif typology in ("missing_info_unresolved", "missing_info_supplemented"):
            d0 = rng.randrange(0, max(1, days - 20))
            txn = g.remittance(
                cid, g.ts(d0, 13), f"{rng.randint(60, 300) * 100}.00", complete=False
            )
            evidence = [txn]
            if typology == "missing_info_supplemented":
                g.supplement(cid, g.ts(d0 + rng.randint(1, 5), 10), txn)
            else:  # activity after the deadline lets the event-time watermark pass it
                g.cash(cid, g.ts(min(days - 1, d0 + 19), 16), "500.00")
        elif typology == "supplement_before_payment":
            # the payment (day d0) is delivered on d0 + 2, after its supplement (d0 + 1);
            # activity after the deadline would reveal a supplement that was lost
            d0 = rng.randrange(0, max(1, days - 20))
            amount = f"{rng.randint(60, 300) * 100}.00"
            txn = g.remittance(cid, g.ts(d0, 13), amount, complete=False, arrives=g.ts(d0 + 2, 11))
            evidence = [txn]
            g.supplement(cid, g.ts(d0 + 1, 10), txn)
            g.cash(cid, g.ts(min(days - 1, d0 + 19), 16), "500.00")
        elif typology == "near_miss":
            roll = rng.random()
            if roll < 0.4:  # just under the large-cash threshold
                g.cash(cid, g.ts(d0, 12), "49999.99")
            elif roll < 0.7:  # two, not three, in the structuring band
                g.cash(cid, g.ts(d0, 11), f"{rng.randint(4550, 4990) * 10}.00")
                g.cash(cid, g.ts(d0 + 3, 11), f"{rng.randint(4550, 4990) * 10}.00")
            else:  # three just below the structuring band (85 % to < 90 %)
                for i in range(3):
                    g.cash(cid, g.ts(d0 + i, 11), f"{rng.randint(4250, 4499) * 10}.00")
        if typology in _BENIGN:
            g.sim.labels.append(
                {"customer_id": cid, "typology": typology, "evidence": [], "expected_rules": []}
            )
        elif typology is not None:
            g.sim.labels.append(
                {
                    "customer_id": cid,
                    "typology": typology,
                    "evidence": evidence,
                    "expected_rules": list(TYPOLOGIES[typology][1]),
                }
            )
    return g.sim


def arrivals(sim: Simulation) -> list[tuple[str, dict[str, Any]]]:
    """(topic, value) of every event, all topics in one arrival order (ties: topic order
    of `TOPIC_FILES`, then event id)."""
    rank = {topic: i for i, topic in enumerate(TOPIC_FILES)}
    timed = [
        (t, rank[topic], v["event_id"], topic, v)
        for topic in TOPIC_FILES
        for t, v in sim.events[topic]
    ]
    timed.sort(key=lambda row: row[:3])
    return [(topic, value) for _, _, _, topic, value in timed]


def iter_lines(sim: Simulation, topic: str) -> Iterator[bytes]:
    for value in sim.sorted_events(topic):
        yield orjson.dumps(value)


def write_simulation(sim: Simulation, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for topic in TOPIC_FILES:
        lines = list(iter_lines(sim, topic))
        (out / f"{topic}.jsonl").write_bytes(b"\n".join(lines) + (b"\n" if lines else b""))
        counts[topic] = len(lines)
    labels = sorted(sim.labels, key=lambda lab: lab["customer_id"])
    (out / "labels.jsonl").write_bytes(b"".join(orjson.dumps(lab) + b"\n" for lab in labels))
    return counts
