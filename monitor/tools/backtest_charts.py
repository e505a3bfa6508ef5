"""The backtest report's charts as hand-written SVG: the sweep (alert volume against recall
and precision per variant) and the packs side by side (alerts by rule, recall by typology)."""

from __future__ import annotations

import html
import logging
from typing import Any

__all__ = ["bars", "pack_charts", "sweep_chart"]

logger = logging.getLogger(__name__)

_BLUE, _ORANGE, _GREEN = "#1f77b4", "#ff7f0e", "#2ca02c"


def sweep_chart(variants: list[dict[str, Any]]) -> str:
    """One group per variant: a bar of alerts per 1,000 customers (left axis) and the
    points of overall recall and precision (right axis, 0 to 1), as an SVG document."""
    if not variants:
        return ""
    names = ["pack" if v["sweep"] is None else v["variant"] for v in variants]
    longest = max(len(n) for n in names) * 6.5  # px of the longest axis label
    left, top, plot_h, step = max(70, int(longest * 0.82) - 30), 56, 260, 90
    plot_w = step * len(variants)
    width, height = left + plot_w + 70, top + plot_h + int(longest * 0.57) + 60
    volume = max(v["alerts_per_1000_customers"] for v in variants) or 1.0
    bottom = top + plot_h

    def y_of(fraction: float) -> float:
        return bottom - plot_h * fraction

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" role="img" aria-label="Sweep: alert volume, recall and '
        'precision per variant">',
        '<text x="4" y="18" font-weight="bold">Sweep: alerts per 1,000 customers (bars), '
        "recall and precision (points)</text>"
        '<text x="4" y="36" font-size="12">pack: the pack\'s own values; each other column '
        "changes one parameter</text>",
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
    # points of one sweep are joined by a line, each line starting at the pack's own value
    series: dict[tuple[str, str | None], list[tuple[float, float]]] = {}
    base = (0.0, 0.0)
    for i, v in enumerate(variants):
        x = left + step * i + step / 2
        h = plot_h * v["alerts_per_1000_customers"] / volume
        parts.append(
            f'<rect x="{x - 18:.1f}" y="{bottom - h:.1f}" width="36" height="{h:.1f}" '
            f'fill="{_BLUE}" fill-opacity="0.35"><title>{html.escape(v["variant"])}: '
            f"{v['alerts_per_1000_customers']:.2f} alerts per 1,000 customers</title></rect>"
            f'<text x="{x:.1f}" y="{bottom + 14}" font-size="11" text-anchor="end" '
            f'transform="rotate(-35 {x:.1f} {bottom + 14})">{html.escape(names[i])}</text>'
        )
        for name in ("recall", "precision"):
            if v[name] is None:
                continue
            point = (x, y_of(v[name]))
            if v["sweep"] is None:
                base = point
            else:
                line = series.setdefault((name, v["sweep"]), [])
                if not line and variants[0][name] is not None:
                    line.append(base)
                line.append(point)
            colour = _ORANGE if name == "recall" else _GREEN
            parts.append(f'<circle cx="{x:.1f}" cy="{point[1]:.1f}" r="4" fill="{colour}"/>')
    for (name, _), points in series.items():
        colour = _ORANGE if name == "recall" else _GREEN
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}"/>')
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


def bars(
    title: str, series: list[tuple[str, list[float]]], labels: list[str], fmt: str = "{:.2f}"
) -> str:
    """A grouped horizontal bar chart as SVG: one group per label, one bar per series."""
    colours = [_BLUE, _ORANGE]
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


def pack_charts(packs: list[dict[str, Any]]) -> str:
    """Alerts per 1,000 customers by rule and recall by typology, one bar per pack."""
    outcomes = [p["outcome"] for p in packs]
    rules = sorted({r for o in outcomes for r in o["per_rule"]})
    typologies = sorted({t for o in outcomes for t in o["per_typology"]})
    return bars(
        "Alerts per 1,000 customers by rule",
        [
            (
                p["pack"],
                [o["per_rule"].get(r, {}).get("alerts_per_1000_customers", 0.0) for r in rules],
            )
            for p, o in zip(packs, outcomes, strict=True)
        ],
        rules,
    ) + bars(
        "Recall by typology",
        [
            (p["pack"], [o["per_typology"].get(t, {}).get("recall", 0.0) for t in typologies])
            for p, o in zip(packs, outcomes, strict=True)
        ],
        typologies,
        "{:.3f}",
    )
