"""Typologies across customers for `monitor simulate`: mule hubs (several of our customers
each passing money on to one collecting account) and funds cycles (money round-tripping
through two of our customers and two outside accounts), with look-alike traffic no rule
should flag: a popular shop many of our customers buy from, an employer paying several of
our customers, and savings moved round one's own accounts.

A typology of several customers creates the other members itself (customer ids
`<cid>M<n>`, each with its own opening and label), so every group is complete whatever
the customer count."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from monitor.tools.simulate_transfers import transfer

if TYPE_CHECKING:
    from monitor.tools.traffic import Generator as _Gen

__all__ = ["NETWORK_TYPOLOGIES", "network_typology"]

logger = logging.getLogger(__name__)

#: typology -> (share of customers, rules a good pack raises for it); an empty tuple is
#: look-alike ordinary traffic (any alert of its customers is a false alarm)
NETWORK_TYPOLOGIES: dict[str, tuple[float, tuple[str, ...]]] = {
    "mule_hub": (0.002, ("COUNTERPARTY_HUB",)),
    "funds_cycle": (0.003, ("FUNDS_CYCLE",)),
    "popular_shop": (0.002, ()),
    "employer": (0.002, ()),
    "own_round_trip": (0.005, ()),
}


def _outside(g: _Gen) -> str:
    """An outside account number no other simulated party uses."""
    return f"6228{10**11 + g.rng.randrange(10**11):012d}"


def _member(g: _Gen, cid: str, n: int, typology: str, evidence: list[str]) -> str:
    """Open the group's n-th other member and label it; its customer id."""
    member = f"{cid}M{n}"
    g.opening(member, False)
    rules = list(NETWORK_TYPOLOGIES[typology][1])
    g.sim.labels.append(
        {"customer_id": member, "typology": typology, "evidence": evidence, "expected_rules": rules}
    )
    return member


def network_typology(g: _Gen, typology: str, cid: str, d0: int) -> list[str] | None:
    """Inject `typology` for `cid` (and the group's other members) from day `d0`; the
    evidence txn ids of `cid`, or None when it is not a typology across customers."""
    rng, day = g.rng, min(d0, max(0, g.days - 3))
    if typology == "mule_hub":  # 6 mules: money in from a victim, 95-98 % on to the hub
        hub = _outside(g)
        evidence: list[str] = []
        for n in range(6):
            ids: list[str] = []
            who = cid if n == 0 else _member(g, cid, n, typology, ids)
            amount = rng.randint(20, 50) * 1000
            hour = rng.uniform(9, 12)
            ids.append(transfer(g, who, g.ts(day + n % 2, hour), f"{amount}.00", "in", _outside(g)))
            onward = g.ts(day + n % 2, hour + rng.uniform(1, 5))
            out = amount * rng.randint(95, 98) // 100
            ids.append(transfer(g, who, onward, f"{out}.00", "out", hub))
            if n == 0:
                evidence = ids
        return evidence
    if typology == "funds_cycle":  # cid -> X -> partner -> Y -> cid within two days
        partner_ids: list[str] = []
        partner = _member(g, cid, 1, typology, partner_ids)
        x, y = _outside(g), _outside(g)
        amount = rng.randint(30, 90) * 1000
        hours = sorted(rng.uniform(9, 17) for _ in range(3))
        sent = transfer(g, cid, g.ts(day, hours[0]), f"{amount}.00", "out", x)
        a2 = amount * rng.randint(96, 99) // 100
        partner_ids.append(transfer(g, partner, g.ts(day, hours[1]), f"{a2}.00", "in", x))
        a3 = a2 * rng.randint(96, 99) // 100
        partner_ids.append(transfer(g, partner, g.ts(day, hours[2]), f"{a3}.00", "out", y))
        a4 = a3 * rng.randint(96, 99) // 100
        back = transfer(g, cid, g.ts(day + 1, rng.uniform(9, 17)), f"{a4}.00", "in", y)
        partner_ids.insert(0, sent)
        partner_ids.append(back)
        return [sent, *partner_ids[1:3], back]
    if typology == "popular_shop":  # 8 of our customers buy at one shop over three days
        shop = _outside(g)
        for n in range(8):
            who = cid if n == 0 else _look_alike(g, cid, n, typology)
            amount = rng.choice([rng.randint(2, 40) * 100, rng.randint(50, 80) * 100])
            at = g.ts(day + n % 3)
            transfer(g, who, at, f"{amount}.00", "out", shop, purpose="purchase")
        return []
    if typology == "employer":  # an outside employer pays 6-10 of our customers a salary
        employer = _outside(g)
        for n in range(rng.randint(6, 10)):
            who = cid if n == 0 else _look_alike(g, cid, n, typology)
            salary = rng.randint(60, 250) * 100
            purpose = "salary" if rng.random() < 0.9 else "工资"
            transfer(g, who, g.ts(day, 10), f"{salary}.00", "in", employer, purpose=purpose)
        return []
    if typology == "own_round_trip":  # current -> savings -> deposit account -> current
        own = [_outside(g), _outside(g)]
        amount = rng.randint(20, 80) * 1000
        transfer(g, cid, g.ts(day, 9), f"{amount}.00", "out", own[0], own=True)
        _own_move(g, cid, own[0], own[1], g.ts(day, 11), amount)
        transfer(g, cid, g.ts(day + 1, 10), f"{amount}.00", "in", own[1], own=True)
        return []
    return None


def _look_alike(g: _Gen, cid: str, n: int, typology: str) -> str:
    member = f"{cid}M{n}"
    g.opening(member, False)
    g.sim.labels.append(
        {"customer_id": member, "typology": typology, "evidence": [], "expected_rules": []}
    )
    return member


def _own_move(g: _Gen, cid: str, src: str, dst: str, at: Any, amount: int) -> None:
    """A move between two of the customer's own other accounts, reported from `src`."""
    txn = g.next_id("D")
    g.sim.add(
        "txn.transfers",
        at,
        {
            "event_id": f"ev-{txn}",
            "txn_id": txn,
            "customer_id": cid,
            "account_id": src,
            "occurred_at": g.iso(at),
            "direction": "out",
            "amount": f"{amount}.00",
            "currency": "CNY",
            "counterparty": {
                "name": "Own account",
                "account_number": dst,
                "bank_code": "102100000000",
                "customer_id": cid,
            },
            "channel": "online",
            "purpose": None,
            "source_of_funds": None,
        },
    )
