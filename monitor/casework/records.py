"""The report record created when a `report` disposition is approved: the richer PBoC/FinCEN
builder (`monitor.casework.reports.build_record`) when installed, else a minimal JSON record
with the PBoC 2016 No.3 elements the case holds."""

from __future__ import annotations

import hashlib
import importlib
import logging
from datetime import datetime
from typing import Any

from monitor.casework.events import canonical_json
from monitor.casework.measures import measure_texts
from monitor.casework.workflow import Case

__all__ = ["build_report_record"]

logger = logging.getLogger(__name__)


def build_report_record(case: Case, at: datetime) -> dict[str, Any]:
    """The record of the approved report disposition of `case` (a JSON-ready dict)."""
    try:
        reports = importlib.import_module("monitor.casework.reports")
    except ImportError:
        return _minimal(case, at)
    if not hasattr(reports, "build_record"):
        return _minimal(case, at)
    built: dict[str, Any] = reports.build_record(case, at)  # the one call site
    return built


def _minimal(case: Case, at: datetime) -> dict[str, Any]:
    proposal, approval = case.proposal or {}, case.approval or {}
    alerts = sorted(case.alerts.values(), key=lambda a: str(a.get("event_time", "")))
    transactions = [
        {
            "txn_id": txn,
            "alert_id": a["alert_id"],
            "rule_id": a.get("rule_id"),
            "amount": a.get("amount"),
            "currency": a.get("currency"),
            "time": a.get("event_time"),
        }
        for a in alerts
        for txn in a.get("evidence", [])
    ]
    record: dict[str, Any] = {
        "format": "minimal-json/1",
        "regulation": "PBoC Order 2016 No.3 (suspicious transaction report)",
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "accounts": sorted({a["account_id"] for a in alerts if a.get("account_id")}),
        "alerts": [
            {k: a.get(k) for k in ("alert_id", "rule_id", "category", "summary", "amount")}
            for a in alerts
        ],
        "transactions": transactions,
        "narrative": proposal.get("narrative", ""),
        "measures_taken": measure_texts(proposal.get("measures") or []),
        "proposed_by": proposal.get("user"),
        "approved_by": approval.get("user"),
        "created_at": at.isoformat(),
    }
    record["report_id"] = "R-" + hashlib.sha256(canonical_json(record)).hexdigest()[:12].upper()
    return record
