"""`monitor backtest`: rule packs over labelled data; precision, recall and F1 per rule and
per typology, alerts per 1,000 customers, two packs side by side. Writes report.json,
report.md and report.html (charts as inline SVG, no external assets)."""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from monitor.core.errors import ConfigurationError
from monitor.core.pack import Pack
from monitor.core.rules import Findings
from monitor.tools.offline import RunStats, run_offline

__all__ = [
    "PackResult",
    "backtest",
    "count_customers",
    "evaluate",
    "read_labels",
    "write_report",
]

#: the input file whose lines are the customers (one account opening each)
OPENINGS = "kyc.account-openings.jsonl"


@dataclass
class PackResult:
    name: str
    stats: RunStats
    alerts_by_rule: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    alert_count_by_rule: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    metrics: dict[str, Any] = field(default_factory=dict)
    alert_ids: set[str] = field(default_factory=set, repr=False)


def _collect(result: PackResult):
    """Counts findings: a grown finding's later versions (same `alert_id`) count once."""

    def on(findings: Findings) -> None:
        for alert in findings.alerts:
            result.alerts_by_rule[alert.rule_id].add(alert.customer_id)
            if alert.alert_id not in result.alert_ids:
                result.alert_ids.add(alert.alert_id)
                result.alert_count_by_rule[alert.rule_id] += 1

    return on


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {"precision": precision, "recall": recall, "f1": f1}


def evaluate(result: PackResult, labels: list[dict[str, Any]], customers: int) -> dict[str, Any]:
    """Customer-level confusion per rule (labelled = a label expects that rule) and recall per
    typology (detected = an alert of any rule the typology expects)."""
    expected: dict[str, set[str]] = defaultdict(set)
    by_typology: dict[str, set[str]] = defaultdict(set)
    for label in labels:
        by_typology[label["typology"]].add(label["customer_id"])
        for rule in label["expected_rules"]:
            expected[rule].add(label["customer_id"])
    rules = sorted(set(expected) | set(result.alerts_by_rule))
    per_rule = {}
    for rule in rules:
        alerted, want = result.alerts_by_rule.get(rule, set()), expected.get(rule, set())
        tp, fp, fn = len(alerted & want), len(alerted - want), len(want - alerted)
        per_rule[rule] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": customers - tp - fp - fn,
            "labelled": len(want) > 0,
            "alerts": result.alert_count_by_rule.get(rule, 0),
            "alerts_per_1000_customers": 1000 * result.alert_count_by_rule.get(rule, 0) / customers,
            **_prf(tp, fp, fn),
        }
    per_typology = {}
    rules_of = {label["typology"]: label["expected_rules"] for label in labels}
    for typology, members in sorted(by_typology.items()):
        rules_t = rules_of[typology]
        if rules_t:
            detected = {
                c for c in members if any(c in result.alerts_by_rule.get(r, ()) for r in rules_t)
            }
            per_typology[typology] = {
                "customers": len(members),
                "detected": len(detected),
                "recall": len(detected) / len(members),
                "rules": rules_t,
            }
        else:  # near misses: any alert is a false alarm
            alarmed = {c for c in members if any(c in s for s in result.alerts_by_rule.values())}
            per_typology[typology] = {
                "customers": len(members),
                "false_alarms": len(alarmed),
                "false_alarm_rate": len(alarmed) / len(members),
                "rules": [],
            }
    total = sum(result.alert_count_by_rule.values())
    return {
        "pack": result.name,
        "customers": customers,
        "events": result.stats.events,
        "events_per_s": round(result.stats.events_per_s),
        "alerts": total,
        "alerts_per_1000_customers": 1000 * total / customers,
        "per_rule": per_rule,
        "per_typology": per_typology,
    }


