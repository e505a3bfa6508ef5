"""Cash seen from the person who conducts it: the conductor's person key and the event that
carries a cash transaction into the conductor's own state record.

31 CFR 1010.313(b) treats multiple currency transactions as one when they are "by or on
behalf of any person": cash one person brings in for several customers on one business
day counts for that person too. The rule core aggregates it in a state record keyed by the
conductor's person key (`conductor_key`), exactly as a customer's cash is aggregated in
the customer's record: the engine applies a `ConductorCash` to that record like any event
(`Engine.process`), running only the rules that handle `ConductorCash`
(`monitor.core.rules.conductor`). The worker re-keys such cash to the internal events topic
by the person key (`agents.rules`); offline runs apply it in the same step as the cash
(`monitor.tools.offline`).

The person key is a fingerprint of the identity document (type and number, normalised),
never the number itself: it is what state keys, Kafka keys and alerts carry.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from schemas import CashTransaction

__all__ = ["PERSON_KEY_PREFIX", "ConductorCash", "conductor_cash", "conductor_key"]

logger = logging.getLogger(__name__)

#: how a conductor's person key starts (customer ids of this form are reserved)
PERSON_KEY_PREFIX = "conductor:"
_PERSON = b"aml-conductor"  # BLAKE2b personalisation: these digests mean nothing elsewhere


def conductor_key(event: CashTransaction) -> str | None:
    """The person key of the cash's conductor: a fingerprint of the identity document's type
    (case and spaces ignored) and number (letters and digits only, upper case); None when
    the conductor or the document number is missing."""
    conductor = event.conductor
    doc = conductor.id_document if conductor is not None else None
    if doc is None or not doc.number:
        return None
    number = "".join(ch for ch in doc.number.upper() if ch.isalnum())
    if not number:
        return None
    kind = "".join((doc.type or "").lower().split())
    digest = hashlib.blake2b(
        f"{kind}\x1f{number}".encode(), digest_size=16, person=_PERSON
    ).hexdigest()
    return PERSON_KEY_PREFIX + digest


@dataclass(frozen=True, slots=True)
class ConductorCash:
    """A cash transaction applied to its conductor's state record: `customer_id` is the
    conductor's person key (whose state it is), `on_behalf_of` the customer the cash was
    for. Reads like the cash transaction otherwise."""

    customer_id: str
    cash: CashTransaction

    @property
    def event_id(self) -> str:
        return self.cash.event_id

    @property
    def event_time(self) -> datetime:
        return self.cash.occurred_at

    @property
    def occurred_at(self) -> datetime:
        return self.cash.occurred_at

    @property
    def txn_id(self) -> str:
        return self.cash.txn_id

    @property
    def amount(self) -> Decimal:
        return self.cash.amount

    @property
    def currency(self) -> str:
        return self.cash.currency

    @property
    def direction(self) -> str:
        return self.cash.direction

    @property
    def branch_code(self) -> str | None:
        return self.cash.branch_code

    @property
    def on_behalf_of(self) -> str:
        return self.cash.customer_id


def conductor_cash(event: object) -> ConductorCash | None:
    """`event` for its conductor's state record, if it is cash whose conductor has an
    identity document number."""
    if type(event) is not CashTransaction:
        return None
    key = conductor_key(event)
    return ConductorCash(key, event) if key is not None else None
