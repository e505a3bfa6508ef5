"""Domestic transfers for `monitor simulate`: ordinary transfers, look-alike traffic that no
rule should flag (merchants with many payers, payrolls, moves between own accounts), and
the transfer typologies (large transfers, funnels, pass-through, one counterparty back and
forth, a dormant account waking up)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from monitor.tools.traffic import Generator as _Gen

__all__ = [
    "ENTITY_PROFILES",
    "TRANSFER_TYPOLOGIES",
    "opened_days_before",
    "ordinary_transfer",
    "quiet_before",
    "transfer",
    "transfer_typology",
]

logger = logging.getLogger(__name__)

#: typology -> (share of customers, rules a good pack raises for it); an empty tuple is
#: look-alike ordinary traffic (any alert is a false alarm)
TRANSFER_TYPOLOGIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "large_transfer": (0.01, ("LV_TRANSFER_INDIVIDUAL",)),
    "funnel_in": (0.005, ("FUNNEL_IN",)),
    "funnel_out": (0.005, ("FUNNEL_OUT",)),
    "pass_through": (0.005, ("PASS_THROUGH",)),
    "frequent_same_counterparty": (0.005, ("FREQUENT_SAME_COUNTERPARTY",)),
    "dormant_reactivation": (0.005, ("DORMANT_REACTIVATION",)),
    "merchant": (0.005, ()),
    "payroll": (0.01, ()),
    "own_accounts": (0.02, ()),
}

#: look-alike profiles that are entities
ENTITY_PROFILES = ("merchant", "payroll")

_PURPOSES = ["rent", "loan repayment", "family support", "purchase", "tuition", None]
_CHANNELS = ["online", "mobile", "counter"]


def _account(n: int) -> str:
    return f"6217{n:012d}"


def transfer(
    g: _Gen,
    cid: str,
    at: datetime,
    amount: str,
    direction: str,
    counterparty: str,
    *,
    own: bool = False,
    purpose: str | None = None,
) -> str:
    txn = g.next_id("D")
    g.sim.add(
        "txn.transfers",
        at,
        {
            "event_id": f"ev-{txn}",
            "txn_id": txn,
            "customer_id": cid,
            "account_id": f"A{cid[1:]}",
            "occurred_at": g.iso(at),
            "direction": direction,
            "amount": amount,
            "currency": "CNY",
            "counterparty": {
                "name": "Own account" if own else f"Party {counterparty[-6:]}",
                "account_number": counterparty,
                "bank_code": f"{g.rng.choice([102, 103, 104, 105, 301, 308])}100000000",
                "customer_id": cid if own else None,
            },
            "channel": g.rng.choice(_CHANNELS),
            "purpose": purpose,
            "source_of_funds": None,
        },
    )
    return txn


def ordinary_transfer(g: _Gen, cid: str, at: datetime) -> None:
    """A small transfer with one of the customer's three usual counterparties."""
    usual = _account(int(cid[1:]) * 3 + g.rng.randrange(3))
    amount = f"{g.rng.randint(1, 99) * 100}.00"
    direction = g.rng.choice(["in", "out"])
    transfer(g, cid, at, amount, direction, usual, purpose=g.rng.choice(_PURPOSES))


def _fresh(g: _Gen) -> str:
    """An account number no other simulated party uses."""
    return _account(10**11 + g.rng.randrange(10**11))


