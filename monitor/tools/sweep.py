"""`monitor backtest --sweep RULE.param=v1,v2`: variants of one pack, each with one parameter
overridden, evaluated in one pass over the data (each input decoded once)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.core.errors import ConfigurationError
from monitor.core.pack import DEFAULT_PACK, Pack, pack_from_mapping
from monitor.tools.backtest import (
    PackResult,
    collector,
    count_customers,
    evaluate,
    outcome,
    pack_label,
    positives,
)
from monitor.tools.offline import RunStats, run_offline_many

__all__ = ["Sweep", "compare", "parse_sweep", "run_sweep", "variant_pack"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sweep:
    """One `--sweep` argument: a rule, a parameter path inside its config, the values."""

    rule: str
    path: tuple[str, ...]
    values: tuple[str, ...]

    @property
    def name(self) -> str:
        return ".".join((self.rule, *self.path))


def parse_sweep(spec: str) -> Sweep:
    """`RULE.param=v1,v2,...` (the parameter may be a path: `LV_CASH.threshold.local.amount`)."""
    target, sep, values = spec.partition("=")
    parts = target.strip().split(".")
    items = tuple(v.strip() for v in values.split(","))
    if not sep or len(parts) < 2 or not all(parts) or not all(items):
        raise ConfigurationError(f"--sweep {spec}: expected RULE.param=v1,v2,...")
    return Sweep(parts[0], tuple(parts[1:]), items)


def _current(pack: Pack, sweep: Sweep) -> Any:
    """The pack's own value of the swept parameter; `ConfigurationError` naming an unknown
    rule or parameter."""
    rules = pack.config.rules
    if sweep.rule not in type(rules).model_fields:
        known = ", ".join(type(rules).model_fields)
        raise ConfigurationError(f"--sweep {sweep.name}: unknown rule {sweep.rule} ({known})")
    node: Any = getattr(rules, sweep.rule)
    for depth, key in enumerate(sweep.path):
        fields = getattr(type(node), "model_fields", None)
        if fields is None or key not in fields:
            where = ".".join((sweep.rule, *sweep.path[: depth + 1]))
            known = ", ".join(fields or ())
            raise ConfigurationError(f"--sweep {sweep.name}: no field {where} ({known})")
        node = getattr(node, key)
    return node


def variant_pack(pack: Pack, sweep: Sweep, value: str) -> Pack:
    """`pack` with the swept parameter set to `value`, validated by the pack's models: a
    value out of range raises `ConfigurationError` naming the field."""
    _current(pack, sweep)
    raw = pack.config.model_dump()
    node = raw["rules"][sweep.rule]
    for key in sweep.path[:-1]:
        node = node[key]
    node[sweep.path[-1]] = value
    try:
        return pack_from_mapping(
            raw,
            base_dir=pack.base_dir or DEFAULT_PACK.parent,
            source=pack.source,
            registry=pack.registry,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"--sweep {sweep.name}={value}: {exc}") from None


def compare(found: set[str], baseline: set[str], typologies: dict[str, set[str]]) -> dict:
    """The labelled customers a variant finds that the baseline does not (`gained`) and
    those the baseline finds that the variant does not (`lost`), each with its typologies."""

    def entries(customers: set[str]) -> list[dict[str, Any]]:
        return [
            {"customer_id": c, "typologies": sorted(t for t, m in typologies.items() if c in m)}
            for c in sorted(customers)
        ]

    return {"gained": entries(found - baseline), "lost": entries(baseline - found)}


def run_sweep(
    data: Path,
    labels_path: Path,
    pack: Pack,
    sweeps: list[Sweep],
    labels: list[dict[str, Any]],
) -> dict[str, Any]:
    """The pack and one variant per swept value, run over one read of `data`; a table row
    per variant with the labelled customers it gains and loses against the pack's own
    values, and the pack's full report."""
    customers = count_customers(data)
    own = ", ".join(f"{s.name}={_current(pack, s)}" for s in sweeps)
    variants: list[tuple[str, Pack]] = [(f"pack ({own})", pack)]
    groups: list[str | None] = [None]
    for sweep in sweeps:
        for value in sweep.values:
            variants.append((f"{sweep.name}={value}", variant_pack(pack, sweep, value)))
            groups.append(sweep.name)
    results = [PackResult(pack_label(p), RunStats()) for _, p in variants]
    decoded, stats = run_offline_many(
        [p for _, p in variants], data, [collector(r) for r in results], datetime.now(UTC)
    )
    for result, run_stats in zip(results, stats, strict=True):
        result.stats = run_stats
    typologies = positives(labels)
    labelled = set().union(*typologies.values()) if typologies else set()

    def found(result: PackResult) -> set[str]:
        alerted = set().union(*result.alerts_by_rule.values())
        return labelled & alerted

    base_found = found(results[0])
    rows = []
    for (name, _), group, result in zip(variants, groups, results, strict=True):
        o = outcome(result.alerts_by_rule, result.alert_count_by_rule, labels, customers)
        rows.append(
            {
                "variant": name,
                "sweep": group,
                "alerts": o["alerts"],
                "alerts_per_1000_customers": o["alerts_per_1000_customers"],
                "recall": o["recall"],
                "precision": o["precision"],
                "alerts_per_labelled_found": o["alerts_per_labelled_found"],
                "cleared_alerted": o["cleared_alerted"],
                "recall_by_typology": {t: v["recall"] for t, v in o["per_typology"].items()},
                **compare(found(result), base_found, typologies),
            }
        )
    return {
        "data": str(data),
        "labels": str(labels_path),
        "generated_at": datetime.now(UTC).isoformat(),
        "sweep": {
            "decoded": decoded,
            "events": stats[0].events,
            "customers": customers,
            "typologies": sorted(typologies),
            "variants": rows,
        },
        "packs": [evaluate(results[0], labels, customers)],
    }
