"""The sample scenarios of config/samples as tests feed them to a worker: each message kind's
input topic, a scenario's messages as records to produce, the rule ids all-rules.jsonl fires."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from monitor.tools.traffic import TOPIC_FILES

if TYPE_CHECKING:
    from monitor.tools.scenario import Message

__all__ = ["ALL_RULES", "DEMO_DAY", "KIND_TOPIC", "RULE_IDS", "records"]

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
ALL_RULES = SAMPLES / "all-rules.jsonl"
DEMO_DAY = SAMPLES / "demo-day.jsonl"

#: the input topic of each scenario message kind (without a worker's topic prefix)
KIND_TOPIC = {kind: topic for topic, kind in TOPIC_FILES.items()}

#: every rule id that all-rules.jsonl fires under the cn-pboc pack (one customer per rule)
RULE_IDS = [
    "LV_CASH",
    "LV_XBORDER_INDIVIDUAL",
    "LV_TRANSFER_ENTITY",
    "CDD_ONE_OFF",
    "CDD_AGENT",
    "REMIT_MISSING_INFO",
    "REMIT_INFO_UNRESOLVED",
    "STRUCTURING",
    "FREQUENT_LARGE_UNCLEAR_SOURCE",
    "KYC_INCOMPLETE",
    "KYC_ID_EXPIRED",
    "KYC_PEP",
    "KYC_HIGH_RISK_COUNTRY",
    "KYC_BENEFICIAL_OWNER",
    "WATCHLIST_MATCH",
    "LV_TRANSFER_INDIVIDUAL",
    "FUNNEL_IN",
    "FUNNEL_OUT",
    "PASS_THROUGH",
    "FREQUENT_SAME_COUNTERPARTY",
    "DORMANT_REACTIVATION",
    "COUNTERPARTY_HUB",
    "FUNDS_CYCLE",
]


class _Worker(Protocol):
    def topic(self, name: str) -> str: ...


def records(
    worker: _Worker, messages: list[Message]
) -> list[tuple[str, bytes | None, bytes, None]]:
    """`messages` as (topic, key, value, partition) records for `produce`, on the input
    topics of `worker` (with its topic prefix); the partition is left to the key."""
    return [(worker.topic(KIND_TOPIC[m.kind]), m.key, m.value, None) for m in messages]