def transfer_typology(g: _Gen, typology: str, cid: str, d0: int) -> list[str] | None:
    """Inject `typology` for `cid` from day `d0`; the evidence txn ids, or None when the
    typology is not a transfer typology."""
    rng = g.rng
    if typology == "large_transfer":
        return [
            transfer(g, cid, g.ts(d0, 11), f"{rng.randint(500, 900) * 1000}.00", "in", _fresh(g))
        ]
    if typology == "funnel_in":  # 20-30 payers of CNY 5,000-9,900, then one payee
        amounts = [rng.randint(50, 99) * 100 for _ in range(rng.randint(20, 30))]
        ins = [
            transfer(g, cid, g.ts(d0 + n % 3), f"{amount}.00", "in", _fresh(g))
            for n, amount in enumerate(amounts)
        ]
        total = sum(amounts)
        payee = _fresh(g)
        first = total * rng.randint(50, 60) // 100
        outs = [
            transfer(g, cid, g.ts(d0 + 3, 10), f"{first}.00", "out", payee),
            transfer(g, cid, g.ts(d0 + 3, 15), f"{total * 95 // 100 - first}.00", "out", payee),
        ]
        return ins + outs
    if typology == "funnel_out":  # one payer, then 12-20 payees within two days
        total = rng.randint(150, 300) * 1000
        n = rng.randint(12, 20)
        each = total * 95 // 100 // n
        evidence = [transfer(g, cid, g.ts(d0, 9), f"{total}.00", "in", _fresh(g))]
        for k in range(n):
            at = g.ts(d0 + k * 2 // n, rng.uniform(10, 18))
            evidence.append(transfer(g, cid, at, f"{each}.00", "out", _fresh(g)))
        return evidence
    if typology == "pass_through":  # 3-4 inflows every other day, each out within hours
        evidence = []
        for k in range(rng.randint(3, 4)):
            amount = rng.randint(30, 80) * 1000
            evidence.append(transfer(g, cid, g.ts(d0 + 2 * k, 9), f"{amount}.00", "in", _fresh(g)))
            out = amount * rng.randint(95, 99) // 100
            at = g.ts(d0 + 2 * k, 9 + rng.uniform(1, 6))
            evidence.append(transfer(g, cid, at, f"{out}.00", "out", _fresh(g)))
        return evidence
    if typology == "frequent_same_counterparty":  # 6-8 both ways, 26 hours apart
        party = _fresh(g)
        return [
            transfer(
                g,
                cid,
                g.ts(d0, 9 + 26 * k),
                f"{rng.randint(15, 45) * 1000}.00",
                "in" if k % 2 == 0 else "out",
                party,
            )
            for k in range(rng.randint(6, 8))
        ]
    if typology == "dormant_reactivation":  # opened 300 days ago, silent, then large sums
        amount = rng.randint(210, 300) * 1000
        return [
            transfer(g, cid, g.ts(d0, 10), f"{amount}.00", "in", _fresh(g)),
            transfer(g, cid, g.ts(d0 + 1, 11), f"{amount * 9 // 10}.00", "out", _fresh(g)),
        ]
    if typology == "merchant":  # many small payers; sweeps to its own account, pays a supplier
        own, supplier = _fresh(g), _fresh(g)
        for day in range(g.days):
            takings = 0
            for _ in range(rng.randint(8, 15)):
                amount = rng.randint(2, 30) * 100
                takings += amount
                transfer(g, cid, g.ts(day), f"{amount}.00", "in", _fresh(g), purpose="purchase")
            sweep = takings * rng.randint(60, 80) // 100
            transfer(g, cid, g.ts(day, 18.5), f"{sweep}.00", "out", own, own=True)
            if day % 7 == 6:
                supplier_amount = takings * rng.randint(100, 200) // 100
                transfer(g, cid, g.ts(day, 17), f"{supplier_amount}.00", "out", supplier)
        return []
    if typology == "payroll":  # monthly: one funding inflow, 15-40 salaries the same day
        own_or_parent = rng.random() < 0.5
        staff = [_fresh(g) for _ in range(rng.randint(15, 40))]
        salaries = [rng.randint(50, 200) * 100 for _ in staff]
        day = min(d0, g.days - 1)
        transfer(g, cid, g.ts(day, 9), f"{sum(salaries)}.00", "in", _fresh(g), own=own_or_parent)
        for account, salary in zip(staff, salaries, strict=True):
            transfer(g, cid, g.ts(day, 14), f"{salary}.00", "out", account, purpose="salary")
        return []
    if typology == "own_accounts":  # savings moved in and out of one's own other account
        other = _fresh(g)
        for k in range(rng.randint(4, 8)):
            amount = rng.randint(20, 60) * 1000
            day = d0 + k
            transfer(g, cid, g.ts(day, 9), f"{amount}.00", "in", other, own=True)
            transfer(g, cid, g.ts(day, 13), f"{amount}.00", "out", other, own=True)
        return []
    return None


#: funnel typology -> (first, last) day of its rule's look-back relative to `d0`: the
#: rule's 7 days back from the funnel's last outflow (day d0 + 3 or d0 + 1)
_FUNNEL_WEEK = {"funnel_in": (-4, 3), "funnel_out": (-6, 1)}


def quiet_before(typology: str | None, d0: int) -> set[int]:
    """Days of no ordinary activity at all: a dormant account is silent before `d0`; a
    funnel account in the week its rule looks back over, so that the customer's ordinary
    inflows (remittances of up to 40,000) do not dilute the planted share below the
    pack's 80 % and the label stays true."""
    if typology == "dormant_reactivation":
        return set(range(d0))
    if typology in _FUNNEL_WEEK:
        first, last = _FUNNEL_WEEK[typology]
        return set(range(max(0, d0 + first), d0 + last + 1))
    return set()


def opened_days_before(typology: str | None) -> int:
    """How many days before the simulation the account was opened: the day before (no
    transfer precedes its opening), a dormant one 300."""
    return 300 if typology == "dormant_reactivation" else 1
