"""One state record per customer: what the rules remember, bounded by event time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from operator import itemgetter
from typing import Any, Final, NamedTuple

import orjson

from monitor.core.profile_layout import upgrade_profile

__all__ = [
    "DAY_MS",
    "HIGH_RISK_COUNTRY_ALERTS",
    "SUSPICIOUS_ALERTS",
    "WATCHLIST_MATCHES",
    "CashItem",
    "CustomerState",
    "DayBucket",
    "FlowItem",
    "NetItem",
    "TransferItem",
]

DAY_MS = 86_400_000
_EVIDENCE_CAP = 200

# Counters in `CustomerState.risk`, under the short keys every record has stored them as.
SUSPICIOUS_ALERTS: Final = "susp"  # suspicious-category alerts raised for the customer
HIGH_RISK_COUNTRY_ALERTS: Final = "hrc"  # KYC_HIGH_RISK_COUNTRY alerts raised
WATCHLIST_MATCHES: Final = "wl"  # watch-list matches raised


class DayBucket(NamedTuple):
    """One rule's natural-day accumulator for a direction and currency side (stored as the
    array `[total, evidence, fired, txn_count, window_end_ms]`)."""

    total: str  # the amounts summed, a decimal string in the side's currency
    evidence: list[str]  # txn ids summed, at most 200
    fired: bool  # reported already: later transactions that day grow the report
    txn_count: int  # transactions summed
    window_end_ms: int  # the end of the day (epoch ms): dropped once past the retention


class CashItem(NamedTuple):
    """A cash transaction in the STRUCTURING or SAR_STRUCTURING window (stored as the array
    `[event_ms, txn_id, base_amount, side, reported, side_amount]`)."""

    event_ms: int
    txn_id: str
    base_amount: str  # decimal string in the FX table's base currency
    side: str  # the threshold's currency side the amount was compared on
    reported: bool  # already part of an alert: never counted towards another
    side_amount: str  # decimal string in the side's currency


class TransferItem(NamedTuple):
    """A large transfer in the FREQUENT_LARGE_UNCLEAR_SOURCE window (stored as the array
    `[event_ms, txn_id, base_amount, unclear, reported]`)."""

    event_ms: int
    txn_id: str
    base_amount: str  # decimal string in the FX table's base currency
    unclear: bool  # source of funds null, empty or listed as unclear
    reported: bool  # already part of an alert: never counted towards another


class FlowItem(NamedTuple):
    """A transfer or cross-border payment in the FLOWS window the behaviour rules share
    (stored as the array `[event_ms, txn_id, direction, cents, counterparty, tags,
    reported]`)."""

    event_ms: int
    txn_id: str
    direction: str  # "in" or "out"
    cents: int  # the amount in hundredths of the FX table's base currency
    counterparty: str  # short fingerprint of the counterparty's account number, "" unknown
    tags: int  # bit set: 1 the customer's own account, 2 a payroll purpose
    reported: int  # bit set of the rules whose alert included it (never counted again)


class NetItem(NamedTuple):
    """A transfer or a path of transfers in an account's NET window (the rules across
    customers, `monitor.core.rules.network`; stored as the array `[event_ms, item_id, kind,
    cents, body]`)."""

    event_ms: int
    item_id: str  # the edge's or the token's event id
    kind: str  # "i" money in, "o" money out, "t" a path that ended here
    cents: int  # the amount in hundredths of the FX table's base currency
    body: list[Any]  # what the kind needs (`monitor.core.rules.network`)


# Stored array -> NamedTuple without the generated `__new__` (a Python call per item): the
# arrays are the ones `to_bytes` wrote, in the fields' order.
_day_bucket: Callable[[list[Any]], DayBucket] = partial(tuple.__new__, DayBucket)

#: window name (its rule's id) -> stored array -> the item the window holds
_WINDOW_ITEMS: dict[str, Callable[[list[Any]], CashItem | TransferItem | FlowItem | NetItem]] = {
    "STRUCTURING": partial(tuple.__new__, CashItem),
    "SAR_STRUCTURING": partial(tuple.__new__, CashItem),
    "FREQUENT_LARGE_UNCLEAR_SOURCE": partial(tuple.__new__, TransferItem),
    "FLOWS": partial(tuple.__new__, FlowItem),  # shared by the behaviour rules
    "NET": partial(tuple.__new__, NetItem),  # an account's record (rules across customers)
}


@dataclass(slots=True)
class CustomerState:
    """Everything the rule core keeps about one customer (JSON-serialisable values only).

    - `watermark_ms`: the largest event time seen for the customer (epoch ms), any topic.
    - `profile`: identity facts the KYC rules need (field presence, document expiry, PEP,
      countries, fingerprints of identity values): never the names or numbers themselves;
      a null fact is not kept (`monitor.core.profile_layout`).
    - `buckets`: per-day accumulators `"<rule>|<day>|<direction>|<currency>"` -> `DayBucket`.
    - `windows`: per-rule sliding windows, rule id -> `CashItem`s or `TransferItem`s, and
      `FLOWS` -> `FlowItem`s (the behaviour rules'), in (event time, txn id) order.
    - `pending`: remittances awaiting a supplement: txn_id -> `{due_ms, missing, ...}`.
    - `flags`: keys of once-only findings (e.g. an expired document already reported), and
      DORMANT_REACTIVATION's movement times (`DR|...`), each with an event time.
    - `risk`: rating, review dates and history counters (`SUSPICIOUS_ALERTS`, ...).
    - `seen`: event ids already applied -> event time, so a redelivery never counts twice.
    - `early`: events that arrived before the event they follow (`monitor.core.early`),
      without names or numbers, until it arrives or their time-to-live passes (stored
      only when there are some).
    Everything time-based is pruned against the watermark; lists are capped. Buckets and
    window items are NamedTuples in memory and JSON arrays in the stored bytes; `pending`
    and `early` are stored only when not empty. A profile of the earlier layout is brought
    to this one on loading.
    """

    customer_id: str
    watermark_ms: int = 0
    profile: dict[str, Any] | None = None
    buckets: dict[str, DayBucket] = field(default_factory=dict)
    windows: dict[str, list[Any]] = field(default_factory=dict)  # CashItem | TransferItem | ...
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    risk: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    pruned_day: int = 0  # ordinal of the local day the record was last pruned on
    early: list[dict[str, Any]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        record = {
            "c": self.customer_id,
            "w": self.watermark_ms,
            "p": self.profile,
            "b": self.buckets,
            "v": self.windows,
            "f": self.flags,
            "r": self.risk,
            "s": self.seen,
            "d": self.pruned_day,
        }
        # most records have neither: left out, they load as empty
        if self.pending:
            record["q"] = self.pending
        if self.early:
            record["e"] = self.early
        # a copy of its own size: orjson's bytes keep their 4 KiB buffer (a store of a
        # million small records held 4 GB instead of a few hundred MB)
        return bytes(memoryview(orjson.dumps(record, default=_AS_ARRAY)))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CustomerState:
        d = orjson.loads(raw)
        buckets = d.get("b")
        windows = d.get("v")
        profile = d.get("p")
        if profile is not None and "present" in profile:  # written in the earlier layout
            upgrade_profile(profile)
        return cls(
            d["c"],
            d["w"],
            profile,
            dict(zip(buckets, map(_day_bucket, buckets.values()), strict=True)) if buckets else {},
            {k: list(map(_WINDOW_ITEMS[k], v)) for k, v in windows.items()} if windows else {},
            d.get("q", {}),
            d.get("f", {}),
            d.get("r", {}),
            d.get("s", {}),
            d.get("d", 0),
            d.get("e", []),
        )

    def add_evidence(self, bucket: DayBucket, evidence_id: str) -> None:
        ids = bucket.evidence
        if len(ids) < _EVIDENCE_CAP:
            ids.append(evidence_id)

    def prune(self, retention_days: int, max_seen: int, max_window_items: int) -> None:
        """Drop history older than `retention_days` before the watermark; cap lists.

        Each part first asks (with `min` over the values, in C) whether anything is old
        enough to go: most calls find nothing, and then build no list."""
        horizon_ms = self.watermark_ms - retention_days * DAY_MS
        seen = self.seen
        if seen:
            # a day bucket lives until its day *ends* before the horizon: remember event ids
            # one day longer than that, so no event still summed can be counted again
            seen_horizon_ms = horizon_ms - DAY_MS
            if min(seen.values()) < seen_horizon_ms:
                for k in [k for k, t in seen.items() if t < seen_horizon_ms]:
                    del seen[k]
            if len(seen) > max_seen:
                self.seen = dict(sorted(seen.items(), key=lambda kv: kv[1])[-max_seen:])
        buckets = self.buckets
        if buckets and min(map(_END, buckets.values())) < horizon_ms:
            for k in [k for k, b in buckets.items() if b.window_end_ms < horizon_ms]:
                del buckets[k]
        windows = self.windows
        for name, items in list(windows.items()):
            if len(items) <= max_window_items and items and min(map(_TIME, items)) >= horizon_ms:
                continue
            kept = [item for item in items if item.event_ms >= horizon_ms][-max_window_items:]
            if kept:
                windows[name] = kept
            else:
                del windows[name]
        flags = self.flags
        if flags:
            # once-only keys carry the event time they were set at; keep a year of them
            year_ms = self.watermark_ms - 400 * DAY_MS
            if min(flags.values()) < year_ms:
                for k in [k for k, t in flags.items() if t < year_ms]:
                    del flags[k]


# orjson's fallback for what it cannot write: a NamedTuple (bucket, window item) becomes a
# plain tuple, a JSON array; anything else (a set, a Decimal) stays an error.
_AS_ARRAY = itemgetter(slice(None))
_END = itemgetter(4)  # DayBucket.window_end_ms, in C for `min`
_TIME = itemgetter(0)  # every window item's event_ms, in C for `min`
