"""Alerts for the casework tests: two customers, a large-value and a suspicious finding."""

from __future__ import annotations

from typing import Any


def alert(n: int, customer: str = "CUST-0001", **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "alert_id": f"a{n:04d}" + "0" * 28,
        "rule_id": "STRUCTURING",
        "customer_id": customer,
        "severity": "high",
        "category": "suspicious",
        "summary": "4 cash deposits of RMB 45,000-49,500 within 6 days, each just under "
        "the RMB 50,000 large-value threshold",
        "event_time": "2026-03-05T10:00:00+08:00",
        "detected_at": "2026-03-05T10:00:01+08:00",
        "window_start": "2026-02-28T09:00:00+08:00",
        "window_end": "2026-03-05T10:00:00+08:00",
        "amount": "187500.00",
        "currency": "CNY",
        "evidence": [f"T-{n}-1", f"T-{n}-2", f"T-{n}-3", f"T-{n}-4"],
        "report_due": "2026-03-12",
        "queue": "suspicious",
        "branch_code": "SH001",
        "explanation": {
            "pack_version": "sha256:5f1c0e",
            "parameters": {"min_count": 3, "band": ["0.9", "1.0"], "window_days": 7},
            "figures": {"count": 4, "total": "187500.00", "threshold": "50000.00"},
            "narrative": "4 cash deposits in 6 days between RMB 45,000 and RMB 49,500, each "
            "90-100 % of the RMB 50,000 threshold (3 or more within 7 days).",
        },
    }
    base.update(changes)
    return base


def large_value(n: int, customer: str = "CUST-0002", due: str = "2026-03-09") -> dict[str, Any]:
    return alert(
        n,
        customer,
        rule_id="LV_CASH",
        category="large_value_report",
        severity="medium",
        summary="Cash withdrawal RMB 80,000 (single transaction at or above RMB 50,000)",
        amount="80000.00",
        evidence=[f"T-{n}-1"],
        report_due=due,
        queue="large_value",
        branch_code="BJ002",
    )


def reid_task(customer: str = "CUST-0001", rating: str = "high") -> dict[str, Any]:
    return {
        "task_id": f"t-{customer}",
        "customer_id": customer,
        "trigger": "SUSPECTED_ML_TF",
        "measures": ["verify source of funds", "refresh identity documents"],
        "due_by": "2026-03-16",
        "source_event_id": "e-1",
        "alert_ids": [],
        "risk_rating": rating,
    }
