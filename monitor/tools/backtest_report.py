"""The backtest report: report.json, report.md, report.html and, for a sweep, sweep.svg
(alert volume against recall and precision per variant). Charts are hand-written SVG."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import orjson

from monitor.tools.backtest_charts import pack_charts, sweep_chart

__all__ = ["write_report"]

logger = logging.getLogger(__name__)


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _fmt1(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f}"


def write_report(report: dict[str, Any], out: Path) -> None:
    """Write the report files into `out` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    (out / "report.md").write_text(_markdown(report), encoding="utf-8")
    chart = sweep_chart(report["sweep"]["variants"]) if "sweep" in report else ""
    if chart:
        (out / "sweep.svg").write_text(chart, encoding="utf-8")
    (out / "report.html").write_text(_html(report, chart), encoding="utf-8")


def _who(entries: list[dict[str, Any]]) -> str:
    return ", ".join(f"{e['customer_id']} ({'/'.join(e['typologies'])})" for e in entries) or "–"


def _sweep_md(sweep: dict[str, Any]) -> list[str]:
    typologies = sweep["typologies"]
    lines = [
        "## Sweep",
        "",
        f"{sweep['decoded']:,} input events decoded once, {sweep['customers']:,} customers, "
        f"{len(sweep['variants'])} variants.",
        "",
        "| variant | alerts | alerts / 1,000 customers | alerts / labelled found | "
        + " | ".join(f"recall {t}" for t in typologies)
        + " | recall | precision | cleared alerted |",
        "|---" * (7 + len(typologies)) + "|",
    ]
    for v in sweep["variants"]:
        lines.append(
            f"| {v['variant']} | {v['alerts']} | {v['alerts_per_1000_customers']:.2f} | "
            f"{_fmt1(v['alerts_per_labelled_found'])} | "
            + " | ".join(_fmt(v["recall_by_typology"].get(t)) for t in typologies)
            + f" | {_fmt(v['recall'])} | {_fmt(v['precision'])} | {v['cleared_alerted']} |"
        )
    lines += ["", "Labelled customers gained and lost against the pack's own values:", ""]
    for v in sweep["variants"][1:]:
        lines.append(f"- **{v['variant']}**: gains {_who(v['gained'])}; loses {_who(v['lost'])}")
    return [*lines, ""]


