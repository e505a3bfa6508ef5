"""Models of the three output topics (docs/interface.md)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = [
    "Alert",
    "Category",
    "DeadLetter",
    "Explanation",
    "Narrative",
    "ReidTask",
    "Severity",
    "Trigger",
]

Category = Literal["large_value_report", "suspicious", "due_diligence"]
Severity = Literal["low", "medium", "high"]
Trigger = Literal[
    "PROFILE_CHANGE",
    "ABNORMAL_ACTIVITY",
    "WATCHLIST_MATCH",
    "SUSPECTED_ML_TF",
    "INCONSISTENT_INFO",
    "DOUBTFUL_RECORDS",
    "ID_EXPIRED",
    "PERIODIC_REVIEW",
    "INCOMPLETE_KYC",
    "ENHANCED_DUE_DILIGENCE",
]


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Narrative(_Output):
    """An explanation rendered as text, in English and in Chinese."""

    en: str
    zh: str


class Explanation(_Output):
    """What decided an alert: the pack's content hash (`sha256:` and 16 hex digits of the
    pack file and its data files), the rule's parameters (its pack config), the computed
    figures (totals, counts, threshold and distance to it, window, FX rates used, the
    evidence transactions' key fields; decimals as strings) and the narrative rendered from
    them. A function of the facts only, like `alert_id`."""

    pack_version: str
    parameters: dict[str, JsonValue] = Field(default_factory=dict)
    figures: dict[str, JsonValue] = Field(default_factory=dict)
    narrative: Narrative


class Alert(_Output):
    """`aml.alerts`: one finding. `alert_id` is a function of the facts only."""

    alert_id: str
    rule_id: str
    customer_id: str
    severity: Severity
    category: Category
    summary: str
    event_time: datetime
    detected_at: datetime
    window_start: datetime | None = None
    window_end: datetime | None = None
    amount: Decimal | None = None
    currency: str | None = None
    evidence: list[str] = Field(default_factory=list)
    report_due: date | None = None
    queue: str
    explanation: Explanation | None = None


class ReidTask(_Output):
    """`aml.reid-tasks`: a customer re-identification task."""

    task_id: str
    customer_id: str
    trigger: Trigger
    measures: list[str] = Field(default_factory=list)
    due_by: date | None = None
    source_event_id: str
    alert_ids: list[str] = Field(default_factory=list)
    risk_rating: Severity | None = None  # the customer's rating when the task was raised


class DeadLetter(_Output):
    """`aml.dead-letters`: an input that could not be used, with everything to find it again."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None
    key_b64: str | None = None
    value_b64: str
    reason: str
    errors: list[str]
    received_at: datetime
