"""Early arrivals: events kept in the customer's state until the event they follow arrives
(a customer update before the account opening, a remittance supplement before its payment).

Kafka orders nothing across topics and partitions, so an update can be processed before
the opening it changes, a supplement before the payment it completes. Such an event is
kept in `CustomerState.early` as an item `{"k": kind, "id": event id, "t": event time
(epoch ms), "x": key, "b": body}`: the body holds what applying it needs and never a name
or number (a digest of the update, the present paths of the supplement). When the
predecessor arrives, its items are applied right after it, oldest event time first.

An item waits while the customer's event-time watermark is within the pack's
`state.early_ttl_hours` of its own event time; at most `state.max_early_items` are kept (the
oldest go first). An item that expires is dropped unapplied: the same outcome as before
the monitor kept early arrivals.
"""

from __future__ import annotations

import logging
from operator import itemgetter
from typing import Any

from monitor.core.state import CustomerState

__all__ = ["SUPPLEMENT", "UPDATE", "expire", "hold", "take"]

logger = logging.getLogger(__name__)

UPDATE = "u"  # a customer update waiting for the account opening (key: "")
SUPPLEMENT = "s"  # a remittance supplement waiting for its payment (key: txn_id)

_ORDER = itemgetter("t", "id")


def hold(
    state: CustomerState,
    kind: str,
    event_id: str,
    event_ms: int,
    key: str,
    body: dict[str, Any],
    cap: int,
) -> int:
    """Keep an early arrival; returns how many items the cap pushed out (oldest first)."""
    early = state.early
    early.append({"k": kind, "id": event_id, "t": event_ms, "x": key, "b": body})
    if len(early) <= cap:
        return 0
    early.sort(key=_ORDER)
    dropped = len(early) - cap
    del early[:dropped]
    # per event: debug only (`monitor_early_dropped_total` counts them)
    logger.debug("early arrivals over the cap of %s: %s dropped unapplied", cap, dropped)
    return dropped


def expire(state: CustomerState, ttl_ms: int) -> int:
    """Drop the items whose time-to-live the watermark has passed; returns how many."""
    horizon = state.watermark_ms - ttl_ms
    early = state.early
    if min(item["t"] for item in early) >= horizon:
        return 0
    kept = [item for item in early if item["t"] >= horizon]
    dropped = len(early) - len(kept)
    state.early = kept
    logger.debug("%s early arrival(s) expired unapplied", dropped)
    return dropped


def take(state: CustomerState, kind: str, key: str = "") -> list[dict[str, Any]]:
    """Remove and return the items of `kind` (and `key`) waiting, oldest event time first."""
    early = state.early
    found = [item for item in early if item["k"] == kind and item["x"] == key]
    if found:
        state.early = [item for item in early if not (item["k"] == kind and item["x"] == key)]
        found.sort(key=_ORDER)
    return found
