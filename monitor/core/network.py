"""Transfers seen from the accounts they move money between: the account key, the `Edge` an
event carries into an account's own state record, and the `Token` (a path of transfers)
FUNDS_CYCLE forwards from account to account.

The rules across customers (`monitor.core.rules.network`) keep their state in a record
keyed by an account's key (`account_key`), as LV_CASH_CONDUCTOR keeps its own in a record
keyed by a person key (`monitor.core.conductor`). A transfer or remittance of our customer
from account S to account D is one edge S -> D. It is applied to D's record as money in
(role "i") and, when FUNDS_CYCLE runs, to S's record as money out (role "o"); money our
customer receives from S is applied to S's record as money out (and to the customer's
account as money in when S is our customer's too). Both sides of a transfer between two of
our accounts describe one edge: the edge's `event_id` comes from its accounts, amount and
time, so the second side is a redelivery to the record and never counts twice.

The worker re-keys these edges through the internal events topic (`agents.routing`);
offline runs apply them in the same step as the event (`monitor.tools.offline`). A token
a rule forwards is applied to its next account's record the same way.

The account key is a fingerprint of the account number (spaces ignored, upper case),
never the number: state keys, Kafka keys and alerts carry it; evidence shows the number
masked to its last four characters.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson

from monitor.core.ids import stable_id
from schemas import Remittance, Transfer

__all__ = [
    "ACCOUNT_KEY_PREFIX",
    "Edge",
    "Leg",
    "Token",
    "account_key",
    "mask",
    "network_edges",
]

logger = logging.getLogger(__name__)

#: how an account's key starts (customer ids of this form are reserved)
ACCOUNT_KEY_PREFIX = "account:"
_PERSON = b"aml-account"  # BLAKE2b personalisation: these digests mean nothing elsewhere


def _normal(number: str | None) -> str:
    return "".join((number or "").split()).upper()


@lru_cache(maxsize=1 << 16)  # a customer's own accounts come back with every transfer
def account_key(number: str | None) -> str | None:
    """The key of an account's state record: a fingerprint of its number (spaces ignored,
    upper case); None when there is no number."""
    normal = _normal(number)
    if not normal:
        return None
    digest = hashlib.blake2b(normal.encode(), digest_size=16, person=_PERSON).hexdigest()
    return ACCOUNT_KEY_PREFIX + digest


def mask(number: str | None) -> str:
    """An account number as evidence shows it: its last four characters."""
    normal = _normal(number)
    return "****" + normal[-4:] if normal else ""


@dataclass(frozen=True, slots=True)
class Edge:
    """One transfer applied to one account's record: `customer_id` is that account's key,
    `role` "i" when the money came into it (it is `dst`), "o" when it went out (`src`).
    Owners are our customers' ids ("" when the account is not known to be ours); masks
    are the account numbers as evidence shows them."""

    customer_id: str
    role: str
    src: str
    dst: str
    src_owner: str
    dst_owner: str
    src_mask: str
    dst_mask: str
    txn_id: str
    occurred_at: datetime
    amount: Decimal
    currency: str
    purpose: str | None
    event_id: str

    @property
    def event_time(self) -> datetime:
        return self.occurred_at

    @property
    def other(self) -> str:
        """The key of the account on the other side."""
        return self.src if self.role == "i" else self.dst

    @property
    def customer(self) -> str:
        """Our customer on the other side ("" if it is not ours)."""
        return self.src_owner if self.role == "i" else self.dst_owner


#: one transfer of a path: (txn_id, src, dst, src_owner, dst_owner, cents, event_ms,
#: src_mask, dst_mask)
Leg = tuple[str, str, str, str, str, int, int, str, str]


@dataclass(frozen=True, slots=True)
class Token:
    """A path of transfers that ends at the account whose record it is applied to
    (`customer_id`, the last leg's `dst`); it started at the first leg's `src`."""

    customer_id: str
    legs: tuple[Leg, ...]

    @property
    def event_id(self) -> str:
        return stable_id("net-token", *(leg[0] for leg in self.legs))

    @property
    def event_time(self) -> datetime:
        return datetime.fromtimestamp(self.legs[-1][6] / 1000, UTC)

    def to_bytes(self) -> bytes:
        return orjson.dumps({"k": self.customer_id, "l": self.legs})

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> Token | None:
        """The token of a forwarded record; None when the bytes are not one."""
        try:
            d: Any = orjson.loads(raw or b"")
            legs = tuple(
                (str(a), str(b), str(c), str(e), str(f), int(g), int(h), str(i), str(j))
                for a, b, c, e, f, g, h, i, j in d["l"]
            )
            return cls(str(d["k"]), legs) if legs else None
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None


def _sides(event: object) -> tuple[str | None, str | None, str, str, str | None] | None:
    """(our account number, the counterparty's, our customer, the counterparty's owner,
    purpose) of a transfer or a remittance payment; None for anything else."""
    if type(event) is Transfer:
        cp = event.counterparty
        return (
            event.account_id,
            cp.account_number,
            event.customer_id,
            cp.customer_id or "",
            (event.purpose),
        )
    if type(event) is Remittance and event.kind == "payment" and event.amount is not None:
        ours, theirs = event.originator, event.beneficiary
        if event.direction == "in":
            ours, theirs = theirs, ours  # type: ignore[assignment]
        return (
            ours.account_number if ours is not None else None,
            theirs.account_number if theirs is not None else None,
            event.customer_id,
            "",
            None,
        )
    return None


def _edge_id(*facts: object) -> str:
    """The id of an edge in its account's record (the same for both sides of a transfer)."""
    text = "\x1f".join(map(str, facts)).encode()
    return "e" + hashlib.blake2b(text, digest_size=16, person=b"aml-net-edge").hexdigest()


def network_edges(
    event: object,
    cycles: bool,
    enough: Callable[[Decimal, str, datetime], bool] | None = None,
    enough_own: Callable[[Decimal, str, datetime], bool] | None = None,
) -> list[Edge]:
    """The edges `event` applies to account records: to the counterparty's account always
    (COUNTERPARTY_HUB reads those), and, with `cycles`, to the customer's account as well
    when it paid out or received from an account of ours (FUNDS_CYCLE's other side).
    None when `enough` (amount, currency, time) says no rule would count the amount; the
    customer's own account's side only when `enough_own` (FUNDS_CYCLE's floor) says so."""
    sides = _sides(event)
    if sides is None:
        return []
    own_number, cp_number, owner, cp_owner, purpose = sides
    assert isinstance(event, Transfer | Remittance)
    amount, currency = event.amount, event.currency
    if amount is None or currency is None:
        return []
    at = event.occurred_at
    if enough is not None and not enough(amount, currency, at):
        return []
    own, cp = account_key(own_number), account_key(cp_number)
    if own is None or cp is None or own == cp:
        return []
    cycles = cycles and (enough_own is None or enough_own(amount, currency, at))
    event_ms = int(at.timestamp() * 1000)
    if event.direction == "out":
        src, dst, src_owner, dst_owner = own, cp, owner, cp_owner
        src_mask, dst_mask = mask(own_number), mask(cp_number)
        roles = ("i", "o") if cycles else ("i",)
    else:
        src, dst, src_owner, dst_owner = cp, own, cp_owner, owner
        src_mask, dst_mask = mask(cp_number), mask(own_number)
        roles = ("o", "i") if cycles and cp_owner else ("o",)
    normal = amount.normalize()
    return [
        Edge(
            dst if role == "i" else src,
            role,
            src,
            dst,
            src_owner,
            dst_owner,
            src_mask,
            dst_mask,
            event.txn_id,
            at,
            amount,
            currency,
            purpose,
            _edge_id(role, src, dst, normal, currency, event_ms),
        )
        for role in roles
    ]
