"""Rendering of `monitor queue` output: entries as JSON, table rows and a detailed view
with the alert's explanation, plain-text tables, ages, and Redis URLs without their
password."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

__all__ = [
    "ENTRY_HEADERS",
    "entry_detail",
    "entry_json",
    "entry_row",
    "format_age",
    "one_line",
    "redact_url",
    "table",
]

_SUMMARY_WIDTH = 60
_FIELDS = (
    "alert_id",
    "rule_id",
    "customer_id",
    "severity",
    "category",
    "summary",
    "event_time",
    "report_due",
    "amount",
    "currency",
    "note",  # what a grown finding added since the version an analyst saw
)


def entry_json(entry_id: str, fields: dict[str, str], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": entry_id, **{k: fields.get(k, "") or None for k in _FIELDS}}
    try:
        out["alert"] = orjson.loads(fields["alert"]) if fields.get("alert") else None
    except orjson.JSONDecodeError:
        out["alert"] = None
    explanation = (
        (out["alert"] or {}).get("explanation") if isinstance(out["alert"], dict) else None
    )
    out["narrative"] = _narrative(explanation)
    out["figures"] = explanation.get("figures") if isinstance(explanation, dict) else None
    out.update(extra)
    return out


def entry_detail(entry_id: str, fields: dict[str, str]) -> str:
    """One entry for an analyst: its fields, then the alert's explanation (the English
    narrative, the figures one per line, the pack version), when the alert has one."""
    data = entry_json(entry_id, fields)
    lines = [f"{'entry':<13} {entry_id}"]
    lines += [f"{k:<13} {data[k]}" for k in _FIELDS if data.get(k) not in (None, "")]
    alert = data["alert"] if isinstance(data["alert"], dict) else {}
    if alert.get("evidence"):
        lines.append(f"{'evidence':<13} {', '.join(str(e) for e in alert['evidence'])}")
    explanation = alert.get("explanation")
    if not isinstance(explanation, dict):
        lines.append("(no explanation: the alert predates explanations)")
        return "\n".join(lines)
    lines += ["", "why", f"  {data['narrative']}", "", "figures"]
    for name, value in sorted((explanation.get("figures") or {}).items()):
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"  {name}")  # evidence transactions: one per line
            lines += [f"    {_figure(v)}" for v in value]
        else:
            lines.append(f"  {name:<20} {_figure(value)}")
    lines += ["", f"{'pack version':<13} {explanation.get('pack_version', '-')}"]
    return "\n".join(lines)


def _narrative(explanation: Any) -> str | None:
    if not isinstance(explanation, dict) or not isinstance(explanation.get("narrative"), dict):
        return None
    text = explanation["narrative"].get("en")
    return text if isinstance(text, str) else None


def _figure(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_figure(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_figure(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)


def entry_row(entry_id: str, fields: dict[str, str]) -> list[str]:
    amount = " ".join(x for x in (fields.get("amount", ""), fields.get("currency", "")) if x)
    summary = fields.get("summary", "")
    if fields.get("note"):
        summary = f"[{fields['note']}] {summary}"
    if len(summary) > _SUMMARY_WIDTH:
        summary = summary[: _SUMMARY_WIDTH - 1] + "…"
    return [
        entry_id,
        fields.get("rule_id", ""),
        fields.get("customer_id", ""),
        amount or "-",
        fields.get("report_due", "") or "-",
        summary,
    ]


ENTRY_HEADERS = ["ENTRY", "RULE", "CUSTOMER", "AMOUNT", "REPORT DUE", "SUMMARY"]


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()
) -> str:
    """Plain-text columns, two spaces apart; columns in `right` are right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        cols = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in cols).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def format_age(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


def redact_url(url: str) -> str:
    """`url` with its password (if any) replaced by `***`."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return "<unparseable URL>"


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
