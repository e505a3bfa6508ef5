"""One state record per customer: what the rules remember, bounded by event time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["CustomerState", "DAY_MS"]

DAY_MS = 86_400_000
_EVIDENCE_CAP = 200


@dataclass(slots=True)
class CustomerState:
    """Everything the rule core keeps about one customer.

    - `watermark_ms`: the largest event time seen for the customer (epoch ms), on any topic.
    - `profile`: identity facts needed by the KYC rules (field presence, document expiry),
      never the identity values themselves.
    - `buckets`: per-day accumulators, keyed `"<rule>|<day>|<direction>|<currency>"`, each
      `[total, [evidence ids], fired, count, window_end_ms]`; pruned once the window
      ended more than the retention before the watermark.
    - `seen`: event ids already applied, with their event time, so a redelivered event never
      counts twice; pruned by time and capped.
    """

    customer_id: str
    watermark_ms: int = 0
    profile: dict[str, Any] | None = None
    buckets: dict[str, list[Any]] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return orjson.dumps(
            {
                "c": self.customer_id,
                "w": self.watermark_ms,
                "p": self.profile,
                "b": self.buckets,
                "s": self.seen,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> CustomerState:
        data = orjson.loads(raw)
        return cls(data["c"], data["w"], data["p"], data["b"], data["s"])

    def add_evidence(self, bucket: list[Any], evidence_id: str) -> None:
        ids: list[str] = bucket[1]
        if len(ids) < _EVIDENCE_CAP:
            ids.append(evidence_id)

    def prune(self, retention_days: int, max_seen: int) -> None:
        """Drop history older than `retention_days` before the watermark."""
        horizon_ms = self.watermark_ms - retention_days * DAY_MS
        if self.seen:
            stale = [k for k, t in self.seen.items() if t < horizon_ms]
            for k in stale:
                del self.seen[k]
            if len(self.seen) > max_seen:
                keep = sorted(self.seen.items(), key=lambda kv: kv[1])[-max_seen:]
                self.seen = dict(keep)
        if self.buckets:
            stale = [k for k, b in self.buckets.items() if b[4] < horizon_ms]
            for k in stale:
                del self.buckets[k]
