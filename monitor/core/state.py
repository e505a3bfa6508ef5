"""One state record per customer: what the rules remember, bounded by event time."""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson

__all__ = ["DAY_MS", "CustomerState"]

DAY_MS = 86_400_000
_EVIDENCE_CAP = 200


@dataclass(slots=True)
class CustomerState:
    """Everything the rule core keeps about one customer (JSON-serialisable values only).

    - `watermark_ms`: the largest event time seen for the customer (epoch ms), any topic.
    - `profile`: identity facts the KYC rules need (field presence, document expiry, PEP,
      countries, fingerprints of identity values): never the names or numbers themselves.
    - `buckets`: per-day accumulators `"<rule>|<day>|<direction>|<currency>"` ->
      `[total, [evidence ids], fired, count, window_end_ms]`.
    - `windows`: per-rule sliding windows, lists of `[event_ms, txn_id, amount, flag]`.
    - `pending`: remittances awaiting a supplement: txn_id -> `{due_ms, missing, ...}`.
    - `flags`: keys of once-only findings (e.g. an expired document already reported).
    - `risk`: rating, review dates and history counters.
    - `seen`: event ids already applied -> event time, so a redelivery never counts twice.
    - `early`: events that arrived before the event they follow (`monitor.core.early`),
      without names or numbers, until it arrives or their time-to-live passes.
    Everything time-based is pruned against the watermark; lists are capped.
    """

    customer_id: str
    watermark_ms: int = 0
    profile: dict[str, Any] | None = None
    buckets: dict[str, list[Any]] = field(default_factory=dict)
    windows: dict[str, list[list[Any]]] = field(default_factory=dict)
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    risk: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    pruned_day: int = 0  # ordinal of the local day the record was last pruned on
    early: list[dict[str, Any]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "c": self.customer_id,
                "w": self.watermark_ms,
                "p": self.profile,
                "b": self.buckets,
                "v": self.windows,
                "q": self.pending,
                "f": self.flags,
                "r": self.risk,
                "s": self.seen,
                "d": self.pruned_day,
                "e": self.early,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> CustomerState:
        d = orjson.loads(raw)
        return cls(
            d["c"],
            d["w"],
            d.get("p"),
            d.get("b", {}),
            d.get("v", {}),
            d.get("q", {}),
            d.get("f", {}),
            d.get("r", {}),
            d.get("s", {}),
            d.get("d", 0),
            d.get("e", []),
        )

    def add_evidence(self, bucket: list[Any], evidence_id: str) -> None:
        ids: list[str] = bucket[1]
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
            for k in [k for k, b in buckets.items() if b[4] < horizon_ms]:
                del buckets[k]
        windows = self.windows
        for name, items in list(windows.items()):
            if len(items) <= max_window_items and items and min(map(_TIME, items)) >= horizon_ms:
                continue
            kept = [item for item in items if item[0] >= horizon_ms][-max_window_items:]
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


_END = itemgetter(4)  # a day bucket's window end (epoch ms)
_TIME = itemgetter(0)  # a window item's event time (epoch ms)
