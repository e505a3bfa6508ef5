"""Simulated traffic (every typology and its look-alike noise) gives the same alerts in event
order and in the order a live feed delivers it, each topic lagging the others by up to 20
hours, under a pack whose grace covers the lag (`bench.arrival_order`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.arrival_order import compare, pack_with_grace

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("seed", [1, 7])  # 7: a FUNNEL_OUT differed when decided at once
def test_arrival_order_gives_the_event_order_alerts(seed: int, tmp_path: Path) -> None:
    copy = ROOT / "config" / f".test-arrival-{seed}.yaml"
    try:
        pack = pack_with_grace(ROOT / "config" / "cn-pboc.yaml", 24, copy)
    finally:
        copy.unlink(missing_ok=True)
    in_order, arrived, differences = compare(pack, seed, customers=300, days=30, max_lag_hours=20)
    assert in_order > 20
    assert differences == [] and arrived == in_order