def read_labels(path: Path) -> list[dict[str, Any]]:
    """The labels file: one JSON object a line with `customer_id` and `typology` (strings)
    and `expected_rules` (a list of rule ids). A bad line raises `ConfigurationError`
    naming the file and line."""
    labels = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                label = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise ConfigurationError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not (
                isinstance(label, dict)
                and isinstance(label.get("customer_id"), str)
                and label["customer_id"]
                and isinstance(label.get("typology"), str)
                and isinstance(label.get("expected_rules"), list)
                and all(isinstance(r, str) for r in label["expected_rules"])
            ):
                raise ConfigurationError(
                    f"{path}:{number}: expected an object with customer_id, typology "
                    "and expected_rules (a list of rule ids)"
                )
            labels.append(label)
    return labels


def count_customers(data: Path) -> int:
    """The number of customers in a data directory (lines of its account-openings file);
    `ConfigurationError` if there is none."""
    openings = data / OPENINGS
    if not openings.is_file():
        raise ConfigurationError(f"{openings}: no such file (a data directory as simulate writes)")
    with openings.open("rb") as handle:
        customers = sum(1 for line in handle if line.strip())
    if not customers:
        raise ConfigurationError(f"{openings}: no account openings")
    return customers


def backtest(
    data: Path,
    labels_path: Path,
    packs: list[Pack],
    labels: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run each pack over `data` and score it against the labels (read from `labels_path`
    unless given)."""
    if labels is None:
        labels = read_labels(labels_path)
    customers = count_customers(data)
    reports = []
    for pack in packs:
        result = PackResult(
            pack.name if pack.source is None else f"{pack.name} ({pack.source.name})", RunStats()
        )
        result.stats = run_offline(pack, data, _collect(result), datetime.now(UTC))
        reports.append(evaluate(result, labels, customers))
    return {
        "data": str(data),
        "labels": str(labels_path),
        "generated_at": datetime.now(UTC).isoformat(),
        "packs": reports,
    }


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def write_report(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    (out / "report.md").write_text(_markdown(report), encoding="utf-8")
    (out / "report.html").write_text(_html(report), encoding="utf-8")


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"# Backtest of {report['data']}", ""]
    for p in report["packs"]:
        lines += [
            f"## {p['pack']}",
            "",
            f"{p['events']:,} events, {p['customers']:,} customers, {p['alerts']:,} alerts "
            f"({p['alerts_per_1000_customers']:.1f} per 1,000 customers), "
            f"{p['events_per_s']:,} events/s",
            "",
            "| rule | TP | FP | FN | TN | precision | recall | F1 | alerts / 1,000 customers |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for rule, m in p["per_rule"].items():
            lines.append(
                f"| {rule} | {m['tp']} | {m['fp']} | {m['fn']} | {m['tn']} | "
                f"{_fmt(m['precision'])} | "
                f"{_fmt(m['recall'])} | {_fmt(m['f1'])} | {m['alerts_per_1000_customers']:.2f} |"
            )
        lines += [
            "",
            "| typology | customers | detected / false alarms | recall / false-alarm rate |",
            "|---|---|---|---|",
        ]
        for name, t in p["per_typology"].items():
            if "recall" in t:
                lines.append(f"| {name} | {t['customers']} | {t['detected']} | {t['recall']:.3f} |")
            else:
                lines.append(
                    f"| {name} | {t['customers']} | {t['false_alarms']} | "
                    f"{t['false_alarm_rate']:.3f} |"
                )
        lines.append("")
    if len(report["packs"]) == 2:
        a, b = report["packs"]
        lines += [
            f"## Comparison: {a['pack']} vs {b['pack']}",
            "",
            "| rule | alerts A | alerts B | recall A | recall B | precision A | precision B |",
            "|---|---|---|---|---|---|---|",
        ]
        for rule in sorted(set(a["per_rule"]) | set(b["per_rule"])):
            ma, mb = a["per_rule"].get(rule, {}), b["per_rule"].get(rule, {})
            lines.append(
                f"| {rule} | {ma.get('alerts', 0)} | {mb.get('alerts', 0)} | "
                f"{_fmt(ma.get('recall'))} | {_fmt(mb.get('recall'))} | "
                f"{_fmt(ma.get('precision'))} | {_fmt(mb.get('precision'))} |"
            )
    return "\n".join(lines) + "\n"


def _bars(
    title: str, series: list[tuple[str, list[float]]], labels: list[str], fmt: str = "{:.2f}"
) -> str:
    """A grouped horizontal bar chart as SVG: one group per label, one bar per series."""
    colours = ["#1f77b4", "#ff7f0e"]
    bar, gap, left, width = 14, 10, 260, 420
    maximum = max([v for _, vals in series for v in vals] + [1e-9])
    height = len(labels) * (bar * len(series) + gap) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="4" y="16" font-weight="bold">{html.escape(title)}</text>',
    ]
    y = 30
    for i, label in enumerate(labels):
        parts.append(f'<text x="4" y="{y + bar}" font-size="12">{html.escape(label)}</text>')
        for s, (_, vals) in enumerate(series):
            w = width * vals[i] / maximum
            parts.append(
                f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar - 2}" '
                f'fill="{colours[s % 2]}"/>'
            )
            parts.append(
                f'<text x="{left + w + 4:.1f}" y="{y + bar - 3}" font-size="11">'
                f"{fmt.format(vals[i])}</text>"
            )
            y += bar
        y += gap
    legend_y = height - 6
    for s, (name, _) in enumerate(series):
        parts.append(
            f'<rect x="{left + s * 200}" y="{legend_y - 10}" width="10" height="10" '
            f'fill="{colours[s % 2]}"/>'
            f'<text x="{left + s * 200 + 14}" y="{legend_y}" font-size="11">'
            f"{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _html(report: dict[str, Any]) -> str:
    packs = report["packs"]
    rules = sorted({r for p in packs for r in p["per_rule"]})
    typologies = sorted({t for p in packs for t, v in p["per_typology"].items() if "recall" in v})
    charts = [
        _bars(
            "Alerts per 1,000 customers by rule",
            [
                (
                    p["pack"],
                    [p["per_rule"].get(r, {}).get("alerts_per_1000_customers", 0.0) for r in rules],
                )
                for p in packs
            ],
            rules,
        ),
        _bars(
            "Recall by typology",
            [
                (p["pack"], [p["per_typology"].get(t, {}).get("recall", 0.0) for t in typologies])
                for p in packs
            ],
            typologies,
            "{:.3f}",
        ),
    ]
    body = []
    for p in packs:
        rows = "".join(
            f"<tr><td>{html.escape(r)}</td><td>{m['tp']}</td><td>{m['fp']}</td><td>{m['fn']}</td><td>{m['tn']}</td>"
            f"<td>{_fmt(m['precision'])}</td><td>{_fmt(m['recall'])}</td><td>{_fmt(m['f1'])}</td>"
            f"<td>{m['alerts_per_1000_customers']:.2f}</td></tr>"
            for r, m in p["per_rule"].items()
        )
        trow = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{v['customers']}</td>"
            + (
                f"<td>{v['detected']}</td><td>{v['recall']:.3f}</td>"
                if "recall" in v
                else f"<td>{v['false_alarms']} false alarms</td>"
                f"<td>{v['false_alarm_rate']:.3f}</td>"
            )
            + "</tr>"
            for t, v in p["per_typology"].items()
        )
        body.append(
            f"<h2>{html.escape(p['pack'])}</h2><p>{p['events']:,} events, "
            f"{p['customers']:,} customers, "
            f"{p['alerts']:,} alerts ({p['alerts_per_1000_customers']:.1f} per 1,000 customers)</p>"
            "<table><tr><th>rule</th><th>TP</th><th>FP</th><th>FN</th><th>TN</th><th>precision</th>"
            f"<th>recall</th><th>F1</th><th>alerts / 1,000</th></tr>{rows}</table>"
            f"<table><tr><th>typology</th><th>customers</th><th>detected</th><th>recall</th></tr>{trow}</table>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Backtest report</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child{text-align:left}"
        "</style></head><body>"
        f"<h1>Backtest of {html.escape(report['data'])}</h1>"
        f"{''.join(charts)}{''.join(body)}</body></html>"
    )
