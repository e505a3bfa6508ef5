"""`monitor simulate`: realistic synthetic bank traffic with injected, labelled typologies.

Deterministic: the same arguments give byte-identical files. Events of each topic are
written in event-time order as JSONL (one value per line) to `<out>/<topic>.jsonl`, and the
injected typologies to `<out>/labels.jsonl` (`customer_id`, `typology`, `evidence` txn
ids, `expected_rules`). Normal customers stay below every threshold by construction,
including deliberate near misses, so a perfect rule pack has no false positives here."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from monitor.tools.sim_random import poisson, resident_id
from monitor.tools.simulate_transfers import (
    ENTITY_PROFILES,
    TRANSFER_TYPOLOGIES,
    opened_days_before,
    ordinary_transfer,
    quiet_before,
    transfer_typology,
)

__all__ = ["TOPIC_FILES", "TYPOLOGIES", "Simulation", "simulate", "write_simulation"]

#: default input topic -> kind
TOPIC_FILES = {
    "kyc.account-openings": "account_opening",
    "kyc.customer-updates": "customer_update",
    "txn.cash": "cash",
    "txn.remittances": "remittance",
    "txn.transfers": "transfer",
}

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
    **TRANSFER_TYPOLOGIES,
}

_SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"]
_GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Jun", "Yan", "Tao", "Hui", "Bo"]
_CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Nanjing"]
_OCCUPATIONS = ["engineer", "teacher", "doctor", "clerk", "driver", "accountant", "designer"]
_COUNTERPARTY = ["HK", "SG", "US", "GB", "JP", "DE", "AU"]


@dataclass
class Simulation:
    events: dict[str, list[tuple[int, dict[str, Any]]]] = field(
        default_factory=lambda: {t: [] for t in TOPIC_FILES}
    )
    labels: list[dict[str, Any]] = field(default_factory=list)

    def add(self, topic: str, at: datetime, value: dict[str, Any]) -> None:
        self.events[topic].append((int(at.timestamp() * 1000), value))

    def sorted_events(self, topic: str) -> list[dict[str, Any]]:
        return [v for _, v in sorted(self.events[topic], key=lambda tv: (tv[0], tv[1]["event_id"]))]

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.events.values())


class _Gen:
    def __init__(self, seed: int, start: date, days: int) -> None:
        self.rng = random.Random(seed)
        self.start = start
        self.days = days
        self.sim = Simulation()
        self.n = 0

    def ts(self, day: int, hour: float | None = None) -> datetime:
        hour = self.rng.uniform(8.5, 18.0) if hour is None else hour
        local = datetime(self.start.year, self.start.month, self.start.day) + timedelta(
            days=day, hours=hour
        )
        return (local - timedelta(hours=8)).replace(tzinfo=UTC)  # Shanghai local -> UTC

    def iso(self, at: datetime) -> str:
        return at.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def next_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n:09d}"

    def opening(self, cid: str, entity: bool, days_before: int = 0, **over: Any) -> None:
        rng = self.rng
        at = self.ts(-days_before, rng.uniform(8.5, 10))
        male = rng.random() < 0.5
        birth = date(rng.randint(1950, 2002), rng.randint(1, 12), rng.randint(1, 28))
        name = f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}{rng.choice(_GIVEN).lower()}"
        doc = {
            "type": "resident_id",
            "number": resident_id(rng, birth, male),
            "expires_on": (self.start + timedelta(days=rng.randint(400, 4000))).isoformat(),
        }
        value: dict[str, Any] = {
            "event_id": self.next_id("open-"),
            "customer_id": cid,
            "account_id": f"A{cid[1:]}",
            "opened_at": self.iso(at),
            "customer_type": "entity" if entity else "individual",
            "name": name,
            "address": f"{rng.randint(1, 999)} Road, {rng.choice(_CITIES)}",
            "phone": f"+86 13{rng.randint(100000000, 999999999)}",
            "is_pep": False,
            "branch_code": f"BR{rng.randint(1, 40):03d}",
        }
        if entity:
            value.update(
                {
                    "name": f"{rng.choice(_CITIES)} "
                    f"{rng.choice(['Trading', 'Tech', 'Logistics'])} Co. {cid}",
                    "registration_number": f"91310000{rng.randint(10**9, 10**10 - 1)}",
                    "business_scope": "trade",
                    "registered_capital": str(rng.randint(1, 50) * 100000),
                    "legal_representative": {"name": name, "id_document": doc},
                    "beneficial_owners": [
                        {"name": name, "ownership_pct": "60", "id_document": doc}
                    ],
                }
            )
        else:
            value.update(
                {
                    "gender": "M" if male else "F",
                    "nationality": "CN",
                    "occupation": rng.choice(_OCCUPATIONS),
                    "id_document": doc,
                    "declared_annual_income": str(rng.randint(6, 60) * 10000),
                    "income_currency": "CNY",
                }
            )
        value.update(over)
        self.sim.add("kyc.account-openings", at, value)

    def cash(
        self, cid: str, at: datetime, amount: str, direction: str = "in", currency: str = "CNY"
    ) -> str:
        txn = self.next_id("T")
        self.sim.add(
            "txn.cash",
            at,
            {
                "event_id": f"ev-{txn}",
                "txn_id": txn,
                "customer_id": cid,
                "account_id": f"A{cid[1:]}",
                "occurred_at": self.iso(at),
                "direction": direction,
                "amount": amount,
                "currency": currency,
                "service": "deposit" if direction == "in" else "withdrawal",
                "conductor": None,
                "branch_code": "BR001",
            },
        )
        return txn

    def remittance(
        self,
        cid: str,
        at: datetime,
        amount: str,
        *,
        direction: str = "out",
        source: str | None = "salary",
        complete: bool = True,
        country: str | None = None,
        currency: str = "CNY",
    ) -> str:
        txn = self.next_id("R")
        originator: dict[str, str | None] = {
            "name": f"Customer {cid}",
            "account_number": f"6222{cid[1:]}",
            "address": "Shanghai",
            "id_number": None,
            "contact": None,
            "country": "CN",
        }
        beneficiary: dict[str, str | None] = {
            "name": "Counterparty Ltd",
            "account_number": f"X{txn}",
            "address": "Abroad",
            "country": country or self.rng.choice(_COUNTERPARTY),
        }
        if direction == "in":
            originator, beneficiary = (
                {**beneficiary, "id_number": None, "contact": None},
                {k: originator[k] for k in ("name", "account_number", "address", "country")},
            )
        if not complete:
            originator["address"] = ""
        self.sim.add(
            "txn.remittances",
            at,
            {
                "event_id": f"ev-{txn}",
                "txn_id": txn,
                "kind": "payment",
                "customer_id": cid,
                "occurred_at": self.iso(at),
                "direction": direction,
                "amount": amount,
                "currency": currency,
                "originator": originator,
                "beneficiary": beneficiary,
                "reference": f"REF{txn}",
                "source_of_funds": source,
                "counterparty_country": beneficiary["country"]
                if direction == "out"
                else originator["country"],
            },
        )
        return txn

    def supplement(self, cid: str, at: datetime, txn: str) -> None:
        self.sim.add(
            "txn.remittances",
            at,
            {
                "event_id": self.next_id("sup-"),
                "txn_id": txn,
                "kind": "supplement",
                "customer_id": cid,
                "occurred_at": self.iso(at),
                "direction": "out",
                "originator": {"address": "Shanghai"},
            },
        )

    def update(self, cid: str, at: datetime) -> None:
        self.sim.add(
            "kyc.customer-updates",
            at,
            {
                "event_id": self.next_id("upd-"),
                "customer_id": cid,
                "updated_at": self.iso(at),
                "changes": {"phone": f"+86 13{self.rng.randint(100000000, 999999999)}"},
            },
        )

    def normal_day(self, cid: str, day: int, rate: float, quiet: bool = False) -> None:
        """Ordinary activity: small cash, small domestic transfers with the customer's usual
        counterparties, complete remittances with a clear source, phone changes. On a
        `quiet` day (around an injected near miss or structuring) no cash, so those stay
        under the large-cash threshold and the labels stay true."""
        rng = self.rng
        for _ in range(poisson(rng, rate)):
            kind = rng.random()
            at = self.ts(day)
            if kind < 0.6 and quiet:
                continue
            if kind < 0.6:
                self.cash(cid, at, f"{rng.randint(1, 80) * 100}.00", rng.choice(["in", "out"]))
            elif kind < 0.8:
                ordinary_transfer(self, cid, at)
            elif kind < 0.97:
                self.remittance(
                    cid, at, f"{rng.randint(10, 400) * 100}.00", direction=rng.choice(["in", "out"])
                )
            else:
                self.update(cid, at)


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
    g = _Gen(seed, start, days)
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
        g.opening(cid, entity, opened_days_before(typology), **over)
        d0 = rng.randrange(0, max(1, days - 8))
        quiet = set(range(d0, d0 + 5)) if typology in ("near_miss", "structuring") else set()
        silent = quiet_before(typology, d0)
        for day in range(days):
            if day not in silent:
                g.normal_day(cid, day, events_per_customer_day, day in quiet)
        evidence: list[str] = []
        injected = transfer_typology(g, typology, cid, d0) if typology else None
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
        if typology is not None and TYPOLOGIES[typology][1]:
            g.sim.labels.append(
                {
                    "customer_id": cid,
                    "typology": typology,
                    "evidence": evidence,
                    "expected_rules": list(TYPOLOGIES[typology][1]),
                }
            )
        elif typology is not None:  # a near miss or look-alike traffic: no rule should fire
            g.sim.labels.append(
                {"customer_id": cid, "typology": typology, "evidence": [], "expected_rules": []}
            )
    return g.sim


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
