"""The backtest report: report.json, report.md, report.html and, for a sweep, sweep.svg
(alert volume against recall and precision per variant). Charts are hand-written SVG."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import orjson

__all__ = ["sweep_chart", "write_report"]

logger = logging.getLogger(__name__)

_BLUE, _ORANGE, _GREEN, _GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#999"


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
        + " | recall | precision |",
        "|---" * (6 + len(typologies)) + "|",
    ]
    for v in sweep["variants"]:
        lines.append(
            f"| {v['variant']} | {v['alerts']} | {v['alerts_per_1000_customers']:.2f} | "
            f"{_fmt1(v['alerts_per_labelled_found'])} | "
            + " | ".join(_fmt(v["recall_by_typology"].get(t)) for t in typologies)
            + f" | {_fmt(v['recall'])} | {_fmt(v['precision'])} |"
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


def sweep_chart(variants: list[dict[str, Any]]) -> str:
    """One group per variant: a bar of alerts per 1,000 customers (left axis) and the
    points of overall recall and precision (right axis, 0 to 1), as an SVG document."""
    if not variants:
        return ""
    left, top, plot_h, step = 70, 40, 260, 90
    plot_w = step * len(variants)
    width, height = left + plot_w + 70, top + plot_h + 150
    volume = max(v["alerts_per_1000_customers"] for v in variants) or 1.0
    bottom = top + plot_h

    def y_of(fraction: float) -> float:
        return bottom - plot_h * fraction

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" role="img" aria-label="Sweep: alert volume, recall and '
        'precision per variant">',
        '<text x="4" y="18" font-weight="bold">Sweep: alerts per 1,000 customers (bars), '
        "recall and precision (points)</text>",
        f'<line x1="{left}" y1="{bottom}" x2="{left + plot_w}" y2="{bottom}" stroke="#000"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="{_BLUE}"/>',
        f'<line x1="{left + plot_w}" y1="{top}" x2="{left + plot_w}" y2="{bottom}" stroke="#000"/>',
    ]
    for tick in range(5):
        f = tick / 4
        y = y_of(f)
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{_BLUE}">{volume * f:.1f}</text>'
            f'<text x="{left + plot_w + 6}" y="{y + 4:.1f}" font-size="11">{f:.2f}</text>'
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="#eee"/>'
        )
    series: dict[str, list[tuple[float, float]]] = {"recall": [], "precision": []}
    for i, v in enumerate(variants):
        x = left + step * i + step / 2
        h = plot_h * v["alerts_per_1000_customers"] / volume
        parts.append(
            f'<rect x="{x - 18:.1f}" y="{bottom - h:.1f}" width="36" height="{h:.1f}" '
            f'fill="{_BLUE}" fill-opacity="0.35"><title>{html.escape(v["variant"])}: '
            f"{v['alerts_per_1000_customers']:.2f} alerts per 1,000 customers</title></rect>"
            f'<text x="{x:.1f}" y="{bottom + 14}" font-size="11" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {bottom + 14})">{html.escape(v["variant"])}</text>'
        )
        for name in series:
            if v[name] is not None:
                series[name].append((x, y_of(v[name])))
    for name, colour in (("recall", _ORANGE), ("precision", _GREEN)):
        points = series[name]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>' for x, y in points]
    legend_y = height - 12
    for n, (name, colour) in enumerate(
        (("alerts / 1,000 customers", _BLUE), ("recall", _ORANGE), ("precision", _GREEN))
    ):
        x = left + n * 190
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14}" y="{legend_y}" font-size="12">{name}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def _html(report: dict[str, Any], chart: str) -> str:
    e = html.escape
    body = [f"<h1>Backtest of {e(report['data'])}</h1>"]
    if "sweep" in report:
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
                + ["recall", "precision", "gains", "loses"],
                [
                    [
                        e(v["variant"]),
                        str(v["alerts"]),
                        f"{v['alerts_per_1000_customers']:.2f}",
                        _fmt1(v["alerts_per_labelled_found"]),
                        *(_fmt(v["recall_by_typology"].get(t)) for t in typologies),
                        _fmt(v["recall"]),
                        _fmt(v["precision"]),
                        e(_who(v["gained"])),
                        e(_who(v["lost"])),
                    ]
                    for v in sweep["variants"]
                ],
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
