"""The PBoC Order 2016 No.3 document of a large-value or suspicious transaction report."""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["TRANSACTION_ELEMENTS", "pboc_record", "transactions"]

logger = logging.getLogger(__name__)

#: per transaction (2016 No.3 art. 5 and annex): time, amount, currency, direction,
#: counterparty and channel (交易时间、金额、币种、收付标识、交易对手、交易方式)
TRANSACTION_ELEMENTS = ("time", "amount", "currency", "direction", "counterparty", "channel")


def _figures(alert: dict[str, Any]) -> dict[str, Any]:
    figures = (alert.get("explanation") or {}).get("figures") or {}
    return figures if isinstance(figures, dict) else {}


def transactions(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per evidence transaction. An alert's amount and time belong to the transaction
    itself only when it rests on one transaction; for several, the per-transaction rows of
    `explanation.figures.transactions` are used when the alert carries them."""
    rows: list[dict[str, Any]] = []
    for a in alerts:
        figures = _figures(a)
        detail = {
            str(t.get("txn_id")): t
            for t in figures.get("transactions", []) or []
            if isinstance(t, dict)
        }
        evidence = list(a.get("evidence") or [])
        single = len(evidence) == 1
        for txn in evidence:
            known = detail.get(str(txn), {})
            row: dict[str, Any] = {
                "txn_id": txn,
                "alert_id": a.get("alert_id"),
                "rule_id": a.get("rule_id"),
            }
            row["time"] = known.get("time") or (a.get("event_time") if single else None)
            row["amount"] = known.get("amount") or (a.get("amount") if single else None)
            row["currency"] = known.get("currency") or a.get("currency")
            for key in ("direction", "counterparty", "channel"):
                row[key] = known.get(key) or figures.get(key) or a.get(key)
            row["account_id"] = (
                known.get("account_id") or figures.get("account_id") or a.get("account_id")
            )
            rows.append(row)
    return rows


def pboc_record(
    case: Any, kind: str, institution: dict[str, str], measures: list[str]
) -> dict[str, Any]:
    """The JSON document of a `kind` (large_value | suspicious) report of `case`."""
    alerts = sorted(case.alerts.values(), key=lambda a: str(a.get("event_time", "")))
    proposal = case.proposal or {}
    missing: list[str] = []
    branches = sorted({str(a["branch_code"]) for a in alerts if a.get("branch_code")})
    rows = transactions(alerts)
    accounts = sorted({str(r["account_id"]) for r in rows if r.get("account_id")})
    record: dict[str, Any] = {
        "format": "pboc-2016-3/1",
        "regulation": "PBoC Order 2016 No.3",
        "report_type": kind,
        "reporting_institution": {
            "name": institution.get("name") or None,
            "code": institution.get("code") or None,
            "branches": branches,
        },
        "customer": {
            "customer_id": case.customer_id,
            "name": None,
            "id_type": None,
            "id_number": None,
            "accounts": accounts,
        },
        "transactions": rows,
        "alerts": [
            {
                k: a.get(k)
                for k in (
                    "alert_id",
                    "rule_id",
                    "category",
                    "summary",
                    "amount",
                    "currency",
                    "window_start",
                    "window_end",
                    "report_due",
                )
            }
            for a in alerts
        ],
    }
    if not record["reporting_institution"]["name"]:
        missing.append("reporting_institution.name")
    if not record["reporting_institution"]["code"]:
        missing.append("reporting_institution.code")
    if not branches:
        missing.append("reporting_institution.branches")
    missing += ["customer.name", "customer.id_type", "customer.id_number"]
    if not accounts:
        missing.append("customer.accounts")
    for row in rows:
        missing += [
            f"transactions[{row['txn_id']}].{k}" for k in TRANSACTION_ELEMENTS if not row.get(k)
        ]
    if kind == "suspicious":
        record["suspicion"] = {
            "description": proposal.get("narrative") or None,
            "measures_taken": measures,
        }
        if not record["suspicion"]["description"]:
            missing.append("suspicion.description")
        if not measures:
            missing.append("suspicion.measures_taken")
    record["missing_elements"] = missing
    return record
