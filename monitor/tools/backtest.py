"""`monitor backtest`: rule packs over labelled data. Labels name a customer and a typology
(case outcomes); with `expected_rules` too, the report adds a confusion matrix per rule.
Writes report.json, report.md and report.html (charts as inline SVG, no external assets)."""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from collections.abc import Callable
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
    "collector",
    "count_customers",
    "evaluate",
    "outcome",
    "pack_label",
    "positives",
    "read_labels",
    "run_cli",
]

logger = logging.getLogger(__name__)

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


def collector(result: PackResult) -> Callable[[Findings], None]:
    """A findings callback that fills `result`: alerted customers by rule and findings by
    rule, a grown finding's later versions (same `alert_id`) counted once."""

    def on(findings: Findings) -> None:
        for alert in findings.alerts:
            result.alerts_by_rule[alert.rule_id].add(alert.customer_id)
            if alert.alert_id not in result.alert_ids:
                result.alert_ids.add(alert.alert_id)
                result.alert_count_by_rule[alert.rule_id] += 1

    return on


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {"precision": precision, "recall": recall, "f1": f1}


def _cleared(label: dict[str, Any]) -> bool:
    """A label with `expected_rules: []` marks a customer who is not laundering (a near miss,
    a closed case): an alert on it is a false alarm."""
    return label.get("expected_rules") == []