def _outcome_md(o: dict[str, Any]) -> list[str]:
    lines = [
        f"Labelled customers: {o['labelled']:,}, found {o['labelled_found']:,} "
        f"(recall {_fmt(o['recall'])}); customers alerted {o['customers_alerted']:,} "
        f"(precision {_fmt(o['precision'])}); alerts per labelled customer found "
        f"{_fmt1(o['alerts_per_labelled_found'])}; cleared customers alerted "
        f"{o['cleared_alerted']}/{o['cleared']}.",
        "",
        "| rule | alerts | alerts / 1,000 customers | customers alerted | labelled | precision |",
        "|---|---|---|---|---|---|",
    ]
    for rule, m in o["per_rule"].items():
        lines.append(
            f"| {rule} | {m['alerts']} | {m['alerts_per_1000_customers']:.2f} | "
            f"{m['customers_alerted']} | {m['labelled_alerted']} | {_fmt(m['precision'])} |"
        )
    lines += ["", "| typology | customers | found | recall |", "|---|---|---|---|"]
    for name, t in o["per_typology"].items():
        lines.append(f"| {name} | {t['customers']} | {t['found']} | {t['recall']:.3f} |")
    return [*lines, ""]


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"# Backtest of {report['data']}", ""]
    if "sweep" in report:
        lines += _sweep_md(report["sweep"])
    for p in report["packs"]:
        lines += [
            f"## {p['pack']}",
            "",
            f"{p['events']:,} events, {p['customers']:,} customers, {p['alerts']:,} alerts "
            f"({p['alerts_per_1000_customers']:.1f} per 1,000 customers), "
            f"{p['events_per_s']:,} events/s",
            "",
            *_outcome_md(p["outcome"]),
        ]
        if not p["per_rule"]:
            continue
        lines += [
            "With expected rules:",
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
        oa, ob = a["outcome"], b["outcome"]
        lines += [
            f"## Comparison: {a['pack']} vs {b['pack']}",
            "",
            "| rule | alerts A | alerts B | precision A | precision B |",
            "|---|---|---|---|---|",
        ]
        for rule in sorted(set(oa["per_rule"]) | set(ob["per_rule"])):
            ma, mb = oa["per_rule"].get(rule, {}), ob["per_rule"].get(rule, {})
            lines.append(
                f"| {rule} | {ma.get('alerts', 0)} | {mb.get('alerts', 0)} | "
                f"{_fmt(ma.get('precision'))} | {_fmt(mb.get('precision'))} |"
            )
        lines += ["", "| typology | recall A | recall B |", "|---|---|---|"]
        for t in sorted(set(oa["per_typology"]) | set(ob["per_typology"])):
            ra = oa["per_typology"].get(t, {}).get("recall")
            rb = ob["per_typology"].get(t, {}).get("recall")
            lines.append(f"| {t} | {_fmt(ra)} | {_fmt(rb)} |")
    return "\n".join(lines) + "\n"


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _html(report: dict[str, Any], chart: str) -> str:
    e = html.escape
    body = [f"<h1>Backtest of {e(report['data'])}</h1>"]
    if "sweep" not in report:
        body.append(pack_charts(report["packs"]))
    else:
        sweep = report["sweep"]
        typologies = sweep["typologies"]
        body += [
            f"<h2>Sweep</h2><p>{sweep['decoded']:,} input events decoded once, "
            f"{sweep['customers']:,} customers, {len(sweep['variants'])} variants "
            "(chart also in sweep.svg).</p>",
            chart,
            _table(
                ["variant", "alerts", "alerts / 1,000", "alerts / labelled found"]
                + [f"recall {t}" for t in typologies]
                + ["recall", "precision", "cleared alerted", "gains", "loses"],
                [
                    [
                        e(v["variant"]),
                        str(v["alerts"]),
                        f"{v['alerts_per_1000_customers']:.2f}",
                        _fmt1(v["alerts_per_labelled_found"]),
                        *(_fmt(v["recall_by_typology"].get(t)) for t in typologies),
                        _fmt(v["recall"]),
                        _fmt(v["precision"]),
                        str(v["cleared_alerted"]),
                        str(len(v["gained"])),
                        str(len(v["lost"])),
                    ]
                    for v in sweep["variants"]
                ],
            ),
            "<h3>Labelled customers gained and lost against the pack's own values</h3>",
            *(
                f"<details><summary>{e(v['variant'])}: gains {len(v['gained'])}, loses "
                f"{len(v['lost'])}</summary><p>gains: {e(_who(v['gained']))}</p>"
                f"<p>loses: {e(_who(v['lost']))}</p></details>"
                for v in sweep["variants"][1:]
            ),
        ]
    for p in report["packs"]:
        o = p["outcome"]
        body += [
            f"<h2>{e(p['pack'])}</h2><p>{p['events']:,} events, {p['customers']:,} customers, "
            f"{p['alerts']:,} alerts ({p['alerts_per_1000_customers']:.1f} per 1,000 customers); "
            f"labelled customers found {o['labelled_found']}/{o['labelled']} "
            f"(recall {_fmt(o['recall'])}), precision {_fmt(o['precision'])}, "
            f"alerts per labelled customer found {_fmt1(o['alerts_per_labelled_found'])}, "
            f"cleared customers alerted {o['cleared_alerted']}/{o['cleared']}</p>",
            _table(
                ["rule", "alerts", "alerts / 1,000", "customers alerted", "labelled", "precision"],
                [
                    [
                        e(r),
                        str(m["alerts"]),
                        f"{m['alerts_per_1000_customers']:.2f}",
                        str(m["customers_alerted"]),
                        str(m["labelled_alerted"]),
                        _fmt(m["precision"]),
                    ]
                    for r, m in o["per_rule"].items()
                ],
            ),
            _table(
                ["typology", "customers", "found", "recall"],
                [
                    [e(t), str(v["customers"]), str(v["found"]), f"{v['recall']:.3f}"]
                    for t, v in o["per_typology"].items()
                ],
            ),
        ]
        if p["per_rule"]:
            body.append(
                "<h3>With expected rules</h3>"
                + _table(
                    ["rule", "TP", "FP", "FN", "TN", "precision", "recall", "F1", "alerts / 1,000"],
                    [
                        [
                            e(r),
                            *(str(m[k]) for k in ("tp", "fp", "fn", "tn")),
                            *(_fmt(m[k]) for k in ("precision", "recall", "f1")),
                            f"{m['alerts_per_1000_customers']:.2f}",
                        ]
                        for r, m in p["per_rule"].items()
                    ],
                )
            )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Backtest report</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child{text-align:left}"
        "</style></head><body>"
        f"{''.join(body)}</body></html>"
    )
