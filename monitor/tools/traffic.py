"""Building blocks of `monitor simulate`: the generated events of each topic and the
generator of openings, updates, cash, remittances and ordinary daily activity."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = ["TOPIC_FILES", "Generator", "Simulation"]

logger = logging.getLogger(__name__)

#: default input topic -> kind
TOPIC_FILES = {
    "kyc.account-openings": "account_opening",
    "kyc.customer-updates": "customer_update",
    "txn.cash": "cash",
    "txn.remittances": "remittance",
}

_SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou"]
_GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Jun", "Yan", "Tao", "Hui", "Bo"]
_CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan", "Nanjing"]
_OCCUPATIONS = ["engineer", "teacher", "doctor", "clerk", "driver", "accountant", "designer"]
_TRADES = ["Trading", "Tech", "Logistics"]
_COUNTERPARTY = ["HK", "SG", "US", "GB", "JP", "DE", "AU"]
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _resident_id(rng: random.Random, birth: date, male: bool) -> str:
    sex_digit = rng.randrange(0, 10, 2) + (1 if male else 0)
    body = f"310101{birth:%Y%m%d}{rng.randrange(100):02d}{sex_digit}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W, strict=True)) % 11]


@dataclass
class Simulation:
    """Generated events per topic as (arrival time in epoch ms, value), and the labels. The
    arrival time is the event time unless the event is delivered late."""

    events: dict[str, list[tuple[int, dict[str, Any]]]] = field(
        default_factory=lambda: {t: [] for t in TOPIC_FILES}
    )
    labels: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, topic: str, at: datetime, value: dict[str, Any], arrives: datetime | None = None
    ) -> None:
        self.events[topic].append((int((arrives or at).timestamp() * 1000), value))

    def sorted_events(self, topic: str) -> list[dict[str, Any]]:
        return [v for _, v in sorted(self.events[topic], key=lambda tv: (tv[0], tv[1]["event_id"]))]

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.events.values())


class Generator:
    """Builds one simulation's events from a seeded random generator."""

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

    def opening(
        self,
        cid: str,
        entity: bool,
        *,
        expires_on: date | None = None,
        arrives: datetime | None = None,
        **over: Any,
    ) -> dict[str, Any]:
        rng = self.rng
        at = self.ts(0, rng.uniform(8.5, 10))
        male = rng.random() < 0.5
        birth = date(rng.randint(1950, 2002), rng.randint(1, 12), rng.randint(1, 28))
        name = f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}{rng.choice(_GIVEN).lower()}"
        expiry = self.start + timedelta(days=rng.randint(400, 4000))
        doc = {
            "type": "resident_id",
            "number": _resident_id(rng, birth, male),
            "expires_on": (expires_on or expiry).isoformat(),
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
                    "name": f"{rng.choice(_CITIES)} {rng.choice(_TRADES)} Co. {cid}",
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
        self.sim.add("kyc.account-openings", at, value, arrives)
        return value

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
        arrives: datetime | None = None,
    ) -> str:
        txn = self.next_id("R")
        originator: dict[str, Any] = {
            "name": f"Customer {cid}",
            "account_number": f"6222{cid[1:]}",
            "address": "Shanghai",
            "id_number": None,
            "contact": None,
            "country": "CN",
        }
        beneficiary: dict[str, Any] = {
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
            arrives,
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

    def update(self, cid: str, at: datetime, changes: dict[str, Any] | None = None) -> None:
        self.sim.add(
            "kyc.customer-updates",
            at,
            {
                "event_id": self.next_id("upd-"),
                "customer_id": cid,
                "updated_at": self.iso(at),
                "changes": changes or {"phone": f"+86 13{self.rng.randint(100000000, 999999999)}"},
            },
        )

    def normal_day(self, cid: str, day: int, rate: float, quiet: bool = False) -> None:
        """Ordinary activity: small cash, complete remittances with a clear source, phone
        changes. On a `quiet` day (around an injected near miss or structuring) no cash, so
        those stay under the large-cash threshold and the labels stay true."""
        rng = self.rng
        for _ in range(_poisson(rng, rate)):
            kind = rng.random()
            at = self.ts(day)
            if kind < 0.75 and quiet:
                continue
            if kind < 0.75:
                self.cash(cid, at, f"{rng.randint(1, 80) * 100}.00", rng.choice(["in", "out"]))
            elif kind < 0.97:
                self.remittance(
                    cid, at, f"{rng.randint(10, 400) * 100}.00", direction=rng.choice(["in", "out"])
                )
            else:
                self.update(cid, at)


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = pow(2.718281828459045, -lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