def positives(labels: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Typology -> its labelled (laundering) customers; cleared labels are left out."""
    by_typology: dict[str, set[str]] = defaultdict(set)
    for label in labels:
        if not _cleared(label):
            by_typology[label["typology"]].add(label["customer_id"])
    return dict(by_typology)


def outcome(
    alerts_by_rule: dict[str, set[str]],
    alert_count_by_rule: dict[str, int],
    labels: list[dict[str, Any]],
    customers: int,
) -> dict[str, Any]:
    """The figures that need only case outcomes (a customer and a typology per label):
    per rule, precision = the share of the customers it alerted that are labelled; per
    typology, recall = the share of its customers any rule alerted; overall, alerts per
    1,000 customers and alerts per labelled customer found (the analysts' workload)."""
    typologies = positives(labels)
    labelled = set().union(*typologies.values()) if typologies else set()
    cleared = {lab["customer_id"] for lab in labels if _cleared(lab)} - labelled
    alerted = set().union(*alerts_by_rule.values()) if alerts_by_rule else set()
    alerts = sum(alert_count_by_rule.values())
    per_rule = {}
    for rule in sorted(alerts_by_rule):
        hit = alerts_by_rule[rule]
        per_rule[rule] = {
            "alerts": alert_count_by_rule.get(rule, 0),
            "alerts_per_1000_customers": 1000 * alert_count_by_rule.get(rule, 0) / customers,
            "customers_alerted": len(hit),
            "labelled_alerted": len(hit & labelled),
            "precision": _ratio(len(hit & labelled), len(hit)),
        }
    per_typology = {}
    for typology, members in sorted(typologies.items()):
        found = members & alerted
        per_typology[typology] = {
            "customers": len(members),
            "found": len(found),
            "recall": len(found) / len(members),
            "missed": sorted(members - alerted),
        }
    found = labelled & alerted
    return {
        "alerts": alerts,
        "alerts_per_1000_customers": 1000 * alerts / customers,
        "customers_alerted": len(alerted),
        "labelled": len(labelled),
        "labelled_found": len(found),
        "recall": _ratio(len(found), len(labelled)),
        "precision": _ratio(len(found), len(alerted)),
        "alerts_per_labelled_found": _ratio(alerts, len(found)),
        "cleared": len(cleared),
        "cleared_alerted": len(cleared & alerted),
        "per_rule": per_rule,
        "per_typology": per_typology,
    }


def _expected(result: PackResult, labels: list[dict[str, Any]], customers: int) -> dict[str, Any]:
    """With `expected_rules`: customer-level confusion per rule (labelled = a label expects
    that rule) and recall per typology (detected = an alert of any rule it expects)."""
    expected: dict[str, set[str]] = defaultdict(set)
    by_typology: dict[str, set[str]] = defaultdict(set)
    for label in labels:
        by_typology[label["typology"]].add(label["customer_id"])
        for rule in label["expected_rules"]:
            expected[rule].add(label["customer_id"])
    per_rule = {}
    for rule in sorted(set(expected) | set(result.alerts_by_rule)):
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
    return {"per_rule": per_rule, "per_typology": per_typology}


def evaluate(result: PackResult, labels: list[dict[str, Any]], customers: int) -> dict[str, Any]:
    """A pack's report: the outcome figures (`outcome`), and with `expected_rules` in the
    labels the confusion matrix per rule and recall per typology by expected rule."""
    total = sum(result.alert_count_by_rule.values())
    report: dict[str, Any] = {
        "pack": result.name,
        "customers": customers,
        "events": result.stats.events,
        "events_per_s": round(result.stats.events_per_s),
        "alerts": total,
        "alerts_per_1000_customers": 1000 * total / customers,
        "outcome": outcome(result.alerts_by_rule, result.alert_count_by_rule, labels, customers),
        "per_rule": {},
        "per_typology": {},
    }
    if labels and "expected_rules" in labels[0]:
        report.update(_expected(result, labels, customers))
    return report


def read_labels(path: Path) -> list[dict[str, Any]]:
    """The labels file: one JSON object a line with `customer_id` and `typology` (non-empty
    strings) and, on every line or on none, `expected_rules` (a list of rule ids). A bad
    line raises `ConfigurationError` naming the file and line."""
    labels: list[dict[str, Any]] = []
    first_has_rules: bool | None = None
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
                and label["typology"]
            ):
                raise ConfigurationError(
                    f"{path}:{number}: expected an object with customer_id and typology "
                    "(non-empty strings)"
                )
            rules = label.get("expected_rules")
            has_rules = "expected_rules" in label
            if has_rules and not (
                isinstance(rules, list) and all(isinstance(r, str) for r in rules)
            ):
                raise ConfigurationError(
                    f"{path}:{number}: expected_rules must be a list of rule ids"
                )
            if first_has_rules is None:
                first_has_rules = has_rules
            elif has_rules != first_has_rules:
                raise ConfigurationError(
                    f"{path}:{number}: expected_rules on every line or on none "
                    f"(the first label {'has' if first_has_rules else 'has none'})"
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


def pack_label(pack: Pack) -> str:
    """A pack's name in a report: its `pack` name and file."""
    return pack.name if pack.source is None else f"{pack.name} ({pack.source.name})"


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
        result = PackResult(pack_label(pack), RunStats())
        result.stats = run_offline(pack, data, collector(result), datetime.now(UTC))
        reports.append(evaluate(result, labels, customers))
    return {
        "data": str(data),
        "labels": str(labels_path),
        "generated_at": datetime.now(UTC).isoformat(),
        "packs": reports,
    }


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def run_cli(args: argparse.Namespace) -> int:
    """`monitor backtest` (the CLI's arguments): run, write the report, print a summary."""
    from monitor.core.pack import load_pack
    from monitor.tools.backtest_report import write_report

    labels = read_labels(args.labels)  # the inputs first: they fail faster than a pack loads
    count_customers(args.data)
    from monitor.tools.sweep import parse_sweep, run_sweep

    sweeps = [parse_sweep(spec) for spec in getattr(args, "sweep", None) or []]
    if sweeps and args.compare:
        raise ConfigurationError("--sweep and --compare: give one or the other")
    pack = load_pack(args.rules)
    if sweeps:
        report = run_sweep(args.data, args.labels, pack, sweeps, labels)
        write_report(report, args.report)
        print(
            f"decoded {report['sweep']['decoded']:,} events once for "
            f"{len(report['sweep']['variants'])} variants"
        )
        for v in report["sweep"]["variants"]:
            print(
                f"  {v['variant']:<40} {v['alerts']:>7,} alerts "
                f"({v['alerts_per_1000_customers']:.1f} per 1,000 customers), "
                f"recall {_fmt(v['recall'])}, precision {_fmt(v['precision'])}"
            )
    else:
        packs = [pack] + ([load_pack(args.compare)] if args.compare else [])
        report = backtest(args.data, args.labels, packs, labels)
        write_report(report, args.report)
        for p in report["packs"]:
            o = p["outcome"]
            print(
                f"{p['pack']}: {p['events']:,} events, {p['alerts']:,} alerts "
                f"({p['alerts_per_1000_customers']:.1f} per 1,000 customers), "
                f"recall {_fmt(o['recall'])}, precision {_fmt(o['precision'])}"
            )
            for name, t in o["per_typology"].items():
                print(f"  {name:<32} recall {t['recall']:.3f} ({t['found']}/{t['customers']})")
            if o["cleared"]:
                print(
                    f"  {'cleared (near misses)':<32} alerted {o['cleared_alerted']}/{o['cleared']}"
                )
    print(f"report: {args.report}/report.html, report.md, report.json")
    return 0
